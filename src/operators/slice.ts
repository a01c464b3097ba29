/// <reference lib="esnext.disposable" preserve="true" />
// Declares AsyncDisposable for consumers whose lib setting lacks it.
import { checkInteger, checkSource } from '../errors.js'
import { StepIterator, type Step } from '../internal/step-iterator.js'
import { DONE } from '../internal/outbox.js'
import type { Source } from '../types.js'

class SliceIterator<T> extends StepIterator<T, T> {
  readonly #start: number
  /** Where to stop: 0 when nothing is wanted (`slice(n, n)`), which skips nothing either. */
  readonly #end: number
  /** Items pulled so far: the index of the next one. */
  #index = 0

  constructor(source: Source<T>, start: number, end: number) {
    super(source)
    this.#start = start
    this.#end = end === start ? 0 : end
  }

  protected override step(): Step<T> {
    if (this.#index >= this.#end) {
      this.closeSource()
      return DONE
    }
    return this.pullThen(this.#counted)
  }

  readonly #counted = (result: IteratorResult<T>): Step<T> => {
    if (result.done) return result
    if (this.#index++ < this.#start) return this.step()
    // The last wanted item is out: close the source now rather than at the next pull.
    if (this.#index >= this.#end) this.closeSource()
    return result
  }
}

function sliceOf(start: number, end: number): <T>(source: Source<T>) => AsyncIterableIterator<T> & AsyncDisposable {
  return <T>(source: Source<T>) => {
    checkSource(source)
    return new SliceIterator(source, start, end)
  }
}

/**
 * The items from index `start` up to, not including, `end`, like `Array.prototype.slice` on
 * non-negative indexes. The items before `start` are pulled and discarded; once the item before
 * `end` is out, the source is closed (its `return()` is called) and nothing more is pulled.
 *
 * @param start - integer >= 0.
 * @param end - integer >= `start`, or `Infinity` (the default).
 * @throws TypeError for a non-number, RangeError for a negative, fractional or `NaN` index or for
 *   `end < start`, when `slice` is called; TypeError when the operator is applied to a non-source.
 * @example
 * ```ts
 * const page = await pipe(rows, slice(20, 30), collect)
 * ```
 */
export function slice(start: number, end: number = Infinity): <T>(source: Source<T>) => AsyncIterableIterator<T> & AsyncDisposable {
  checkInteger('start', start, 0)
  checkInteger('end', end, 0, true)
  if (end < start) {
    throw new RangeError(`Expected end to be an integer >= start (${start}) or Infinity, got ${end}`)
  }
  return sliceOf(start, end)
}

/**
 * The first `n` items. The source is closed as soon as the `n`th item is out, so an upstream
 * {@link parallelMap} aborts its in-flight work; the item after it is never pulled. `take(0)`
 * pulls nothing, and closes the source at the first `next()`.
 *
 * @param n - integer >= 0, or `Infinity`.
 * @throws TypeError or RangeError when `take` is called with anything else; TypeError when the
 *   operator is applied to a non-source.
 * @example
 * ```ts
 * const firstThree = await pipe(urls, parallelMap(fetchStatus), take(3), collect)
 * ```
 */
export function take(n: number): <T>(source: Source<T>) => AsyncIterableIterator<T> & AsyncDisposable {
  checkInteger('n', n, 0, true)
  return sliceOf(0, n)
}

/**
 * Every item after the first `n`, which are pulled and discarded.
 *
 * @param n - integer >= 0.
 * @throws TypeError or RangeError when `drop` is called with anything else; TypeError when the
 *   operator is applied to a non-source.
 * @example
 * ```ts
 * const rows = pipe(lines, drop(1)) // skip the header line
 * ```
 */
export function drop(n: number): <T>(source: Source<T>) => AsyncIterableIterator<T> & AsyncDisposable {
  checkInteger('n', n, 0)
  return sliceOf(n, Infinity)
}
