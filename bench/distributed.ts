// Distributed runs against Redis (REDIS_URL, default redis://127.0.0.1:6379), in one run:
// 1. trivial jobs through distributedMap + serveQueue, against the same work done with raw BullMQ
//    (Queue.addBulk + Worker + QueueEvents completion events), same concurrency, each with its
//    server in a process of its own;
// 2. 10-20 ms I/O-bound jobs with 1, 2 and 4 server processes;
// 3. cancellation latency: the driver aborts a running job, the server process notes when the
//    job's signal aborts (both clocks are this machine's).
// Usage: npm run bench:distributed [-- --trivial 1000 --io 800 --samples 100 --runs 5]
// The file is also its own server process: `--serve KIND QUEUE CONCURRENCY` (internal).
import { fork, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { availableParallelism, loadavg } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { Queue, QueueEvents, Worker } from 'bullmq'
import { Redis } from 'ioredis'
import { distributedMap, serveQueue } from '../src/distributed/index.js'
import { collect, drain } from '../src/index.js'

const REDIS_URL = process.env['REDIS_URL'] || 'redis://127.0.0.1:6379'

const { values } = parseArgs({
  options: {
    serve: { type: 'string', multiple: true },
    trivial: { type: 'string', default: '1000' },
    io: { type: 'string', default: '800' },
    samples: { type: 'string', default: '100' },
    runs: { type: 'string', default: '5' },
  },
  allowPositionals: true,
  strict: false,
})

/** What a server process runs: `trivial` echoes, `io` waits 10-20 ms, `cancel` waits for its abort. */
type Kind = 'trivial' | 'raw' | 'io' | 'cancel'

/** The I/O wait of item `i`: 10-20 ms, spread evenly. */
function ioDelay(i: number): number {
  return 10 + ((i * 7) % 11)
}

/** Closes a server process's server on SIGTERM or when its parent goes, then lets it exit. */
function closeOnExit(close: () => Promise<unknown>): void {
  const shutdown = (): void => {
    void close().then(() => {
      if (process.connected) process.disconnect()
    })
  }
  process.once('SIGTERM', shutdown).once('disconnect', shutdown)
}

/** A server process: tells its parent about its first job (so the parent knows it serves). */
async function serve(kind: Kind, queue: string, concurrency: number): Promise<void> {
  let first = true
  const hello = (): void => {
    if (!first) return
    first = false
    process.send!({ serving: true })
  }
  if (kind === 'raw') {
    const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null })
    const worker = new Worker(
      queue,
      async (job) => {
        hello()
        return job.data as number
      },
      { connection, concurrency },
    )
    closeOnExit(() => worker.close().then(() => connection.disconnect()))
    return
  }
  const server = serveQueue(
    queue,
    async (item: number, { signal, index }) => {
      hello()
      if (kind === 'io') await sleep(ioDelay(index))
      if (kind === 'cancel' && item >= 0) {
        process.send!({ started: item })
        await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))
        process.send!({ aborted: item, at: performance.timeOrigin + performance.now() })
      }
      return item
    },
    { connection: REDIS_URL, concurrency },
  )
  closeOnExit(() => server.close())
}

if (values.serve !== undefined) {
  const [kind, queue, concurrency] = values.serve as [Kind, string, string]
  await serve(kind, queue, Number(concurrency))
} else {
  await main()
}

