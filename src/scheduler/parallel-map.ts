import { checkFunction, checkOptions, checkSource } from '../errors.js'
import type { Limiter } from '../limits/limiter.js'
import type { Mapper, Operator, ParallelMapOptions, Settled, Source, TaskContext } from '../types.js'
import { ParallelIterator } from './run.js'
import { configure } from './options.js'

/**
 * Runs `fn` over every item of the source, at most `concurrency` calls at a time, and yields the
 * results in input order (or as they complete, with `ordered: false`). PowerShell's
 * `ForEach-Object -Parallel { … } -ThrottleLimit N`.
 *
 * @param fn - called as `fn(item, { signal, index, attempt, report })`; may return a value or a promise.
 * @param options - see {@link ParallelMapOptions}; validated here, so bad options throw at once.
 * @returns an {@link Operator}: apply it to a source, or pass it to {@link pipe}.
 * @throws TypeError or RangeError for invalid arguments, naming the option and the value received.
 *
 * @example
 * ```ts
 * for await (const status of parallelMap(fetchStatus, { concurrency: 10, timeout: 5_000 })(urls)) {
 *   console.log(status)
 * }
 * ```
 */
export function parallelMap<T, R>(fn: Mapper<T, R>, options?: ParallelMapOptions<T>): Operator<T | PromiseLike<T>, Awaited<R>> {
  checkFunction('fn', fn)
  const config = configure(options, false)
  return (source) => {
    checkSource(source)
    return new ParallelIterator<T, Awaited<R>>(fn, config, source as Source<T>)
  }
}

/**
 * Like {@link parallelMap}, but never throws for an item's failure: yields one {@link Settled}
 * record per item, `{ status: 'fulfilled', value, … }` or `{ status: 'rejected', reason, … }`.
 * Source errors and the `signal` still end the run. Same options (`onError` has no effect).
 */
export function parallelMapSettled<T, R>(
  fn: Mapper<T, R>,
  options?: ParallelMapOptions<T>,
): Operator<T | PromiseLike<T>, Settled<T, Awaited<R>>> {
  checkFunction('fn', fn)
  const config = configure(options, true)
  return (source) => {
    checkSource(source)
    return new ParallelIterator<T, Settled<T, Awaited<R>>>(fn, config, source as Source<T>)
  }
}

/** Options of {@link parallel}: it-parallel's, with its defaults. */
export interface ParallelOptions {
  /**
   * Most tasks running at once: an integer >= 1 or `Infinity`, a {@link Limiter}, or `'auto'`
   * (see `parallelMap`). Default `Infinity`.
   */
  readonly concurrency?: number | 'auto' | Limiter
  /** `true`: results in input order. Default `false` (completion order). */
  readonly ordered?: boolean
}

/** A task for {@link parallel}: it-parallel's `() => Promise<T>`, which may also use the context. */
export type ParallelTask<T> = (context: TaskContext) => T | PromiseLike<T>

function runTask<T>(task: ParallelTask<T>, context: TaskContext): T | PromiseLike<T> {
  return task(context)
}

/**
 * Drop-in for it-parallel: runs an iterable of task functions, at most `concurrency` at a time,
 * with every guarantee of {@link parallelMap} (each task receives a {@link TaskContext}, so it can
 * stop when its `signal` aborts).
 *
 * @example
 * ```ts
 * const results = await collect(parallel(urls.map((url) => () => fetch(url)), { concurrency: 4 }))
 * ```
 */
export function parallel<T>(
  tasks: Source<ParallelTask<T>>,
  options?: ParallelOptions,
): AsyncIterableIterator<Awaited<T>> {
  const o = checkOptions<ParallelOptions>('options', options, { concurrency: true, ordered: true })
  return parallelMap<ParallelTask<T>, T>(runTask, {
    concurrency: o.concurrency === undefined ? Infinity : o.concurrency,
    ordered: o.ordered === undefined ? false : o.ordered,
  })(tasks)
}
