import { randomBytes } from 'node:crypto'
import type { Queue as BullQueue } from 'bullmq'
import type { Redis as RedisClient } from 'ioredis'
import { deferred, type Deferred } from '../internal/deferred.js'
import type { TaskContext } from '../types.js'
import { closeClient, connectionError, createClient, whenReady, type Endpoint } from './connection.js'
import { Queue } from './peers.js'
import {
  cancelChannel,
  cancelOrder,
  decodeOutcome,
  decodeReport,
  encodeItem,
  eventsKey,
  JOB_NAME,
  jobId,
  runKey,
  type CancelOrder,
  type Decoded,
  type JobData,
  type Outcome,
} from './protocol.js'

/** A finished job removes itself: results travel in the completion event, not in the job. */
const JOB_OPTIONS = { removeOnComplete: true, removeOnFail: true } as const

/** How long a run's key outlives its driver's last heartbeat (a driver that dies leaves it). */
const RUN_KEY_TTL = 30_000

/** What a cancelled job settled with: nothing anyone reads, the call rejects with its signal's reason. */
const CANCELLED: Decoded = { error: undefined }

/** The run's settings, from the operator's options. */
export interface RunSettings {
  readonly queue: string
  readonly endpoint: Endpoint
  readonly connectTimeout: number
  readonly closeTimeout: number
  /** The run has `onReport`: its jobs' reports travel back. */
  readonly reporting: boolean
}

function ignore(): void {}

/** The value of `name` in the field list of a stream entry. */
function valueOf(fields: string[], name: string): string {
  return fields[fields.indexOf(name, 4) + 1]!
}

/** A job of the run, from its `add` until its outcome arrives (or it is removed, or abandoned). */
class RemoteJob {
  readonly settled: Deferred<Decoded> = deferred()
  readonly report: (value: unknown) => void
  /** Settles once the job is on the queue (or failed to get there). */
  added: Promise<void> | undefined
  /** Waiting to be added with the others of this turn: a cancel now just drops it. */
  unsent = true
  /** Set once the job is being cancelled: bounds the wait for its end by `closeTimeout`. */
  timer: NodeJS.Timeout | undefined

  constructor(report: (value: unknown) => void) {
    this.report = report
  }
}

/**
 * One application of `distributedMap`: its connections, its jobs on the queue, and the run key
 * that tells servers it is alive. Every item is a job whose id names the run, so runs sharing a
 * queue never see each other's jobs. Connects at the first pull and cleans up in {@link close}.
 */
export class Run {
  readonly id = randomBytes(8).toString('hex')
  readonly #settings: RunSettings
  #client: RedisClient | undefined
  /** The connection that reads the queue's event stream (its reads block). */
  #reader: RedisClient | undefined
  #queue: BullQueue | undefined
  #started: Promise<void> | undefined
  /** Connected and listening: the run has something to clean up. */
  #ready = false
  /** Set once the run disconnects on purpose: a closed connection is no longer a loss. */
  #disconnected: Promise<void> | undefined
  #failure: { error: unknown } | undefined
  /** Rejects with the failure that ends the run (Redis unreachable or lost); never unhandled. */
  readonly #failed = deferred<never>()
  readonly #jobs = new Map<string, RemoteJob>()
  /** Jobs gathered in this turn of the event loop, added together. */
  #additions: { job: RemoteJob; name: string; data: JobData; opts: { jobId: string } & typeof JOB_OPTIONS }[] = []
  #added: Deferred<void> | undefined
  /** Cancel orders gathered in this turn, published together. */
  #orders: CancelOrder[] = []
  #heartbeat: NodeJS.Timeout | undefined
  #lost: NodeJS.Timeout | undefined
  /** The connections that are down. */
  readonly #down = new Set<RedisClient>()
  #lastError: Error | undefined
  #drained: Deferred<void> | undefined
  #closed: Promise<void> | undefined

  constructor(settings: RunSettings) {
    this.#settings = settings
    this.#failed.promise.catch(ignore)
  }

  /** Rejects with the error that ended the run, once it has failed. */
  get failed(): Promise<never> {
    return this.#failed.promise
  }

  /** The error that ended the run, if it has failed. */
  get failure(): { error: unknown } | undefined {
    return this.#failure
  }

