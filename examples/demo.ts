/**
 * The seed's two network recipes against a local fleet of 100 simulated servers:
 *
 * 1. "Performance Comparison Example": GET every server one at a time, then 10 at a time, each
 *    request with its own timeout, and print both times and the speed-up.
 * 2. "Server Health Check": check every server with `parallelMapSettled` and write one CSV row per
 *    server (`Export-Csv "server-health-….csv"`).
 * 3. The seeds' advice, "test throttle limits to find optimal performance", done by the library:
 *    `concurrency: 'auto'` against a service that serves 8 requests at once (past that, requests
 *    queue and latency climbs), next to a few fixed limits.
 *
 * Run: `npm run demo` (or `node --import tsx examples/demo.ts --servers 30 --time-scale 0.1 --out DIR`).
 * Ctrl+C aborts the requests in flight and shuts the fleet down.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import {
  adaptiveConcurrency,
  collect,
  drain,
  parallelMap,
  parallelMapSettled,
  pipe,
  TimeoutError,
  type Limiter,
  type Progress,
  type Settled,
} from '../src/index.js'
import { integerArg, parseExampleArgs, positiveArg, runExample } from './args.js'
import { toCsv } from './csv.js'
import { progressView } from './progress.js'
import { startServer, type Host } from './server.js'
import { formatTable } from './table.js'

const USAGE = `Usage: node --import tsx examples/demo.ts [--servers N] [--time-scale X] [--out DIR]
  --servers N       how many simulated servers (default 100)
  --time-scale X    multiplies every latency and timeout: 0.1 runs ten times faster (default 1)
  --out DIR         where the health report goes (default ./demo-output)`

export interface DemoOptions {
  /** How many simulated servers. Default `100`. */
  readonly servers?: number
  /** Multiplies every latency and timeout (`0.1` runs ten times faster). Default `1`. */
  readonly timeScale?: number
  /** Where the health report goes, created first. Default `./demo-output`. */
  readonly outDir?: string
  /** Stops the run (Ctrl+C): the requests in flight are aborted and the fleet is shut down. */
  readonly signal?: AbortSignal
  /** Where the text goes. Default `console.log`. */
  readonly log?: (line: string) => void
}

export interface DemoResult {
  readonly sequentialMs: number
  readonly parallelMs: number
  readonly reportPath: string
  readonly statuses: Readonly<Record<HealthStatus, number>>
  /** Step 3: the limit `'auto'` found, and the load each limit tried carried. */
  readonly limits: { readonly found: number; readonly runs: readonly LimitRun[] }
}

/** One limit's time against the service of step 3. */
export interface LimitRun {
  /** The limit its requests ran under (the median, for a limiter). */
  readonly limit: number
  readonly perSecond: number
  readonly medianMs: number
}

/** Requests the service of step 3 serves at once: past that they queue, and latency climbs. */
const CAPACITY = 8
/** How long the service of step 3 takes per request, in ms, when nothing queues. */
const SERVICE_MS = 25

/** A non-2xx answer: the server is up but the request failed. */
class HttpError extends Error {
  override readonly name = 'HttpError'
}

type HealthStatus = 'Success' | 'Failed' | 'TimedOut' | 'Unreachable'

/** The seed's `Invoke-RestMethod`: one server's OS version, cancelled when `signal` aborts. */
async function getOsVersion(host: Host, signal: AbortSignal): Promise<string> {
  const response = await fetch(host.url, { signal })
  if (!response.ok) throw new HttpError(`HTTP ${response.status} ${response.statusText}`)
  const body = (await response.json()) as { version: string }
  return body.version
}

/**
 * Fetches every server `concurrency` at a time, ignoring failures like the seed's
 * `-ErrorAction SilentlyContinue`: `onError: 'continue'` processes every item and throws the
 * failures at the end as one AggregateError, which is counted and dropped here. `ordered: false`
 * hands results out as they complete, as ForEach-Object -Parallel does: in input order, one slow
 * server would hold back the results behind it until the read-ahead bound stops the pulling.
 */
