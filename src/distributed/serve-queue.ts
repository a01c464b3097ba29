/// <reference lib="esnext.disposable" preserve="true" />
// Declares AsyncDisposable for consumers whose lib setting lacks it.
import { availableParallelism } from 'node:os'
import type { Job, Worker as BullWorker } from 'bullmq'
import type { Redis as RedisClient } from 'ioredis'
import { checkDuration, checkInteger, checkOptions, describe } from '../errors.js'
import type { Mapper, TaskContext } from '../types.js'
import { checkThreads, checkWorkerData, startPool, type Pool } from '../workers/pool.js'
import { resolveModule, runOn } from '../workers/worker-map.js'
import { checkConnection, closeClient, createClient, type Connection, type Endpoint } from './connection.js'
import { Worker } from './peers.js'
import {
  CANCELLED,
  cancelChannel,
  cancelReason,
  checkQueue,
  decodeItem,
  DISCARDED,
  encodeError,
  encodeReport,
  encodeResult,
  runKey,
  runOf,
  type CancelOrder,
  type JobData,
  type Outcome,
} from './protocol.js'


/** Options of {@link serveQueue}. */
export interface ServeQueueOptions {
  /**
   * The Redis server: a `redis://` or `rediss://` URL, or ioredis options. Default
   * `process.env.REDIS_URL`, else `redis://127.0.0.1:6379`.
   */
  readonly connection?: Connection
  /**
   * Most jobs this server runs at once. Integer >= 1. Default `5` for a function, `threads` for a
   * module.
   */
  readonly concurrency?: number
  /** With a module: how many worker threads run it. Integer >= 1. Default `os.availableParallelism()`. */
  readonly threads?: number
  /** With a module: cloned to every thread once, as `context.workerData`. */
  readonly workerData?: unknown
  /**
   * BullMQ's job lock, in ms: a server that stops renewing it (it died) loses its jobs to other
   * servers after about `lockDuration + stalledInterval`. Default `30000`.
   */
  readonly lockDuration?: number
  /** How often, in ms, this server looks for jobs whose lock has expired. Default `30000`. */
  readonly stalledInterval?: number
}

/** How long a cancel order for a job this server has not started yet is kept, in ms. */
const CANCEL_ORDER_TTL = 10_000
/** How long a run seen alive is believed alive without asking Redis again, in ms. */
const RUN_ALIVE_TTL = 1_000

/** Runs a job's item; `reporting`: its run has `onReport`, so its reports travel. */
type Runner = (item: unknown, context: TaskContext, reporting: boolean) => unknown

/** Forgets the entries of an insertion-ordered map of times that are older than `ttl`. */
function prune(times: Map<string, number>, now: number, ttl: number): void {
  for (const [key, time] of times) {
    if (now - time < ttl) return
    times.delete(key)
  }
}

/** Errors of a connection going down (its own, or of a command it cut short), not of a job. */
const CONNECTION_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND'])

function isConnectionError(error: Error): boolean {
  return CONNECTION_ERRORS.has((error as { code?: string }).code ?? '') || error.message === 'Connection is closed.'
}

function log(message: string): void {
  console.error(`foreach-parallel/distributed: ${message}`)
}

/**
 * A process serving a queue: runs the jobs that {@link distributedMap} runs put on it. Returned by
 * {@link serveQueue}.
 */
export interface QueueServer extends AsyncDisposable {
  /**
   * Stops taking jobs, waits for the running ones to finish and report, and disconnects. With
   * Redis unreachable it neither reconnects nor waits for jobs that could not report anyway: it
   * returns. Idempotent.
   */
  close(): Promise<void>
  /** {@link QueueServer.close}, for `await using server = serveQueue(…)`. */
  [Symbol.asyncDispose](): Promise<void>
}

