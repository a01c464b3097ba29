/// <reference lib="esnext.disposable" preserve="true" />
// Declares AsyncDisposable for consumers whose lib setting lacks it.
import { checkDuration, checkOptions, checkSource } from '../errors.js'
import { closeIterator, nextOf } from '../internal/iterator.js'
import { DONE } from '../internal/outbox.js'
import { open } from '../internal/source.js'
import { configure, PARALLEL_MAP_OPTIONS, parallelMap, parallelMapSettled } from '../parallel-map.js'
import type { Limiter } from '../limits/limiter.js'
import type { Operator, ParallelMapOptions, Settled, Source } from '../types.js'
import { checkConnection, type Connection } from './connection.js'
import { checkQueue } from './protocol.js'
import { Run, type RunSettings } from './run.js'

/** Options of {@link distributedMap}: those of `parallelMap`, and where Redis is. */
export interface DistributedMapOptions extends ParallelMapOptions {
  /**
   * Most jobs of this run queued or running at once, on all servers together. Integer >= 1 or
   * `Infinity`, or a `Limiter` or `'auto'` as for `parallelMap`. Default `5`. Keep it near the
   * servers' total `concurrency`: a queued job counts, and its `timeout` runs, while it waits for a
   * server.
   */
  readonly concurrency?: number | 'auto' | Limiter
  /**
   * The Redis server: a `redis://` or `rediss://` URL, or ioredis options. Default
   * `process.env.REDIS_URL`, else `redis://127.0.0.1:6379`.
   */
  readonly connection?: Connection
  /**
   * Milliseconds to wait for Redis, at the start and after a lost connection, before the run fails
   * with an error naming the server. Default `5000`.
   */
  readonly connectTimeout?: number
  /**
   * Milliseconds to wait for a cancelled job to end on its server before abandoning it, when the
   * run stops early. Default `5000`.
   */
  readonly closeTimeout?: number
}

const DISTRIBUTED_MAP_OPTIONS = { ...PARALLEL_MAP_OPTIONS, connection: true, connectTimeout: true, closeTimeout: true } as const

/** Checks the options of `distributedMap` and splits them into the scheduler's and the run's. */
function settingsOf(
  queue: unknown,
  options: unknown,
  settled: boolean,
): { schedulerOptions: ParallelMapOptions; settings: RunSettings } {
  const name = checkQueue(queue)
  const { connection, connectTimeout, closeTimeout, ...schedulerOptions } = checkOptions<DistributedMapOptions>(
    'options',
    options,
    DISTRIBUTED_MAP_OPTIONS,
  )
  configure(schedulerOptions, settled)
  return {
    schedulerOptions,
    settings: {
      queue: name,
      endpoint: checkConnection(connection),
      connectTimeout: connectTimeout === undefined ? 5_000 : checkDuration('connectTimeout', connectTimeout),
      closeTimeout: closeTimeout === undefined ? 5_000 : checkDuration('closeTimeout', closeTimeout),
      reporting: schedulerOptions.onReport !== undefined,
    },
  }
}

/**
 * The source as the scheduler sees it: nothing is pulled before Redis is reached, and a failure of
 * the run (Redis unreachable, or lost for `connectTimeout`) surfaces as an error of the source, so
 * that it ends the run under every `onError` mode, as a source error does, instead of failing every
 * later item. Items pass through untouched (a promise among them stays the scheduler's to await).
 */
class RunSource<T> implements AsyncIterableIterator<T> {
  readonly #run: Run
  #source: Source<T> | undefined
  #iterator: Iterator<T> | AsyncIterator<T> | undefined
  #sync = false
  #pulling = false

  constructor(source: Source<T>, run: Run) {
    this.#source = source
    this.#run = run
  }

  [Symbol.asyncIterator](): this {
    return this
  }

  next(): Promise<IteratorResult<T>> {
    if (this.#source === undefined) return this.#pull()
    return this.#run.start().then(() => {
      const opened = open(this.#source!)
      this.#source = undefined
      this.#sync = opened.sync
      this.#iterator = opened.iterator
      return this.#pull()
    })
  }