async function fetchAll(hosts: readonly Host[], concurrency: number, timeout: number, title: string, signal?: AbortSignal) {
  const started = performance.now()
  let failed = 0
  try {
    await withProgress(title, hosts.length, (onProgress) =>
      pipe(
        hosts,
        parallelMap((host, { signal }) => getOsVersion(host, signal), {
          concurrency,
          ordered: false,
          timeout,
          onError: 'continue',
          onProgress,
          total: hosts.length,
          signal,
        }),
        drain,
      ),
    )
  } catch (error) {
    if (!(error instanceof AggregateError)) throw error
    failed = error.errors.length
  }
  return { ms: performance.now() - started, failed }
}

/** Runs `work` with a progress view on stderr, and ends the view however `work` ends. */
async function withProgress<T>(title: string, total: number, work: (onProgress: (p: Progress) => void) => Promise<T>) {
  const view = progressView(title, total)
  try {
    return await work(view.update)
  } finally {
    view.stop()
  }
}

/** The middle value of `values`, sorted in place; 0 for none. */
function median(values: number[]): number {
  values.sort((a, b) => a - b)
  return values[values.length >> 1] ?? 0
}

/**
 * Requests `hosts` round and round for `ms`, `concurrency` at a time, and measures the answers per
 * second, their median latency, and the median limit they ran under. The source stops at the
 * deadline; the calls in flight finish.
 */
async function loadFor(hosts: readonly Host[], concurrency: number | Limiter, ms: number, signal?: AbortSignal): Promise<LimitRun> {
  const latencies: number[] = []
  const limits: number[] = []
  const started = performance.now()
  function* untilDeadline(): Generator<Host> {
    for (let i = 0; performance.now() - started < ms; i++) yield hosts[i % hosts.length]!
  }
  await pipe(
    untilDeadline(),
    parallelMap(
      async (host, { signal }) => {
        const sent = performance.now()
        await getOsVersion(host, signal)
        latencies.push(performance.now() - sent)
        limits.push(typeof concurrency === 'number' ? concurrency : concurrency.limit)
      },
      { concurrency, ordered: false, signal },
    ),
    drain,
  )
  const elapsed = performance.now() - started
  return { limit: median(limits), perSecond: latencies.length / (elapsed / 1000), medianMs: median(latencies) }
}

/**
 * Step 3: fixed limits against a service of {@link CAPACITY} slots, then `'auto'` (an adaptive
 * limiter, so that the limit it finds can be read): a first pass to learn, a second to measure.
 */
async function findLimit(scale: number, log: (line: string) => void, signal?: AbortSignal): Promise<DemoResult['limits']> {
  const service = await startServer({ count: 10, slow: 0, errors: 0, hanging: 0, latency: SERVICE_MS, capacity: CAPACITY })
  try {
    const ms = 2000 * scale
    const runs: LimitRun[] = []
    const show = (name: string, run: LimitRun): void => {
      runs.push(run)
      log(`   ${name.padEnd(28)} ${run.perSecond.toFixed(0).padStart(5)} requests/s   median ${run.medianMs.toFixed(0).padStart(3)} ms`)
    }
    for (const limit of [2, 8, 32]) show(`concurrency: ${limit}`, await loadFor(service.hosts, limit, ms, signal))
    const auto = adaptiveConcurrency()
    await loadFor(service.hosts, auto, ms, signal)
    const found = await loadFor(service.hosts, auto, ms, signal)
    show(`concurrency: 'auto' (~${found.limit})`, found)
    return { found: found.limit, runs }
  } finally {
    await service.close()
  }
}