/** The {@link QueueServer}: a BullMQ worker, the cancel orders it listens to, and the run checks. */
class Server implements QueueServer {
  readonly #queue: string
  readonly #endpoint: Endpoint
  readonly #run: Runner
  readonly #client: RedisClient
  readonly #subscriber: RedisClient
  readonly #worker: BullWorker<JobData, Outcome>
  readonly #pool: Pool | undefined
  /** Cancel orders for jobs not started here (yet), by job id, with the time they came. */
  readonly #orders = new Map<string, number>()
  /** Runs seen alive, with the time they were. */
  readonly #alive = new Map<string, number>()
  /** Redis is unreachable: logged once, until it is back. */
  #down = false
  #closed: Promise<void> | undefined

  constructor(queue: string, endpoint: Endpoint, run: Runner, pool: Pool | undefined, worker: WorkerSettings) {
    this.#queue = queue
    this.#endpoint = endpoint
    this.#run = run
    this.#pool = pool
    this.#client = createClient(endpoint, () => this.#closed !== undefined)
    this.#client.on('error', this.#onError).on('ready', this.#onReady)
    this.#subscriber = this.#client.duplicate()
    this.#subscriber.on('error', () => {})
    this.#subscriber.on('message', this.#onMessage)
    this.#subscriber.subscribe(cancelChannel(queue)).catch(() => {})
    this.#worker = new Worker<JobData, Outcome>(queue, this.#process, { ...worker, connection: this.#client })
    this.#worker.on('error', this.#onError).on('ready', this.#onReady)
  }

