/**
 * Crawl the URLs listed in a file (one per line, `#` starts a comment): `throttle` holds the crawl to
 * a polite rate, `parallelMapSettled` runs five requests at a time, each with its own timeout, and
 * `timeout` is the deadline of the whole crawl (`-TimeoutSeconds`), which aborts the requests in
 * flight. The file is read as a stream: lines are pulled only as fast as the crawl takes them.
 *
 * Run: `node --import tsx examples/urls.ts [FILE]`. Without FILE it starts the local fleet of
 * examples/server.ts, writes its URLs to a temporary file, crawls that and removes it.
 */
import { createReadStream } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { pathToFileURL } from 'node:url'
import { parallelMapSettled, pipe, throttle, timeout, TimeoutError, type Settled } from '../src/index.js'
import { parseExampleArgs, runExample } from './args.js'
import { startServer } from './server.js'

const USAGE = `Usage: node --import tsx examples/urls.ts [FILE]
  FILE   the URLs to crawl, one per line ('#' starts a comment);
         default: a local fleet of 20 servers, listed in a temporary file`

export interface CrawlOptions {
  /** The file of URLs. Default: a temporary file listing a local fleet of 20 servers. */
  readonly file?: string
  /** Milliseconds for the whole crawl. Default `10_000`. */
  readonly deadline?: number
  /** Stops the crawl (Ctrl+C): the requests in flight are aborted. */
  readonly signal?: AbortSignal
  readonly log?: (line: string) => void
}

export interface Page {
  readonly status: number
  readonly bytes: number
}

/** The non-empty, non-comment lines of a file, read lazily. */
async function* urlsIn(file: string): AsyncGenerator<string> {
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity })
  for await (const line of lines) {
    const url = line.trim()
    if (url !== '' && !url.startsWith('#')) yield url
  }
}

async function fetchPage(url: string, signal: AbortSignal): Promise<Page> {
  const response = await fetch(url, { signal })
  const body = await response.arrayBuffer()
  return { status: response.status, bytes: body.byteLength }
}

function line(record: Settled<string, Page>): string {
  const ms = `${Math.round(record.duration)} ms`.padStart(8)
  if (record.status === 'fulfilled') return `${String(record.value.status).padEnd(12)} ${ms}  ${record.item} (${record.value.bytes} bytes)`
  const reason = record.reason as Error
  return `${reason.name.padEnd(12)} ${ms}  ${record.item} (${reason.message})`
}

/**
 * Crawls the file and returns one record per URL crawled before the deadline: at most 10 requests
 * started per second, 5 running at once, each with 1.5 s, and `deadline` ms for the whole crawl.
 */
export async function crawl(
  file: string,
  deadline: number,
  log: (line: string) => void,
  signal?: AbortSignal,
): Promise<Settled<string, Page>[]> {
  const records: Settled<string, Page>[] = []
  const crawling = pipe(
    urlsIn(file),
    throttle({ limit: 10, interval: 1_000 }),
    parallelMapSettled((url: string, context) => fetchPage(url, context.signal), {
      concurrency: 5,
      ordered: false,
      timeout: 1_500,
      signal,
    }),
    timeout(deadline),
  )
  try {
    for await (const record of crawling) {
      records.push(record)
      log(line(record))
    }
  } catch (error) {
    if (!(error instanceof TimeoutError)) throw error
    log(`Deadline of ${deadline} ms reached: the requests in flight were aborted, the rest of the file was not read.`)
  }
  return records
}

/** Crawls `options.file`, or a local fleet when no file is given. */
export async function main(options: CrawlOptions = {}): Promise<Settled<string, Page>[]> {
  const log = options.log ?? console.log
  const deadline = options.deadline ?? 10_000
  if (options.file !== undefined) return crawl(options.file, deadline, log, options.signal)
  const fleet = await startServer({ count: 20 })
  const dir = await mkdtemp(join(tmpdir(), 'foreach-parallel-urls-'))
  try {
    const file = join(dir, 'urls.txt')
    await writeFile(file, ['# the local fleet', ...fleet.hosts.map((host) => host.url), ''].join('\n'))
    log(`Crawling the ${fleet.hosts.length} URLs of ${file}`)
    return await crawl(file, deadline, log, options.signal)
  } finally {
    await rm(dir, { recursive: true, force: true })
    await fleet.close()
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { positionals } = parseExampleArgs(USAGE, {}, 1)
  await runExample('urls', (signal) => main({ file: positionals[0], signal }))
}