  /** Connects and starts listening, once; rejects with an error naming the server within `connectTimeout`. */
  start(): Promise<void> {
    return (this.#started ??= this.#connect())
  }

  async #connect(): Promise<void> {
    const { queue, endpoint, connectTimeout } = this.#settings
    const client = createClient(endpoint, () => this.#disconnected !== undefined || this.#failure !== undefined)
    const reader = client.duplicate()
    this.#client = client
    this.#reader = reader
    for (const connection of [client, reader]) {
      connection.on('error', (error: Error) => {
        this.#lastError = error
      })
    }
    let from: string
    try {
      await Promise.all([whenReady(client, endpoint, connectTimeout), whenReady(reader, endpoint, connectTimeout)])
      for (const connection of [client, reader]) {
        connection.on('close', () => this.#onClose(connection)).on('ready', () => this.#onReady(connection))
      }
      // Events are read from the stream's current end: no event of a job of this run comes earlier.
      const [last] = await Promise.race([client.xrevrange(eventsKey(queue), '+', '-', 'COUNT', 1), this.#failed.promise])
      from = last?.[0] ?? '0-0'
      await Promise.race([client.set(runKey(queue, this.id), '', 'PX', RUN_KEY_TTL), this.#failed.promise])
    } catch (error) {
      this.#fail(error)
      throw error
    }
    this.#heartbeat = setInterval(() => {
      client.pexpire(runKey(queue, this.id), RUN_KEY_TTL).catch(ignore)
    }, RUN_KEY_TTL / 3)
    this.#queue = new Queue(queue, { connection: client })
    this.#queue.on('error', ignore)
    void this.#listen(reader, from)
    this.#ready = true
  }

  /**
   * Reads the queue's event stream from `from` until the run disconnects, settling the run's jobs
   * as their outcomes arrive. A read cut by a lost connection is sent again when it is back, from
   * the last event seen, so nothing is missed; one left pending by a disconnect is abandoned.
   */
  async #listen(reader: RedisClient, from: string): Promise<void> {
    const key = eventsKey(this.#settings.queue)
    let id = from
    while (this.#disconnected === undefined) {
      let reply: [key: string, entries: [id: string, fields: string[]][]][] | null
      try {
        reply = await reader.xread('COUNT', 1000, 'BLOCK', 10_000, 'STREAMS', key, id)
      } catch {
        continue
      }
      for (const [entryId, fields] of reply?.[0]?.[1] ?? []) {
        id = entryId
        this.#onEvent(fields)
      }
    }
  }

  /** One entry of the event stream: `event <name> jobId <id> …` (BullMQ writes these first). */
  #onEvent(fields: string[]): void {
    const id = fields[3]!
    if (!this.#jobs.has(id)) return
    const event = fields[1]
    if (event === 'completed') this.#resolve(id, decodeOutcome(JSON.parse(valueOf(fields, 'returnvalue')) as Outcome, id))
    else if (event === 'progress') this.#jobs.get(id)!.report(decodeReport(JSON.parse(valueOf(fields, 'data')) as string))
    else if (event === 'failed') this.#resolve(id, { error: new Error(valueOf(fields, 'failedReason')) })
  }

  /** A connection is down: the run fails unless every connection is back within `connectTimeout`. */
  #onClose(connection: RedisClient): void {
    this.#down.add(connection)
    if (this.#lost !== undefined || this.#disconnected !== undefined) return
    const { endpoint, connectTimeout } = this.#settings
    this.#lost = setTimeout(() => {
      const message = `Lost the connection to Redis at ${endpoint.address} for ${connectTimeout} ms`
      this.#fail(connectionError(message, this.#lastError))
    }, connectTimeout)
  }

  #onReady(connection: RedisClient): void {
    this.#down.delete(connection)
    if (this.#down.size > 0) return
    clearTimeout(this.#lost)
    this.#lost = undefined
  }

  /**
   * Runs one item as a job and resolves with its result, or rejects with its error. When
   * `context.signal` aborts, the job is removed if it is still queued, or its server is told to
   * abort it; the call then rejects with the signal's reason once the job has ended, or after
   * `closeTimeout` if it does not. The job's reports go to `context.report`.
   */
  call(item: unknown, context: TaskContext): Promise<unknown> {
    if (this.#failure) return Promise.reject(this.#failure.error)
    const { signal, index, attempt, report } = context
    if (signal.aborted) return Promise.reject(signal.reason)
    let data
    try {
      data = encodeItem(item, index, attempt, this.#settings.reporting)
    } catch (error) {
      return Promise.reject(error)
    }
    const id = jobId(this.id, index, attempt)
    const job = new RemoteJob(report)
    this.#jobs.set(id, job)
    job.added = this.#add(job, id, data)
    job.added.catch((error: unknown) => this.#resolve(id, { error }))
    const onAbort = (): void => this.#cancel(id, job, signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    return job.settled.promise.then((outcome) => {
      signal.removeEventListener('abort', onAbort)
      if (signal.aborted) throw signal.reason
      if ('error' in outcome) throw outcome.error
      return outcome.value
    })
  }

  /**
   * Adds a job with the others of this turn of the event loop: the results that one read of the
   * event stream brings free as many slots, and the jobs that fill them go out in one round trip
   * (one `addBulk`) instead of one each.
   */
  #add(job: RemoteJob, id: string, data: JobData): Promise<void> {
    this.#additions.push({ job, name: JOB_NAME, data, opts: { jobId: id, ...JOB_OPTIONS } })
    if (this.#added !== undefined) return this.#added.promise
    const added = (this.#added = deferred())
    setImmediate(() => {
      // Jobs cancelled meanwhile are not sent: a server could take one before its removal.
      const additions = this.#additions.filter(({ job }) => job.unsent)
      this.#additions = []
      this.#added = undefined
      for (const { job } of additions) job.unsent = false
      if (additions.length === 0) added.resolve()
      else this.#queue!.addBulk(additions).then(() => added.resolve(), added.reject)
    })
    return added.promise
  }

  #resolve(id: string, outcome: Decoded): void {
    const job = this.#jobs.get(id)
    if (job === undefined) return
    this.#jobs.delete(id)
    clearTimeout(job.timer)
    job.settled.resolve(outcome)
    if (this.#jobs.size === 0) this.#drained?.resolve()
  }

  /** Removes a queued job, or has its server abort it; gives up waiting after `closeTimeout`. */
  #cancel(id: string, job: RemoteJob, reason: unknown): void {
    if (job.timer !== undefined || !this.#jobs.has(id)) return
    if (job.unsent) {
      job.unsent = false
      this.#resolve(id, CANCELLED)
      return
    }
    job.timer = setTimeout(() => this.#resolve(id, CANCELLED), this.#settings.closeTimeout)
    const queue = this.#queue!
    job.added!.then(() => queue.remove(id)).then((removed) => {
      if (removed === 1) this.#resolve(id, CANCELLED)
      else this.#order(cancelOrder(id, reason))
    }, ignore)
  }

  /** Queues a cancel order; the orders of one turn go out in one message. */
  #order(order: CancelOrder): void {
    this.#orders.push(order)
    if (this.#orders.length > 1) return
    queueMicrotask(() => {
      const orders = this.#orders
      this.#orders = []
      this.#client!.publish(cancelChannel(this.#settings.queue), JSON.stringify(orders)).catch(ignore)
    })
  }

  /** Ends the run for a lost or unreachable server: every waiting call rejects with `error`. */
  #fail(error: unknown): void {
    if (this.#failure) return
    this.#failure = { error }
    this.#failed.reject(error)
    for (const id of [...this.#jobs.keys()]) this.#resolve(id, { error })
  }

  /**
   * Waits for the cancelled jobs (each for at most `closeTimeout` from its cancel), deletes the
   * run key and closes the connections. Idempotent; never rejects.
   */
  close(): Promise<void> {
    return (this.#closed ??= this.#shutdown())
  }

  async #shutdown(): Promise<void> {
    const started = this.#started
    if (started === undefined) return
    const client = this.#client!
    // A run stopped while connecting does not wait for the connect timeout.
    if (!this.#ready) void this.#disconnect()
    await started.catch(ignore)
    if (this.#jobs.size > 0 && !this.#failure) {
      for (const [id, job] of this.#jobs) this.#cancel(id, job, new DOMException('The run ended', 'AbortError'))
      this.#drained = deferred()
      await Promise.race([this.#drained.promise, this.#failed.promise]).catch(ignore)
    }
    clearInterval(this.#heartbeat)
    if (!this.#failure) {
      await Promise.race([client.del(runKey(this.#settings.queue, this.id)), this.#failed.promise]).catch(ignore)
    }
    // The queue shares the run's connection: closing it sends nothing to Redis.
    await this.#queue?.close().catch(ignore)
    await this.#disconnect()
  }

  #disconnect(): Promise<void> {
    clearTimeout(this.#lost)
    return (this.#disconnected ??= Promise.all([closeClient(this.#client!), closeClient(this.#reader!)]).then(ignore))
  }
}
