import { closeSync, openSync, writeSync } from 'node:fs'
import type { ResultsFormat } from './args.js'

/** One item's line in the `--results` file. */
export interface ResultRecord {
  /** The input line; with several input sources, their values joined by spaces. */
  readonly item: string
  /** Its position in the input, from 0 (`{#}` is one more). */
  readonly index: number
  /** The command line that ran (its last attempt), as `--dry-run` prints it. */
  readonly command: string
  readonly status: 'succeeded' | 'failed'
  /** The command's exit code; `null` when it was killed by a signal or could not start. */
  readonly exitCode: number | null
  /** The signal that killed the command, if any. */
  readonly signal: string | null
  /** How many times the command was run (more than 1 only with `--retries`). */
  readonly attempts: number
  /** When the first attempt started, as an ISO 8601 date. */
  readonly startedAt: string
  /** Milliseconds from the first attempt's start to the last attempt's end. */
  readonly duration: number
  /** Why the item failed (`exit code 3`, `timed out after 2 s`…); `null` when it succeeded. */
  readonly error: string | null
}

/** Writes records to a results file as they come, so that a stopped run leaves what it knew. */
export interface ResultsWriter {
  write(record: ResultRecord): void
  /** Ends the file (a JSON array is closed) and closes it. */
  close(): void
}

/** The CSV columns, in order. */
const CSV_COLUMNS = ['item', 'status', 'exitCode', 'duration', 'error'] as const

/**
 * Creates (or truncates) `path` and returns a writer for it. `json`: an array of records;
 * `ndjson`: one JSON record per line; `csv`: a header and one row per record (RFC 4180 quoting).
 *
 * @throws the file system's error when the file cannot be created.
 */
export function openResults(path: string, format: ResultsFormat): ResultsWriter {
  const fd = openSync(path, 'w')
  let count = 0
  const put = (text: string): void => {
    writeSync(fd, text)
  }
  if (format === 'json') put('[')
  if (format === 'csv') put(`${CSV_COLUMNS.join(',')}\n`)
  return {
    write(record) {
      if (format === 'json') put(`${count === 0 ? '\n' : ',\n'}${JSON.stringify(record)}`)
      else if (format === 'ndjson') put(`${JSON.stringify(record)}\n`)
      else put(`${CSV_COLUMNS.map((column) => csvField(record[column])).join(',')}\n`)
      count++
    },
    close() {
      if (format === 'json') put(count === 0 ? ']\n' : '\n]\n')
      closeSync(fd)
    },
  }
}

/** A CSV field: quoted, with quotes doubled, when it holds a comma, a quote, a line break or edge spaces. */
function csvField(value: string | number | null): string {
  if (value === null) return ''
  const text = String(value)
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}