  /** Logs an error; a lost connection once, until it is back. */
  readonly #onError = (error: Error): void => {
    if (this.#closed) return
    if (!isConnectionError(error) && this.#client.status === 'ready') {
      log(`queue ${this.#queue}: ${error.message}`)
      return
    }
    if (this.#down) return
    this.#down = true
    log(`cannot reach Redis at ${this.#endpoint.address} (${error.message}); retrying`)
  }

  readonly #onReady = (): void => {
    if (!this.#down) return
    this.#down = false
    log(`reconnected to Redis at ${this.#endpoint.address}`)
  }

  /** A cancel order from a driver: aborts the job if it runs here, or keeps the order for a while. */
  readonly #onMessage = (_channel: string, message: string): void => {
    let orders: CancelOrder[]
    try {
      orders = JSON.parse(message) as CancelOrder[]
    } catch {
      return
    }
    const now = performance.now()
    for (const order of orders) {
      // The job may be taken from the queue but not started yet: its order waits for it.
      if (!this.#worker.cancelJob(order[0], cancelReason(order) as unknown as string)) {
        this.#orders.set(order[0], now)
      }
    }
    prune(this.#orders, now, CANCEL_ORDER_TTL)
  }

  /** BullMQ's processor: runs a job and returns its outcome; it never throws. */
  readonly #process = async (job: Job<JobData, Outcome>, _token: string | undefined, signal?: AbortSignal): Promise<Outcome> => {
    const id = job.id!
    if (this.#orders.delete(id)) return CANCELLED
    // A job that started before ran on a server that died: run it again only for a live run.
    if (!(await this.#isAlive(runOf(id), job.attemptsStarted > 1))) return DISCARDED
    const { i: index, a: attempt, r: reporting } = job.data
    let running = true
    let reported: Promise<unknown> | undefined
    // A report that cannot cross fails the item once its function has returned: report() never throws.
    let unsent: unknown
    const report = (value: unknown): void => {
      if (!reporting || !running) return
      let data: string
      try {
        data = encodeReport(value, index)
      } catch (error) {
        unsent ??= error
        return
      }
      reported = (reported ?? Promise.resolve()).then(() => job.updateProgress(data)).catch(() => {})
    }
    let outcome: Outcome
    try {
      const value = await this.#run(decodeItem(job.data), { signal: signal!, index, attempt, report }, reporting === 1)
      outcome = unsent === undefined ? encodeResult(value, index) : encodeError(unsent, index)
    } catch (error) {
      outcome = encodeError(error, index)
    }
    running = false
    await reported
    return outcome
  }

  async #isAlive(run: string, recheck: boolean): Promise<boolean> {
    const now = performance.now()
    const seen = this.#alive.get(run)
    if (!recheck && seen !== undefined && now - seen < RUN_ALIVE_TTL) return true
    const alive = (await this.#client.exists(runKey(this.#queue, run))) === 1
    this.#alive.delete(run)
    if (alive) this.#alive.set(run, now)
    prune(this.#alive, now, RUN_ALIVE_TTL)
    return alive
  }

  close(): Promise<void> {
    return (this.#closed ??= this.#shutdown())
  }

  async #shutdown(): Promise<void> {
    await this.#worker.close(this.#client.status !== 'ready')
    await this.#pool?.destroy()
    await Promise.all([closeClient(this.#subscriber), closeClient(this.#client)])
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }
}

/** BullMQ worker options that {@link serveQueue} passes on. */
interface WorkerSettings {
  readonly concurrency: number
  readonly lockDuration?: number
  readonly stalledInterval?: number
}

/**
 * Serves the queue `queue`: runs the jobs that {@link distributedMap} runs put on it, on this
 * machine, at most `concurrency` at a time, until {@link QueueServer.close}. Start it in as many
 * processes, on as many machines, as you like; each job runs on one of them (again on another if
 * its server dies mid-job: at-least-once).
 *
 * A function runs in this process as `fn(item, { signal, index, attempt, report })`; its
 * `signal` aborts when the driving run no longer wants the result (`break`, a sibling's failure,
 * a timeout, the run's `signal`). A module (a path, a `file:` URL string or a URL) runs on worker
 * threads, its default export called as `workerMap` calls it; an aborted job's thread is
 * terminated. Results, errors (with `name`, `message`, `stack`, `code`, `cause`) and reports go
 * back as JSON; a result that cannot fails its item with a `TypeError`.
 *
 * Redis unreachable is not an error here: the server logs it, keeps retrying, and `close()` still
 * returns.
 *
 * @throws TypeError or RangeError for an invalid queue name, task or option; an `Error` with code
 *   `ERR_MODULE_NOT_FOUND` when a module is not a file.
 * @example
 * ```ts
 * const server = serveQueue('thumbnails', async (path, { signal }) => makeThumbnail(path, { signal }), {
 *   connection: 'redis://10.0.0.5:6379',
 *   concurrency: 8,
 * })
 * process.once('SIGTERM', () => server.close())
 * ```
 */
export function serveQueue<T = any, R = unknown>(
  queue: string,
  task: Mapper<T, R> | string | URL,
  options?: ServeQueueOptions,
): QueueServer {
  const name = checkQueue(queue)
  const o = checkOptions<ServeQueueOptions>('options', options, {
    connection: true,
    concurrency: true,
    threads: true,
    workerData: true,
    lockDuration: true,
    stalledInterval: true,
  })
  const endpoint = checkConnection(o.connection)
  const timing = {
    ...(o.lockDuration === undefined ? {} : { lockDuration: checkDuration('lockDuration', o.lockDuration) }),
    ...(o.stalledInterval === undefined ? {} : { stalledInterval: checkDuration('stalledInterval', o.stalledInterval) }),
  }
  if (typeof task === 'function') {
    for (const option of ['threads', 'workerData'] as const) {
      if (o[option] !== undefined) throw new TypeError(`Expected ${option} only with a module, got it with a function`)
    }
    const concurrency = o.concurrency === undefined ? 5 : checkInteger('concurrency', o.concurrency, 1)
    return new Server(name, endpoint, task as Runner, undefined, { concurrency, ...timing })
  }
  if (typeof task !== 'string' && !(task instanceof URL)) {
    throw new TypeError(`Expected task to be a function, a path or a file: URL, got ${describe(task)}`)
  }
  const module = resolveModule(task)
  const threads = o.threads === undefined ? availableParallelism() : checkThreads('threads', o.threads)
  const concurrency = o.concurrency === undefined ? threads : checkInteger('concurrency', o.concurrency, 1)
  const pool = startPool(threads, checkWorkerData(o.workerData))
  // A task that reports talks to the main thread, which costs a message per task: only when asked.
  const run: Runner = (item, { signal, index, attempt, report }, reporting) =>
    runOn(pool, { module, exportName: 'default', item, index, attempt }, signal, reporting ? report : undefined)
  return new Server(name, endpoint, run, pool, { concurrency, ...timing })
}
