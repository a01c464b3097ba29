import { statSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Piscina } from 'piscina'
import { checkInteger, checkOptions, describe } from '../errors.js'
import { configure, PARALLEL_MAP_OPTIONS, parallelMap } from '../parallel-map.js'
import type { Operator, ParallelMapOptions } from '../types.js'
import { fromRecord } from './cloned-error.js'
import { checkWorkerData, startPool, type WorkerPool } from './pool.js'
import type { WorkerTask } from './worker.js'

/** Options of {@link workerMap}: those of `parallelMap`, and where and how the module runs. */
export interface WorkerMapOptions extends ParallelMapOptions {
  /**
   * Most tasks running at once, and the size of the run's own pool. Integer >= 1 or `Infinity`
   * (then the pool has `os.availableParallelism()` threads and the rest wait in its queue).
   * Default `os.availableParallelism()`.
   */
  readonly concurrency?: number
  /** The export of the module to call. Default `'default'`. */
  readonly exportName?: string
  /**
   * Cloned to every thread of the run's pool once, as `context.workerData` (the `$using:` of
   * runspaces). Not with `pool`: give it to {@link createPool} instead.
   */
  readonly workerData?: unknown
  /** A pool from {@link createPool} to run on instead of a pool of the run's own; not destroyed at the end. */
  readonly pool?: WorkerPool
}

/** `module` as a `file:` URL of an existing file: a URL, a `file:` URL string or a path. */
export function resolveModule(module: unknown): string {
  let url: URL
  if (module instanceof URL) url = module
  else if (typeof module === 'string' && module !== '') {
    url = module.startsWith('file:') ? new URL(module) : pathToFileURL(resolve(module))
  } else {
    throw new TypeError(`Expected module to be a path or a file: URL, got ${describe(module)}`)
  }
  if (url.protocol !== 'file:') throw new TypeError(`Expected module to be a path or a file: URL, got ${url.href}`)
  const path = fileURLToPath(url)
  if (!statSync(path, { throwIfNoEntry: false })?.isFile()) {
    throw Object.assign(new Error(`Cannot find worker module ${path}`), { code: 'ERR_MODULE_NOT_FOUND' })
  }
  return url.href
}

/** Runs one item on `pool`; its `signal` aborting terminates the thread, which piscina replaces. */
export async function runOn(pool: WorkerPool, task: WorkerTask, signal: AbortSignal): Promise<unknown> {
  try {
    return await pool.run(task, { signal })
  } catch (error) {
    if (error instanceof DOMException && error.name === 'DataCloneError') {
      throw new TypeError(`Item ${task.index} could not be cloned to a worker thread: ${error.message}`, {
        cause: error,
      })
    }
    throw fromRecord(error)
  }
}

/**
 * A run with a pool of its own: passes the scheduler's iterator through and destroys the pool (if
 * the first item created it) when the iteration ends: on completion, on an error, on `return()`.
 */
class PoolRun<R> implements AsyncIterableIterator<R> {
  readonly #threads: number
  readonly #workerData: unknown
  readonly #signal: AbortSignal | undefined
  #iterator: AsyncIterator<R> | undefined
  #pool: WorkerPool | undefined
  #destroyed: Promise<void> | undefined

  constructor(threads: number, workerData: unknown, signal: AbortSignal | undefined) {
    this.#threads = threads
    this.#workerData = workerData
    this.#signal = signal
  }

