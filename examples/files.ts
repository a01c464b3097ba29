/**
 * The seed's "File Processing" recipe: for every CSV file of a folder, in parallel, keep the rows
 * whose Status is `Active`, write them to `NAME_processed.csv` and report how many records each file
 * gave, with a Failed row (not a crash) for a file that cannot be processed.
 *
 * Run: `node --import tsx examples/files.ts [--dir DIR] [--files N]`. It first fills DIR with
 * sample files, one of them broken on purpose. Without `--dir` it works in a new temporary folder
 * and removes it at the end (Ctrl+C included).
 */
import { mkdir, mkdtemp, opendir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { collect, parallelMapSettled, pipe } from '../src/index.js'
import { integerArg, parseExampleArgs, runExample } from './args.js'
import { parseCsv, toCsv } from './csv.js'
import { formatTable } from './table.js'

const USAGE = `Usage: node --import tsx examples/files.ts [--dir DIR] [--files N]
  --dir DIR   fill DIR with sample CSV files and process them there (kept afterwards);
              default: a temporary folder, removed at the end
  --files N   how many sample files besides the broken one (default 12)`

export interface FilesOptions {
  /** The folder to fill and process, kept afterwards. Default: a temporary folder, removed at the end. */
  readonly dir?: string
  /** How many sample files (besides the broken one). Default `12`. */
  readonly files?: number
  /** Stops the run (Ctrl+C): the files in flight are aborted and a temporary folder is still removed. */
  readonly signal?: AbortSignal
  readonly log?: (line: string) => void
}

/** One row of the report, the seed's `@{ File; Status; RecordsProcessed; OutputFile }`. */
export interface FileReport {
  readonly File: string
  readonly Status: 'Success' | 'Failed'
  readonly RecordsProcessed: number | ''
  readonly OutputFile: string
  readonly Error: string
}

const STATUSES = ['Active', 'Inactive', 'Pending'] as const

/** Writes `count` sample files of 50–500 people each, plus one without a Status column. */
async function createSampleFiles(dir: string, count: number): Promise<void> {
  await mkdir(dir, { recursive: true })
  let id = 1000
  for (let file = 1; file <= count; file++) {
    const rows = Array.from({ length: 50 + ((file * 137) % 451) }, (_, i) => ({
      Name: `Person ${++id}`,
      ID: id,
      // Knuth's multiplicative hash: a fixed but well-mixed status per row.
      Status: STATUSES[(Math.imul((i + 1) * (file + 3), 2654435761) >>> 0) % STATUSES.length],
    }))
    await writeFile(join(dir, `data-${String(file).padStart(2, '0')}.csv`), toCsv(rows))
  }
  await writeFile(join(dir, 'data-broken.csv'), toCsv([{ Name: 'Nobody', ID: 1 }]))
}

/** `Get-ChildItem *.csv`, streamed: the folder is read as the pipeline asks for more. */
async function* csvFiles(dir: string): AsyncGenerator<string> {
  for await (const entry of await opendir(dir)) {
    if (entry.isFile() && entry.name.endsWith('.csv') && !entry.name.endsWith('_processed.csv')) {
      yield join(dir, entry.name)
    }
  }
}

/** `Import-Csv | Where-Object Status -eq Active | Select-Object Name, ID, ProcessedDate | Export-Csv`. */
async function processFile(path: string, signal: AbortSignal): Promise<{ records: number; output: string }> {
  const rows = parseCsv(await readFile(path, { encoding: 'utf8', signal }))
  if (rows.length > 0 && !('Status' in rows[0]!)) throw new Error('no Status column')
  const processedDate = new Date().toISOString()
  const active = rows
    .filter((row) => row['Status'] === 'Active')
    .map((row) => ({ Name: row['Name'], ID: row['ID'], ProcessedDate: processedDate }))
  const output = path.replace(/\.csv$/, '_processed.csv')
  await writeFile(output, toCsv(active, ['Name', 'ID', 'ProcessedDate']), { signal })
  return { records: active.length, output }
}

/** Fills the folder, processes it 8 files at a time (`-ThrottleLimit 8`) and prints the report. */
export async function main(options: FilesOptions = {}): Promise<FileReport[]> {
  if (options.dir !== undefined) return processFolder(resolve(options.dir), options)
  const dir = await mkdtemp(join(tmpdir(), 'foreach-parallel-files-'))
  try {
    return await processFolder(dir, options)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

async function processFolder(dir: string, options: FilesOptions): Promise<FileReport[]> {
  const log = options.log ?? console.log
  await createSampleFiles(dir, options.files ?? 12)

  const records = await pipe(
    csvFiles(dir),
    parallelMapSettled((path, { signal }) => processFile(path, signal), { concurrency: 8, signal: options.signal }),
    collect,
  )
  const report: FileReport[] = records
    .map((record) => ({
      File: basename(record.item),
      Status: record.status === 'fulfilled' ? ('Success' as const) : ('Failed' as const),
      RecordsProcessed: record.status === 'fulfilled' ? record.value.records : ('' as const),
      OutputFile: record.status === 'fulfilled' ? basename(record.value.output) : '',
      Error: record.status === 'rejected' ? String((record.reason as Error).message ?? record.reason) : '',
    }))
    .sort((a, b) => a.File.localeCompare(b.File))

  log(formatTable(report))
  const total = report.reduce((sum, row) => sum + (row.RecordsProcessed || 0), 0)
  const failed = report.filter((row) => row.Status === 'Failed').length
  const where = options.dir === undefined ? `in ${dir}, a temporary folder removed now (use --dir to keep them)` : `in ${dir}`
  log(`\n${total} active records from ${report.length - failed} files (${failed} failed), written next to them ${where}`)
  return report
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseExampleArgs(USAGE, { dir: { type: 'string' }, files: { type: 'string' } })
  const files = integerArg(USAGE, 'files', values.files, 1)
  await runExample('files', (signal) => main({ dir: values.dir, files, signal }))
}
