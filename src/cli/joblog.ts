import { closeSync, openSync, readFileSync, writeSync } from 'node:fs'

/** GNU parallel's joblog header. */
export const JOBLOG_HEADER = 'Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n'

/** One finished job, as the joblog records it. */
export interface JoblogEntry {
  readonly seq: number
  /** `Date.now()` when the (last) attempt started. */
  readonly startedAt: number
  /** Milliseconds the attempt ran. */
  readonly runtime: number
  /** Bytes the command wrote to standard output. */
  readonly received: number
  /** The exit code; -1 for a command stopped by `--timeout`, as GNU parallel writes it. */
  readonly exitval: number
  /** The number of the signal that killed the command, or 0. */
  readonly signal: number
  /** The command line, as `--dry-run` prints it. */
  readonly command: string
}

/** A line of the joblog: tab-separated, times in seconds, the command's newlines written as NUL, as GNU parallel does. */
export function joblogLine(entry: JoblogEntry): string {
  const starttime = (entry.startedAt / 1000).toFixed(3)
  const runtime = (entry.runtime / 1000).toFixed(3).padStart(10)
  const command = entry.command.replaceAll('\n', '\0')
  return `${entry.seq}\t:\t${starttime}\t${runtime}\t0\t${entry.received}\t${entry.exitval}\t${entry.signal}\t${command}\n`
}

/** Appends entries to a joblog as jobs finish, so that a run cut short leaves what it did. */
export interface JoblogWriter {
  write(entry: JoblogEntry): void
  close(): void
}

/**
 * Opens the joblog: appended to with `append` (`--joblog +FILE`) or when `resumed` found a header
 * in it, created with GNU parallel's header otherwise.
 *
 * @throws the file system's error when the file cannot be opened.
 */
export function openJoblog(path: string, append: boolean): JoblogWriter {
  const fd = openSync(path, append ? 'a' : 'w')
  if (!append) writeSync(fd, JOBLOG_HEADER)
  return {
    write(entry) {
      writeSync(fd, joblogLine(entry))
    },
    close() {
      closeSync(fd)
    },
  }
}

/** What `--resume` learns from an existing joblog. */
export interface LoggedJobs {
  /** The job numbers to skip. */
  readonly skip: ReadonlySet<number>
  /** Whether the file has a first line (its header): then it is appended to. */
  readonly hasHeader: boolean
}

/**
 * Reads a joblog for `--resume` (every job it lists is skipped) or `--resume-failed` (`succeeded`:
 * only the jobs with exit value and signal 0). A missing file is an empty log, as in GNU parallel.
 *
 * @throws Error when the file cannot be read or a line is not a joblog line.
 */
export function readJoblog(path: string, skip: 'logged' | 'succeeded'): LoggedJobs {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { skip: new Set(), hasHeader: false }
    throw error
  }
  const [header = '', ...lines] = text.split('\n')
  if (lines.at(-1) === '') lines.pop()
  const done = new Set<number>()
  for (const line of lines) {
    const fields = /^(\d+)(?:\t[^\t]*){5}\t(-?\d+)\t(\d+)\t/.exec(line)
    if (fields === null) throw new Error(`${path} is not a joblog: ${JSON.stringify(line.slice(0, 80))}`)
    if (skip === 'logged' || (fields[2] === '0' && fields[3] === '0')) done.add(Number(fields[1]))
  }
  return { skip: done, hasHeader: header !== '' }
}
