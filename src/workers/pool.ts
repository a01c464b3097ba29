/// <reference lib="esnext.disposable" preserve="true" />
// Declares Symbol.asyncDispose for consumers whose lib setting lacks it (Node 20 has it at run time).
import { availableParallelism } from 'node:os'
import { Piscina } from 'piscina'
import { checkInteger, checkOptions, describe, TimeoutError } from '../errors.js'
import { FORWARD_ABORT, type AbortTarget, type ForwardsAbort } from '../internal/forward-abort.js'
import { fromRecord } from './cloned-error.js'
import {
  INDEX,
  isReported,
  now,
  REPORTED,
  STARTED,
  TALK,
  type TaskMessage,
  type ThreadData,
  type WorkerTask,
} from './protocol.js'

/**
 * The worker-side module. Built, it is `worker.js` beside this file. Run from source (the tests, the
 * examples under tsx) it is `worker.ts`, which the threads load through the TypeScript loader they
 * inherit from the main thread's `execArgv`.
 */
const WORKER = new URL(import.meta.url.endsWith('.ts') ? 'worker.ts' : 'worker.js', import.meta.url).href

/**
 * The most threads a pool may have: `4 × os.availableParallelism()`, and at least 256. A thread costs
 * megabytes of memory and its start-up; far more threads than that exhaust the process (a count near
 * 2^31 is a fatal V8 error) long before they could help.
 */
export const MAX_THREADS = Math.max(256, 4 * availableParallelism())

/** A thread count: an integer from 1 to {@link MAX_THREADS} (or `Infinity` when allowed). */
export function checkThreads(name: string, value: unknown, allowInfinity = false): number {
  const threads = checkInteger(name, value, 1, allowInfinity)
  if (threads > MAX_THREADS && threads !== Infinity) {
    throw new RangeError(`Expected ${name} to be at most ${MAX_THREADS} (the most threads a pool may have), got ${threads}`)
  }
  return threads
}

/**
 * Checks that `workerData` survives the structured clone every thread will make of it, so that a
 * value that cannot be sent fails here rather than at the first item.
 */
export function checkWorkerData(value: unknown): unknown {
  try {
    structuredClone(value)
  } catch (error) {
    // For an object, the part that could not be cloned; anything else is all said by its type.
    const detail = typeof value === 'object' && value !== null ? ` (${(error as Error).message})` : ''
    throw new TypeError(`Expected workerData to be structured-cloneable, got ${describe(value)}${detail}`, {
      cause: error,
    })
  }
  return value
}

/**
 * A pool of worker threads that {@link workerMap} runs can share (`{ pool }`), from
 * {@link createPool}. Runs on it reuse its warm threads and the modules they have loaded.
 */
export interface WorkerPool {
  /** The most threads the pool runs at once. */
  readonly maxThreads: number
  /**
   * Terminates the threads, stopping the tasks they run; resolves once they have exited. Items of
   * runs still on the pool, and of runs started on it later, fail.
   */
  destroy(): Promise<void>
  /** {@link WorkerPool.destroy}, for `await using pool = createPool()`. */
  [Symbol.asyncDispose](): Promise<void>
}

/** Options of {@link createPool}. */
export interface PoolOptions {
  /**
   * How many threads the pool keeps. Integer from 1 to `4 × os.availableParallelism()` (at least
   * 256). Default `os.availableParallelism()`.
   */
  readonly maxThreads?: number
  /** Cloned to every thread once, as `context.workerData` of every task run on the pool. */
  readonly workerData?: unknown
}

/** Told when a thread of the pool fails outside a task: see {@link Pool.attach}. */
export type FailureListener = (error: unknown) => void

/**
 * One task on its way to a thread, and the abort signal piscina listens to for it: a plain object,
 * since an `AbortSignal` per task costs more than a tiny task itself. The scheduler aborts it
 * through the task context; its own timer aborts it with a `TimeoutError`.
 */
class PoolTask implements AbortTarget {
  aborted = false
  reason: unknown = undefined
  #listener: (() => void) | undefined = undefined
  #timer: ReturnType<typeof setTimeout> | undefined = undefined
  /** Reports delivered so far, how many the outcome says were sent, and who waits for the rest. */
  #received = 0
  #expected = 0
  #allReceived: (() => void) | undefined = undefined

