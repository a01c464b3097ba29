/// <reference lib="esnext.disposable" preserve="true" />
// Declares AsyncDisposable for consumers whose lib setting lacks it.
import { statSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { checkOptions, describe } from '../errors.js'
import { FORWARD_ABORT, type AbortTarget, type ForwardsAbort } from '../internal/forward-abort.js'
import type { Limiter } from '../limits/limiter.js'
import { configure, PARALLEL_MAP_OPTIONS } from '../scheduler/options.js'
import { parallelMap } from '../scheduler/parallel-map.js'
import type { ParallelMapOptions, Source } from '../types.js'
import { checkThreads, checkWorkerData, MAX_THREADS, Pool, type WorkerPool } from './pool.js'
import type { WorkerTask } from './protocol.js'
import { WorkerRun, type RunPool } from './run.js'

/** Options of {@link workerMap}: those of `parallelMap`, and where and how the module runs. */
export interface WorkerMapOptions extends ParallelMapOptions {
  /**
   * Most tasks running at once, and the most threads of the run's own pool: an integer from 1 to
   * `4 × os.availableParallelism()` (at least 256); `Infinity` (then the pool has
   * `os.availableParallelism()` threads and the other items wait in its queue); or, as in
   * `parallelMap`, a `Limiter` or `'auto'` (then the pool may grow to `4 × os.availableParallelism()`
   * threads, at least 256, each started only when the limit lets one more item run). Default
   * `os.availableParallelism()`, or with `pool` its `maxThreads`.
   */
  readonly concurrency?: number | 'auto' | Limiter
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

/**
 * A string that names a URL scheme (`https:`, `data:`), as opposed to a path. A Windows drive
 * letter (`C:\`) is one letter, and a scheme has at least two.
 */
const URL_SCHEME = /^[a-z][a-z\d+.-]+:/i

/** `module` as a `file:` URL of an existing file: a URL, a `file:` URL string or a path. */
export function resolveModule(module: unknown): string {
  let url: URL
  if (module instanceof URL) url = module
  else if (typeof module === 'string' && module !== '') {
    url = URL_SCHEME.test(module) ? new URL(module) : pathToFileURL(resolve(module))
  } else {
    throw new TypeError(`Expected module to be a path or a file: URL, got ${describe(module)}`)
  }
  if (url.protocol !== 'file:') {
    throw new TypeError(`Expected module to be a path or a file: URL, got ${url.href} (worker threads load local files only)`)
  }
  const path = fileURLToPath(url)
  if (!statSync(path, { throwIfNoEntry: false })?.isFile()) {
    throw Object.assign(new Error(`Cannot find worker module ${path}`), { code: 'ERR_MODULE_NOT_FOUND' })
  }
  return url.href
}

/**
 * The most threads of a run's own pool: as many as may run at once, `os.availableParallelism()` for
 * `Infinity`, and for a limit that may change (a `Limiter`, `'auto'`) the most a pool may have. A
 * pool starts one thread per core at once and the others only as items run on them, so a limit
 * never starts more threads than it lets items run.
 */
function threadsFor(concurrency: number | 'auto' | Limiter): number {
  if (typeof concurrency !== 'number') return MAX_THREADS
  return Number.isFinite(concurrency) ? concurrency : availableParallelism()
}

/** One item for {@link runOn}. */
export interface ItemTask {
  readonly module: string
  readonly exportName: string
  readonly item: unknown
  readonly index: number
  readonly attempt: number
}

/**
 * Runs one item on `pool` outside `workerMap` (the distributed queue server does): `signal`
 * aborting terminates its thread, which the pool replaces; `report`, when given, receives the
 * task's reports, all before its outcome.
 */
export function runOn(pool: Pool, task: ItemTask, signal: AbortSignal, report?: (value: unknown) => void): Promise<unknown> {
  let target: AbortTarget | undefined
  const onAbort = (): void => target?.abort(signal.reason)
  signal.addEventListener('abort', onAbort, { once: true })
  const abortable: ForwardsAbort = {
    [FORWARD_ABORT](forwardTo) {
      target = forwardTo
      if (signal.aborted) forwardTo.abort(signal.reason)
    },
  }
  const { module, exportName, item, index, attempt } = task
  return pool
    .run([item, index, attempt, 0, module, exportName], abortable, undefined, report)
    .finally(() => signal.removeEventListener('abort', onAbort))
}

/**
 * `parallelMap` on worker threads (PowerShell's runspaces and `Start-ThreadJob`), for CPU-bound
 * work: each item goes to a thread of a piscina pool, where the default export (or `exportName`) of
 * `module` is called as `fn(item, { index, attempt, workerData })`. Items and results are
 * structured-cloned; an error keeps its built-in class, `name`, `message`, `stack`, primitive
 * fields (`code`) and `cause`. Every `parallelMap` option and guarantee applies; a task whose per-item
 * `timeout` expires, or whose run is aborted, is stopped by terminating its thread, even in a busy
 * loop, and the pool replaces the thread. The `timeout` counts from the moment the function starts
 * on its thread: neither the wait for a thread nor a thread's start-up counts.
 *
 * Each run (each application of the operator) starts its own pool, one thread per item as the items
 * come (up to `concurrency`), and destroys it when the iteration ends, unless `pool` is given.
 *
 * An error that a thread raises outside a task (a throw in a timer, an unhandled rejection) ends
 * that thread, which is replaced. If an item was running on it, that item fails with the error;
 * otherwise every run on the pool fails with it: its running items are stopped and its next answer
 * is the error (on a shared pool that no run uses at that moment, the next run to start).
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
export function workerMap<T = unknown, R = unknown>(
  module: string | URL,
  options?: WorkerMapOptions,
): (source: Source<T>) => AsyncIterableIterator<R> & AsyncDisposable {
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
  if (pool !== undefined && !(pool instanceof Pool)) {
    throw new TypeError(`Expected pool to be a pool from createPool(), got ${describe(pool)}`)
  }
  if (pool !== undefined && workerData !== undefined) {
    throw new TypeError('Expected workerData to be given to createPool() when a pool is given, not to workerMap()')
  }
  checkWorkerData(workerData)
  // A Limiter or 'auto' is the scheduler's to check; a number also sizes the run's own pool.
  const concurrency =
    rest.concurrency === undefined
      ? (pool?.maxThreads ?? availableParallelism())
      : typeof rest.concurrency === 'number'
        ? checkThreads('concurrency', rest.concurrency, true)
        : rest.concurrency
  // The per-item timeout is the pool's to keep: it counts from the start of the task on its thread,
  // which the scheduler cannot see. Every other option is the scheduler's, checked here at once.
  const { timeout, ...schedulerOptions } = { ...rest, concurrency }
  const onReport = schedulerOptions.onReport
  configure({ ...schedulerOptions, timeout }, false)
  const settings: RunPool =
    pool !== undefined
      ? { shared: pool }
      : {
          threads: threadsFor(concurrency),
          data: { workerData, module: href, exportName },
        }
  return (source) => {
    const run = new WorkerRun<R>(settings, rest.signal)
    const schedule = parallelMap<T, R>((item, context) => {
      const task: WorkerTask =
        pool === undefined
          ? [item, context.index, context.attempt, 0]
          : [item, context.index, context.attempt, 0, href, exportName]
      const report = onReport === undefined ? undefined : context.report
      return run.pool.run(task, context as unknown as ForwardsAbort, timeout, report) as Promise<R>
    }, schedulerOptions)
    return run.start(schedule(source))
  }
}