function healthStatus(record: Settled<Host, string>): HealthStatus {
  if (record.status === 'fulfilled') return 'Success'
  if (record.reason instanceof TimeoutError) return 'TimedOut'
  // fetch rejects with a TypeError ("fetch failed") when it cannot connect at all.
  return record.reason instanceof HttpError ? 'Failed' : 'Unreachable'
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`
}

/** `yyyyMMdd-HHmmss`, the seed's `Get-Date -Format 'yyyyMMdd-HHmm'` plus seconds. */
function stamp(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)
}

/** Runs both recipes against a fresh local fleet and shuts it down, even on failure. */
export async function main(options: DemoOptions = {}): Promise<DemoResult> {
  const log = options.log ?? console.log
  const { signal } = options
  const scale = options.timeScale ?? 1
  const timeout = 1500 * scale
  // Before any work, so that a folder that cannot be made fails at once, not after step 1.
  const outDir = resolve(options.outDir ?? 'demo-output')
  await mkdir(outDir, { recursive: true })
  const fleet = await startServer({ count: options.servers ?? 100, timeScale: scale })
  try {
    const { hosts } = fleet
    const count = (behaviour: Host['behaviour']) => hosts.filter((host) => host.behaviour === behaviour).length
    log(`A fleet of ${hosts.length} simulated servers at ${fleet.origin}:`)
    log(
      `${count('fast')} answer in 20-300 ms, ${count('slow')} take 1-2 s, ${count('error')} answer 500, ` +
        `${count('hang')} never answer.`,
    )

    log(`\n1. Performance comparison: GET every server, ${timeout} ms timeout per request`)
    const sequential = await fetchAll(hosts, 1, timeout, 'sequential', signal)
    log(`   Sequential (concurrency 1):  ${seconds(sequential.ms).padStart(8)}  (${sequential.failed} failed)`)
    const parallel = await fetchAll(hosts, 10, timeout, 'parallel', signal)
    log(`   Parallel (concurrency 10):   ${seconds(parallel.ms).padStart(8)}  (${parallel.failed} failed)`)
    log(`   Speed-up: ${(sequential.ms / parallel.ms).toFixed(2)}x`)

    log(`\n2. Server health check: parallelMapSettled, concurrency 20, ${timeout} ms timeout`)
    const records = await withProgress('health', hosts.length, (onProgress) =>
      pipe(
        hosts,
        parallelMapSettled((host, { signal }) => getOsVersion(host, signal), {
          concurrency: 20,
          ordered: false,
          timeout,
          onProgress,
          total: hosts.length,
          signal,
        }),
        collect,
      ),
    )
    records.sort((a, b) => a.index - b.index)
    const rows = records.map((record) => ({
      name: record.item.name,
      status: healthStatus(record),
      error: record.status === 'rejected' ? String((record.reason as Error).message ?? record.reason) : '',
      duration: Math.round(record.duration),
      timestamp: new Date(record.startedAt).toISOString(),
    }))
    const statuses: Record<HealthStatus, number> = { Success: 0, Failed: 0, TimedOut: 0, Unreachable: 0 }
    for (const row of rows) statuses[row.status]++
    const reportPath = resolve(outDir, `server-health-${stamp(new Date())}.csv`)
    await writeFile(reportPath, toCsv(rows))
    log(formatTable(Object.entries(statuses).map(([status, servers]) => ({ status, servers }))))
    // On screen the time of day is enough (the CSV keeps the full timestamp), so that the table
    // fits an 80-column terminal.
    const failures = rows.filter((row) => row.status !== 'Success')
    log(formatTable(failures.map((row) => ({ ...row, timestamp: row.timestamp.slice(11, 23) }))))
    log(`   Report (${rows.length} rows): ${reportPath}`)

    log(
      `   The fleet answered ${fleet.stats.answered} requests; ${fleet.stats.dropped} were dropped by the client ` +
        'when their timeout aborted the fetch (context.signal reached the work).',
    )
    log(
      `\n3. Finding the limit: a service that serves ${CAPACITY} requests at once in ${SERVICE_MS} ms (more queue), ` +
        `${seconds(2000 * scale)} per limit`,
    )
    const limits = await findLimit(scale, log, signal)
    log(`   'auto' ran ~${limits.found} at a time (the median of its limit over its requests), told nothing of the capacity.`)

    return { sequentialMs: sequential.ms, parallelMs: parallel.ms, reportPath, statuses, limits }
  } finally {
    await fleet.close()
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseExampleArgs(USAGE, { servers: { type: 'string' }, 'time-scale': { type: 'string' }, out: { type: 'string' } })
  const servers = integerArg(USAGE, 'servers', values.servers, 1)
  const timeScale = positiveArg(USAGE, 'time-scale', values['time-scale'])
  await runExample('demo', (signal) => main({ servers, timeScale, outDir: values.out, signal }))
}