  constructor(
    readonly index: number,
    readonly timeout: number | undefined,
    readonly report: ((value: unknown) => void) | undefined,
  ) {}

  addEventListener(_type: 'abort', listener: () => void): void {
    this.#listener = listener
  }

  removeEventListener(): void {
    this.#listener = undefined
  }

  abort(reason: unknown): void {
    if (this.aborted) return
    this.aborted = true
    this.reason = reason
    const listener = this.#listener
    this.#listener = undefined
    listener?.()
    // An aborted item's outcome is not wanted, nor are the reports still on their way.
    this.#allReceived?.()
  }

  /** The task's function started on its thread at `time` (epoch ms): its timeout counts from then. */
  started(time: number): void {
    const timeout = this.timeout
    if (timeout === undefined) return
    this.#timer = setTimeout(
      () => this.abort(new TimeoutError(`Item ${this.index} timed out after ${timeout} ms`)),
      Math.max(0, timeout - (now() - time)),
    )
  }

  reported(value: unknown): void {
    this.#received++
    this.report?.(value)
    if (this.#allReceived !== undefined && this.#received >= this.#expected) this.#allReceived()
  }

  /** Resolves once `count` reports have been delivered (or the task is aborted). */
  allReported(count: number): Promise<void> | undefined {
    clearTimeout(this.#timer)
    if (this.#received >= count || this.aborted) return undefined
    this.#expected = count
    return new Promise((resolve) => (this.#allReceived = resolve))
  }

  /** The outcome has arrived: the timeout no longer counts. */
  settled(): void {
    clearTimeout(this.#timer)
  }

  /** The error the item fails with: the abort's reason, or the thread's error as it was thrown. */
  failure(error: unknown): unknown {
    if (this.aborted) return this.reason
    if (error instanceof DOMException && error.name === 'DataCloneError') {
      return new TypeError(`Item ${this.index} could not be cloned to a worker thread: ${error.message}`, { cause: error })
    }
    return fromRecord(error)
  }
}

/**
 * piscina emits `'error'` when the result of a task it has just aborted was already on its way (its
 * message queued before the abort): that result is no longer wanted.
 */
function isLateResult(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('Unexpected message from Worker')
}

/** A piscina pool, with what workerMap needs of it and nothing of piscina's surface. */
export class Pool implements WorkerPool {
  readonly #piscina: Piscina
  /** Tasks with a timeout or reports, by the id their thread posts their start and reports with. */
  readonly #talking = new Map<number, PoolTask>()
  #lastTalk = 0
  readonly #runs = new Set<FailureListener>()
  /** Errors of threads that failed while no run was attached, for the next run to attach. */
  #unclaimed: unknown[] = []
  #destroyed = false

  /**
   * @param threads - the most threads; with `eager`, all started at once and kept (a thread that
   *   an abort or an error ends is replaced at once). Otherwise as many as there are cores start at
   *   once (a thread that starts before its first task is ready sooner), and the rest as items come.
   */
  constructor(threads: number, data: ThreadData, eager: boolean) {
    this.#piscina = new Piscina({
      filename: WORKER,
      maxThreads: threads,
      minThreads: eager ? threads : Math.min(threads, availableParallelism()),
      idleTimeout: Infinity,
      // The threads' event loops must turn between tasks, so that an error raised outside a task (a
      // timer's, an unhandled rejection) surfaces at once: with piscina's default, an idle thread
      // waits in Atomics.wait() and runs none of its timers.
      atomics: 'disabled',
      workerData: data,
    })
    this.#piscina.on('message', this.#onMessage).on('error', this.#onError)
  }

  get maxThreads(): number {
    return this.#piscina.maxThreads
  }

  /**
   * Runs `task` on a thread. The scheduler's abort of `context` (and the timeout, counted from the
   * start of the task's function on its thread) terminates the thread, which piscina replaces.
   * `report`, when given, receives the task's reports, all before its outcome.
   */
  run(
    task: WorkerTask,
    context: ForwardsAbort,
    timeout: number | undefined,
    report: ((value: unknown) => void) | undefined,
  ): Promise<unknown> {
    if (this.#destroyed) return Promise.reject(new Error('The worker pool has been destroyed'))
    const poolTask = new PoolTask(task[INDEX], timeout, report)
    let talk = 0
    if (timeout !== undefined || report !== undefined) {
      talk = ++this.#lastTalk
      task[TALK] = talk
      this.#talking.set(talk, poolTask)
    }
    const running = this.#piscina.run(task, { signal: poolTask })
    context[FORWARD_ABORT](poolTask)
    if (talk === 0) {
      return running.then(undefined, (error: unknown) => {
        throw poolTask.failure(error)
      })
    }
    return running.then(
      (value: unknown) => this.#settled(talk, poolTask, value, false),
      (error: unknown) => this.#settled(talk, poolTask, error, true),
    )
  }

  /** A talking task's outcome: once every report it sent has been delivered. */
  async #settled(talk: number, poolTask: PoolTask, outcome: unknown, failed: boolean): Promise<unknown> {
    poolTask.settled()
    if (!poolTask.aborted && isReported(outcome)) {
      await poolTask.allReported(outcome[REPORTED])
      outcome = failed ? outcome.error : outcome.value
    }
    this.#talking.delete(talk)
    if (failed) throw poolTask.failure(outcome)
    return outcome
  }

  readonly #onMessage = (message: TaskMessage): void => {
    const poolTask = this.#talking.get(message[1])
    if (poolTask === undefined) return
    if (message[0] === STARTED) poolTask.started(message[2])
    else poolTask.reported(message[2])
  }

  /** A thread failed outside a task: every run on the pool fails with the error. */
  readonly #onError = (error: unknown): void => {
    if (isLateResult(error)) return
    if (this.#runs.size === 0) this.#unclaimed.push(error)
    for (const listener of this.#runs) listener(error)
  }

  /**
   * Tells `listener` of every thread that fails outside a task from now until {@link detach}. A
   * thread that failed while no run was attached fails the next run to attach: that error is
   * returned (an `AggregateError` for several), for the run to fail with.
   */
  attach(listener: FailureListener): { error: unknown } | undefined {
    this.#runs.add(listener)
    const unclaimed = this.#unclaimed
    if (unclaimed.length === 0) return undefined
    this.#unclaimed = []
    return {
      error:
        unclaimed.length === 1
          ? unclaimed[0]
          : new AggregateError(unclaimed, `${unclaimed.length} worker threads failed outside a task`),
    }
  }

  detach(listener: FailureListener): void {
    this.#runs.delete(listener)
  }

  destroy(): Promise<void> {
    this.#destroyed = true
    return this.#piscina.destroy()
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.destroy()
  }
}

/**
 * Creates a pool of worker threads to share between {@link workerMap} runs (`{ pool }`), so that
 * they reuse warm threads and the modules those threads have loaded. Its threads start at once. A
 * run never destroys a pool it was given: call `await pool.destroy()` (or `await using pool =
 * createPool()`) when done. Idle threads do not keep the process alive.
 *
 * @throws TypeError or RangeError for invalid options; TypeError when `workerData` cannot be cloned.
 * @example
 * ```ts
 * await using pool = createPool({ workerData: { rounds: 1000 } })
 * const first = await collect(workerMap('./hash.js', { pool })(files))
 * const second = await collect(workerMap('./hash.js', { pool })(moreFiles))
 * ```
 */
export function createPool(options?: PoolOptions): WorkerPool {
  const o = checkOptions<PoolOptions>('options', options, { maxThreads: true, workerData: true })
  const maxThreads = o.maxThreads === undefined ? availableParallelism() : checkThreads('maxThreads', o.maxThreads)
  return startPool(maxThreads, checkWorkerData(o.workerData))
}

/** A pool of `threads` threads, all started at once, each replaced as soon as it ends. */
export function startPool(threads: number, workerData: unknown): Pool {
  return new Pool(threads, { workerData }, true)
}