async function main(): Promise<void> {
  const runs = Number(values.runs)
  const run = `${process.pid}`
  const queues: string[] = []
  const children: ChildProcess[] = []

  /** Starts a server process; resolves once it has taken a job, or at once with `wait: false`. */
  function startServer(kind: Kind, queue: string, concurrency: number): ChildProcess {
    const child = fork(fileURLToPath(import.meta.url), ['--serve', kind, '--serve', queue, '--serve', String(concurrency)])
    children.push(child)
    if (!queues.includes(queue)) queues.push(queue)
    return child
  }

  /** Sends warm-up jobs until every one of `servers` has taken one. */
  async function warmUp(servers: ChildProcess[], send: () => Promise<unknown>): Promise<void> {
    const serving = servers.map((server) => once(server, 'message'))
    let all = false
    void Promise.all(serving).then(() => (all = true))
    while (!all) await send()
  }

  async function stop(servers: ChildProcess[]): Promise<void> {
    await Promise.all(
      servers.map((server) => {
        const exited = once(server, 'exit')
        server.kill('SIGTERM')
        return exited
      }),
    )
  }

  console.log(
    `Redis at ${REDIS_URL}, ${availableParallelism()} cores (load average ${loadavg()[0]!.toFixed(2)} at start), ` +
      `Node ${process.version}, best of ${runs} runs\n`,
  )

  // ---- 1. trivial jobs: distributedMap against raw BullMQ ------------------------------------
  const trivialItems = Array.from({ length: Number(values.trivial) }, (_, i) => i)
  const concurrency = 50
  const ours = `bench-ours-${run}`
  const raw = `bench-raw-${run}`
  const oursServer = startServer('trivial', ours, concurrency)
  const rawServer = startServer('raw', raw, concurrency)
  const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null })
  const queue = new Queue(raw, { connection })
  const events = new QueueEvents(raw, { connection })
  await events.waitUntilReady()
  // Results by job id, from the completion events (waitUntilFinished cannot see a job that has
  // already removed itself, and registers two listeners per job).
  const waiting = new Map<string, (value: number) => void>()
  events.on('completed', ({ jobId, returnvalue }) => waiting.get(jobId)?.(returnvalue as unknown as number))
  let batches = 0
  const rawRun = async (items: number[]): Promise<number[]> => {
    const id = `batch${++batches}`
    const results = items.map((_, i) => new Promise<number>((resolve) => waiting.set(`${id}-${i}`, resolve)))
    await queue.addBulk(
      items.map((item, i) => ({
        name: 'item',
        data: item,
        opts: { jobId: `${id}-${i}`, removeOnComplete: true, removeOnFail: true },
      })),
    )
    const values = await Promise.all(results)
    waiting.clear()
    return values
  }
  const oursRun =
    (window: number) =>
    (items: number[]): Promise<number[]> =>
      collect(distributedMap<number, number>(ours, { connection: REDIS_URL, concurrency: window })(items))
  await warmUp([oursServer], () => oursRun(concurrency)(trivialItems.slice(0, 100)))
  await warmUp([rawServer], () => rawRun(trivialItems.slice(0, 100)))

  // distributedMap's concurrency counts the jobs queued and running: with exactly the servers'
  // capacity, a server idles while a result travels to the driver and the next job back.
  const contenders: [string, (items: number[]) => Promise<number[]>][] = [
    ['raw BullMQ: addBulk of every item, Worker, QueueEvents', rawRun],
    ...[1, 2, 4].map((times): [string, (items: number[]) => Promise<number[]>] => [
      `distributedMap (concurrency ${times * concurrency}) + serveQueue`,
      oursRun(times * concurrency),
    ]),
  ]
  const best = new Map<string, number>()
  for (let round = 0; round < runs; round++) {
    for (const [name, contender] of contenders) {
      const start = performance.now()
      const results = await contender(trivialItems)
      const ms = performance.now() - start
      if (results.some((value, i) => value !== i)) throw new Error(`${name} returned wrong results`)
      best.set(name, Math.min(best.get(name) ?? Infinity, ms))
    }
  }
  await events.close()
  await queue.close()
  connection.disconnect()
  await stop([oursServer, rawServer])
  const perSecond = (ms: number, count: number): number => Math.round((count * 1000) / ms)
  const rawMs = best.get(contenders[0]![0])!
  console.log(`Trivial jobs: ${trivialItems.length} items, one server process each with concurrency ${concurrency}`)
  console.table(
    contenders.map(([name]) => ({
      contender: name,
      'best ms': Math.round(best.get(name)!),
      'jobs/s': perSecond(best.get(name)!, trivialItems.length),
      'vs raw': `${(rawMs / best.get(name)!).toFixed(2)}x`,
    })),
  )

  // ---- 2. I/O-bound jobs on 1, 2 and 4 server processes --------------------------------------
  const ioItems = Array.from({ length: Number(values.io) }, (_, i) => i)
  const perServer = 4
  // The driver's window: twice the slots of the most servers, so that no server idles while a result
  // travels back and the next job comes in (see the trivial rows).
  const window = 2 * 4 * perServer
  const ioRows = []
  let single = 0
  for (const count of [1, 2, 4]) {
    const q = `bench-io${count}-${run}`
    const servers = Array.from({ length: count }, () => startServer('io', q, perServer))
    const ioRun = (items: number[]): Promise<void> =>
      drain(distributedMap<number, number>(q, { connection: REDIS_URL, concurrency: window })(items))
    await warmUp(servers, () => ioRun(ioItems.slice(0, 4 * perServer)))
    let ms = Infinity
    for (let round = 0; round < runs; round++) {
      const start = performance.now()
      await ioRun(ioItems)
      ms = Math.min(ms, performance.now() - start)
    }
    await stop(servers)
    single ||= ms
    ioRows.push({
      servers: count,
      'best ms': Math.round(ms),
      'jobs/s': perSecond(ms, ioItems.length),
      'vs 1 server': `${(single / ms).toFixed(2)}x`,
      'ideal jobs/s': Math.round((count * perServer * 1000) / 15),
    })
  }
  console.log(`\nI/O-bound jobs (10-20 ms each): ${ioItems.length} items, concurrency ${window}, ${perServer} per server process`)
  console.table(ioRows)

  // ---- 3. cancellation latency ---------------------------------------------------------------
  const q = `bench-cancel-${run}`
  const canceller = startServer('cancel', q, 1)
  await warmUp([canceller], () => collect(distributedMap(q, { connection: REDIS_URL })([-1])))
  const latencies: number[] = []
  for (let sample = 0; sample < Number(values.samples); sample++) {
    const controller = new AbortController()
    const started = once(canceller, 'message')
    const running = drain(distributedMap(q, { connection: REDIS_URL, signal: controller.signal })([sample])).catch(() => {})
    await started
    const aborted = once(canceller, 'message') as Promise<[{ at: number }]>
    const at = performance.timeOrigin + performance.now()
    controller.abort()
    const [{ at: seen }] = await aborted
    latencies.push(seen - at)
    await running
  }
  await stop([canceller])
  latencies.sort((a, b) => a - b)
  const percentile = (p: number): string => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]!.toFixed(1)
  console.log(`\nCancellation latency (driver's abort → the server's signal), ${latencies.length} samples, ms`)
  console.table([{ p50: percentile(50), p90: percentile(90), p99: percentile(99), max: latencies.at(-1)!.toFixed(1) }])

  // The queues' own keys (their jobs are gone already).
  const admin = new Redis(REDIS_URL)
  for (const name of queues) {
    const keys = await admin.keys(`bull:${name}:*`)
    if (keys.length > 0) await admin.del(...keys)
  }
  admin.disconnect()
}