  #pull(): Promise<IteratorResult<T>> {
    const failure = this.#run.failure
    if (failure) return Promise.reject(failure.error)
    const iterator = this.#iterator
    if (iterator === undefined) return Promise.resolve(DONE)
    if (this.#sync) {
      try {
        return Promise.resolve((iterator as Iterator<T>).next())
      } catch (error) {
        return Promise.reject(error)
      }
    }
    this.#pulling = true
    const pull = nextOf(iterator as AsyncIterator<T>)
    const settle = (): void => {
      this.#pulling = false
    }
    pull.then(settle, settle)
    return Promise.race([pull, this.#run.failed])
  }

  async return(): Promise<IteratorResult<T>> {
    this.#source = undefined
    const iterator = this.#iterator
    this.#iterator = undefined
    if (iterator !== undefined) await closeIterator(iterator, this.#pulling)
    return DONE
  }
}

/**
 * The run's iterator: the scheduler's, passed through, and the run closed (its cancelled jobs
 * waited for, its key and connections gone) before the iteration is seen to end.
 */
class RunIterator<R> implements AsyncIterableIterator<R> {
  readonly #iterator: AsyncIterator<R>
  readonly #run: Run
  readonly #signal: AbortSignal | undefined

  constructor(iterator: AsyncIterator<R>, run: Run, signal: AbortSignal | undefined) {
    this.#iterator = iterator
    this.#run = run
    this.#signal = signal
  }

  [Symbol.asyncIterator](): this {
    return this
  }

  next(): Promise<IteratorResult<R>> {
    return this.#iterator.next().then(
      (result) => (result.done ? this.#run.close().then(() => result) : result),
      (error: unknown) => {
        const closed = this.#run.close()
        // An abort of the run's signal rejects at once, as parallelMap's does; the run closes meanwhile.
        if (this.#signal?.aborted) throw error
        return closed.then(() => {
          throw error
        })
      },
    )
  }

  async return(value?: unknown): Promise<IteratorResult<R>> {
    const result = await this.#iterator.return!(value)
    await this.#run.close()
    return result
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.return()
  }
}

function operator<T, R>(
  queue: unknown,
  options: unknown,
  settled: boolean,
): (source: Source<T>) => AsyncIterableIterator<R> {
  const { schedulerOptions, settings } = settingsOf(queue, options, settled)
  const schedule = settled ? parallelMapSettled : parallelMap
  return (source) => {
    checkSource(source)
    const run = new Run(settings)
    const scheduler = schedule<T, unknown>((item, context) => run.call(item, context), schedulerOptions)
    const iterator = scheduler(new RunSource(source, run)) as AsyncIterator<R>
    return new RunIterator<R>(iterator, run, schedulerOptions.signal)
  }
}

/**
 * `parallelMap` across machines (PowerShell's `Invoke-Command -ComputerName … -AsJob`): every item
 * becomes a job on the BullMQ queue `queue`, run by whichever {@link serveQueue} process takes it,
 * and the results come back in input order (or as they complete, with `ordered: false`). Every
 * `parallelMap` option and guarantee applies, "running" meaning "queued or running on some
 * server": the concurrency cap counts this run's jobs, a per-item `timeout` counts from the
 * moment the job is queued, and whatever stops an item (`break`, a sibling's failure, its
 * `timeout`, the run's `signal`) removes its job from the queue, or aborts `context.signal` on
 * the server that runs it.
 *
 * Items and results cross as JSON; an item that cannot fails with a `TypeError` naming its index.
 * A job whose server dies runs again on another one (at-least-once: make the work idempotent),
 * and its item is still yielded exactly once.
 *
 * @param queue - the queue's name, shared with the servers: a non-empty string without `:`.
 * @param options - see {@link DistributedMapOptions}; validated here, so bad options throw at once.
 * @throws TypeError or RangeError for an invalid queue name or option. The run itself rejects
 *   with an error naming the server when Redis cannot be reached within `connectTimeout`.
 * @example
 * ```ts
 * const thumbnails = distributedMap<string, string>('thumbnails', { concurrency: 50, timeout: 30_000 })
 * for await (const path of thumbnails(images)) console.log(path)
 * ```
 */
export function distributedMap<T = unknown, R = unknown>(queue: string, options?: DistributedMapOptions): Operator<T, R> {
  return operator<T, R>(queue, options, false)
}

/**
 * Like {@link distributedMap}, but never throws for an item's failure: yields one {@link Settled}
 * record per item, as `parallelMapSettled` does. A run that cannot reach Redis still rejects.
 */
export function distributedMapSettled<T = unknown, R = unknown>(
  queue: string,
  options?: DistributedMapOptions,
): Operator<T, Settled<T, R>> {
  return operator<T, Settled<T, R>>(queue, options, true)
}
