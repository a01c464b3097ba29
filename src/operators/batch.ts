/// <reference lib="esnext.disposable" preserve="true" />
// Declares AsyncDisposable for consumers whose lib setting lacks it.
import { checkDuration, checkInteger, checkOptions, checkSource } from '../errors.js'
import { StepIterator } from '../internal/step-iterator.js'
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

const EXPIRED = Symbol('expired')

class BatchIterator<T> extends StepIterator<T, T[]> {
  readonly #size: number
  readonly #maxWait: number | undefined
  /** A pull still pending when `maxWait` sent a batch out: the next batch starts with its item. */
  #pending: Promise<IteratorResult<T>> | undefined
  /** An error of the source that came after items of a batch: thrown once they are out. */
  #failure: { error: unknown } | undefined
  #timer: ReturnType<typeof setTimeout> | undefined

  constructor(source: Source<T>, size: number, maxWait: number | undefined) {
    super(source)
    this.#size = size
    this.#maxWait = maxWait
  }

  protected override stop(): void {
    clearTimeout(this.#timer)
  }

  protected override async step(): Promise<IteratorResult<T[]>> {
    if (this.#failure) throw this.#failure.error
    const items: T[] = []
    let expired: Promise<typeof EXPIRED> | undefined
    while (items.length < this.#size) {
      const pull = (this.#pending ??= this.pull())
      let result: IteratorResult<T> | typeof EXPIRED
      try {
        result = await (expired === undefined ? pull : Promise.race([pull, expired]))
      } catch (error) {
        this.#pending = undefined
        if (items.length === 0) throw error
        // Like a loop that got this far, the items pulled before the error go out first.
        this.#failure = { error }
        break
      }
      if (result === EXPIRED) break
      this.#pending = undefined
      if (result.done) break
      items.push(result.value)
      if (items.length === 1 && this.#maxWait !== undefined) {
        expired = new Promise((resolve) => {
          this.#timer = setTimeout(resolve, this.#maxWait, EXPIRED)
        })
      }
    }
    clearTimeout(this.#timer)
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