  /** The pool, started by the run's first item. */
  get pool(): WorkerPool {
    return (this.#pool ??= startPool(this.#threads, this.#workerData))
  }

  start(iterator: AsyncIterator<R>): this {
    this.#iterator = iterator
    return this
  }

  [Symbol.asyncIterator](): this {
    return this
  }

  next(): Promise<IteratorResult<R>> {
    return this.#iterator!.next().then(
      (result) => (result.done ? this.#destroy().then(() => result) : result),
      (error: unknown) => {
        const destroyed = this.#destroy()
        // An abort of the run's signal rejects at once, as parallelMap's does; the threads go meanwhile.
        if (this.#signal?.aborted) throw error
        return destroyed.then(() => {
          throw error
        })
      },
    )
  }

  async return(value?: unknown): Promise<IteratorResult<R>> {
    const result = await this.#iterator!.return!(value)
    await this.#destroy()
    return result
  }

  /** Terminates the pool's threads once; resolves when they have exited. */
  #destroy(): Promise<void> {
    return (this.#destroyed ??= this.#pool === undefined ? Promise.resolve() : this.#pool.destroy())
  }
}

/**
 * `parallelMap` on worker threads (PowerShell's runspaces and `Start-ThreadJob`), for CPU-bound
 * work: each item goes to a thread of a piscina pool, where the default export (or `exportName`) of
 * `module` is called as `fn(item, { index, attempt, workerData })`. Items and results are
 * structured-cloned; an error keeps its built-in class, `name`, `message`, `stack`, primitive
 * fields (`code`) and `cause`. Every `parallelMap` option and guarantee applies; a task whose per-item
 * `timeout` expires, or whose run is aborted, is stopped by terminating its thread, even in a busy
 * loop, and the pool replaces the thread.
 *
 * Each run (each application of the operator) starts its own pool at its first item and destroys it
 * when the iteration ends, unless `pool` is given.
 *
 * @param module - a URL, a `file:` URL string or a path (a relative path resolves against
 *   `process.cwd()`) of a module whose export takes `(item, context)`. It may be TypeScript when the
 *   process runs under a TypeScript loader that worker threads inherit, such as tsx.
 * @param options - see {@link WorkerMapOptions}; validated here, so bad options throw at once.
 * @throws TypeError or RangeError for invalid options; TypeError when `workerData` cannot be cloned;
 *   an `Error` with code `ERR_MODULE_NOT_FOUND` when `module` is not a file. A missing export fails
 *   the items with a TypeError that names it; so does an item or result that cannot be cloned.
 * @example
 * ```ts
 * // primes.js: export default function countPrimes([from, to]) { … }
 * for await (const count of workerMap('./primes.js', { timeout: 10_000 })(ranges)) console.log(count)
 * ```
 */
export function workerMap<T = unknown, R = unknown>(module: string | URL, options?: WorkerMapOptions): Operator<T, R> {
  const href = resolveModule(module)
  const { exportName = 'default', workerData, pool, ...rest } = checkOptions<WorkerMapOptions>('options', options, {
    ...PARALLEL_MAP_OPTIONS,
    exportName: true,
    workerData: true,
    pool: true,
  })
  if (typeof exportName !== 'string' || exportName === '') {
    throw new TypeError(`Expected exportName to be a non-empty string, got ${describe(exportName)}`)
  }
  if (pool !== undefined && !(pool instanceof Piscina)) {
    throw new TypeError(`Expected pool to be a pool from createPool(), got ${describe(pool)}`)
  }
  if (pool !== undefined && workerData !== undefined) {
    throw new TypeError('Expected workerData to be given to createPool() when a pool is given, not to workerMap()')
  }
  checkWorkerData(workerData)
  const concurrency =
    rest.concurrency === undefined ? availableParallelism() : checkInteger('concurrency', rest.concurrency, 1, true)
  const schedulerOptions = { ...rest, concurrency }
  const schedule = (holder: { readonly pool: WorkerPool }): Operator<T, R> =>
    parallelMap<T, R>((item, { index, attempt, signal }) => {
      const task: WorkerTask = { module: href, exportName, item, index, attempt }
      return runOn(holder.pool, task, signal) as Promise<R>
    }, schedulerOptions)
  if (pool !== undefined) return schedule({ pool })

  const threads = Number.isFinite(concurrency) ? concurrency : availableParallelism()
  const newRun = (): PoolRun<R> => new PoolRun<R>(threads, workerData, rest.signal)
  // Checked now, so that bad options throw here rather than when the operator is applied; each run
  // then gets a scheduler bound to its own pool (a run that is never iterated starts no pool).
  configure(schedulerOptions, false)
  return (source) => {
    const run = newRun()
    return run.start(schedule(run)(source))
  }
}
