import { availableParallelism } from 'node:os'
import { Piscina } from 'piscina'
import { checkInteger, checkOptions } from '../errors.js'

/**
 * The worker-side module. Built, it is `worker.js` beside this file. Run from source (the tests, the
 * examples under tsx) it is `worker.ts`, which the threads load through the TypeScript loader they
 * inherit from the main thread's `execArgv`.
 */
const WORKER = new URL(import.meta.url.endsWith('.ts') ? 'worker.ts' : 'worker.js', import.meta.url).href

/** A pool of worker threads that {@link workerMap} runs can share: a piscina `Piscina` instance. */
export type WorkerPool = Piscina

/** Options of {@link createPool}. */
export interface PoolOptions {
  /** How many threads the pool keeps. Integer >= 1. Default `os.availableParallelism()`. */
  readonly maxThreads?: number
  /** Cloned to every thread once, as `context.workerData` of every task run on the pool. */
  readonly workerData?: unknown
}

/**
 * Checks that `workerData` survives the structured clone every thread will make of it, so that a
 * value that cannot be sent fails here rather than at the first item.
 */
export function checkWorkerData(value: unknown): unknown {
  try {
    structuredClone(value)
  } catch (error) {
    throw new TypeError(`Expected workerData to be cloneable, got ${(error as Error).message}`, { cause: error })
  }
  return value
}

/**
 * piscina emits `'error'` when the result of a task it has just aborted was already on its way (its
 * message queued before the abort): that result is no longer wanted. Without a listener the event
 * would crash the process; any other pool error is thrown on, as it would be without one.
 */
function ignoreLateResult(error: Error): void {
  if (!error.message.startsWith('Unexpected message from Worker')) throw error
}

/** A pool of `threads` threads, all started at once and replaced when a task's abort kills one. */
export function startPool(threads: number, workerData: unknown): WorkerPool {
  // minThreads = maxThreads: with fewer kept alive, a task queued behind one whose thread an abort
  // terminated can wait forever, as piscina only replaces threads up to minThreads.
  const pool = new Piscina({ filename: WORKER, minThreads: threads, maxThreads: threads, workerData })
  return pool.on('error', ignoreLateResult)
}

/**
 * Creates a pool of worker threads to share between {@link workerMap} runs (`{ pool }`), so that
 * they reuse warm threads and the modules those threads have loaded. A run never destroys a pool it
 * was given: call `await pool.destroy()` (or `await using pool = createPool()`) when done. Idle
 * threads do not keep the process alive.
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
  const maxThreads = o.maxThreads === undefined ? availableParallelism() : checkInteger('maxThreads', o.maxThreads, 1)
  return startPool(maxThreads, checkWorkerData(o.workerData))
}
