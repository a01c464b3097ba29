/// <reference lib="esnext.disposable" preserve="true" />
// Declares AsyncDisposable for consumers whose lib setting lacks it.
import { checkDuration, checkInteger, checkOptions, checkSource } from '../errors.js'
import { LATER, StepIterator, type Step } from '../internal/step-iterator.js'
import { DONE } from '../internal/outbox.js'
import type { Source } from '../types.js'

/** Options of {@link batch}. */
export interface BatchOptions {
  /**
   * Most ms a partial batch waits for more items, counted from when its first item came in;
   * then it goes out as it is, even while the source is stalled. Finite number > 0. Default: no limit.
   */
  readonly maxWait?: number
}

class BatchIterator<T> extends StepIterator<T, T[]> {
  readonly #size: number
  readonly #maxWait: number | undefined
  /** The batch being filled; with `maxWait`, an item that came after its batch went out starts the next. */
  #items: T[] = []
  /** A step is waiting for this batch. */
  #asked = false
  /** A pull is under way: with `maxWait`, one may outlive the batch that asked for it. */
  #pulling = false
  /** The batch's first item has waited `maxWait`: it goes out when next asked. */
  #expired = false
  /** An error of the source that came after items of a batch: thrown once they are out. */
  #failure: { error: unknown } | undefined
  #timer: ReturnType<typeof setTimeout> | undefined

  constructor(source: Source<T>, size: number, maxWait: number | undefined) {
    // A partial batch goes out at maxWait from a timer, answering the call waiting for it.
    super(source, maxWait !== undefined)
    this.#size = size
    this.#maxWait = maxWait
  }

  protected override stop(): void {
    clearTimeout(this.#timer)
  }

  protected override step(): Step<T[]> {
    if (this.#items.length > 0 && (this.#expired || this.#failure)) return this.#flush()
    if (this.#failure) throw this.#failure.error
    this.#asked = true
    return this.#pulling ? LATER : this.#pull()
  }

  #pull(): Step<T[]> {
    this.#pulling = true
    return this.pullThen(this.#collect, this.#caught)
  }

  readonly #collect = (result: IteratorResult<T>): Step<T[]> => {
    this.#pulling = false
    if (result.done) return this.#asked ? this.#flush() : LATER
    if (this.#items.push(result.value) === 1 && this.#maxWait !== undefined) {
      this.#timer = setTimeout(this.#expire, this.#maxWait)
    }
    if (!this.#asked) return LATER
    return this.#items.length < this.#size ? this.#pull() : this.#flush()
  }

  readonly #caught = (error: unknown): Step<T[]> => {
    this.#pulling = false
    // Like a loop that got this far, the items pulled before the error go out first.
    if (this.#items.length === 0 && this.#asked) throw error
    this.#failure = { error }
    return this.#asked ? this.#flush() : LATER
  }

  /** `maxWait` is over: the batch goes out now, while its pull (if any) carries on for the next. */
  readonly #expire = (): void => {
    this.#timer = undefined
    this.#expired = true
    if (this.#asked) this.answer(this.#flush())
  }

  #flush(): IteratorResult<T[]> {
    clearTimeout(this.#timer)
    const items = this.#items
    this.#items = []
    this.#asked = this.#expired = false
    return items.length > 0 ? { done: false, value: items } : DONE
  }
}

/**
 * Groups items into arrays of `size`; the last one holds what is left. With `maxWait`, a partial
 * batch goes out once its first item has waited `maxWait` ms, even while the source is stalled
 * (the pull in flight then carries over to the next batch; the source's `next()` is never called
 * twice at once). Invoke-Parallel's `-SliceSize`: put it before {@link parallelMap} to hand
 * each call a slice. An error of the source comes after the partial batch it interrupted.
 *
 * @param size - items per batch, integer >= 1.
 * @param options - {@link BatchOptions}.
 * @throws TypeError or RangeError for invalid arguments, when `batch` is called; TypeError when
 *   the operator is applied to a non-source.
 * @example
 * ```ts
 * // Insert rows 100 at a time, and at least every second while rows trickle in.
 * await pipe(rows, batch(100, { maxWait: 1_000 }), parallelMap(insertRows, { concurrency: 2 }), drain)
 * ```
 */
export function batch(size: number, options?: BatchOptions): <T>(source: Source<T>) => AsyncIterableIterator<T[]> & AsyncDisposable {
  checkInteger('size', size, 1)
  const o = checkOptions<BatchOptions>('options', options, { maxWait: true })
  const maxWait = o.maxWait === undefined ? undefined : checkDuration('maxWait', o.maxWait)
  return <T>(source: Source<T>) => {
    checkSource(source)
    return new BatchIterator(source, size, maxWait)
  }
}
