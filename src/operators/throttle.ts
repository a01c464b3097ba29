/// <reference lib="esnext.disposable" preserve="true" />
// Declares AsyncDisposable for consumers whose lib setting lacks it.
import { delay } from 'abort-controller-x'
import { checkDuration, checkInteger, checkOptions, checkSignal, checkSource } from '../errors.js'
import { StepIterator, type Step } from '../internal/step-iterator.js'
import type { Source } from '../types.js'

/** Options of {@link throttle}. */
export interface ThrottleOptions {
  /** Most items handed out in any window of `interval` ms. Integer >= 1. */
  readonly limit: number
  /** The window, in ms. Finite number > 0. */
  readonly interval: number
  /** Ends a wait at once: the pending `next()` rejects with `signal.reason` and the source is closed. */
  readonly signal?: AbortSignal
}

/**
 * When each item still in the window went out (`performance.now()` ms), oldest first: a ring of
 * unboxed numbers, which grows as needed (never past `limit` entries).
 */
class HandedAt {
  #times = new Float64Array(16)
  #head = 0
  length = 0

  /** The oldest time; only when `length > 0`. */
  oldest(): number {
    return this.#times[this.#head]!
  }

  shift(): number {
    const time = this.#times[this.#head]!
    this.#head = (this.#head + 1) & (this.#times.length - 1)
    this.length--
    return time
  }

  push(time: number): void {
    if (this.length === this.#times.length) this.#grow()
    const times = this.#times
    times[(this.#head + this.length) & (times.length - 1)] = time
    this.length++
  }

  #grow(): void {
    const old = this.#times
    const times = new Float64Array(old.length * 2)
    // The ring unrolled: from the head to the end, then the part that wrapped around.
    times.set(old.subarray(this.#head))
    times.set(old.subarray(0, this.#head), old.length - this.#head)
    this.#times = times
    this.#head = 0
  }
}

class ThrottleIterator<T> extends StepIterator<T, T> {
  readonly #limit: number
  readonly #interval: number
  readonly #signal: AbortSignal | undefined
  /**
   * When each of the last `limit` items was handed out (`performance.now()`), oldest first; those
   * handed out more than an interval ago are dropped, so a limit that never binds keeps little.
   */
  readonly #handedAt = new HandedAt()
  /** Aborted when the iteration ends, to end a wait at once. */
  readonly #stopped = new AbortController()

  constructor(source: Source<T>, limit: number, interval: number, signal: AbortSignal | undefined) {
    super(source)
    this.#limit = limit
    this.#interval = interval
    this.#signal = signal
  }

  protected override start(): void {
    const signal = this.#signal
    if (signal === undefined) return
    if (signal.aborted) this.fail(signal.reason)
    else signal.addEventListener('abort', this.#onAbort, { once: true })
  }

  protected override stop(): void {
    this.#signal?.removeEventListener('abort', this.#onAbort)
    this.#stopped.abort()
  }

  readonly #onAbort = (): void => {
    this.fail(this.#signal!.reason)
  }

  protected override step(): Step<T> {
    // Pulling before waiting lets the end of the source go out at once, not a slot later.
    return this.pullThen(this.#admit)
  }

  readonly #admit = (result: IteratorResult<T>): Step<T> => {
    if (result.done) return result
    const handedAt = this.#handedAt
    const now = performance.now()
    // An item handed out a whole interval ago no longer counts: only the window's are kept.
    while (handedAt.length > 0 && handedAt.oldest() <= now - this.#interval) handedAt.shift()
    if (handedAt.length === this.#limit) return this.#waitForSlot(result)
    handedAt.push(now)
    return result
  }

  async #waitForSlot(result: IteratorResult<T>): Promise<IteratorResult<T>> {
    const handedAt = this.#handedAt
    // The slot of the oldest of the last `limit` items frees up `interval` ms after it went out.
    // Timers may fire a little early against performance.now(), so wait until it really has
    // (in whole milliseconds, the timers' own grain).
    const free = handedAt.shift() + this.#interval
    for (let wait = free - performance.now(); wait > 0; wait = free - performance.now()) {
      await delay(this.#stopped.signal, Math.ceil(wait))
    }
    handedAt.push(performance.now())
    return result
  }
}

/**
 * Rate limit: hands out at most `limit` items in any window of `interval` ms, delaying the others.
 * Unlike the `throttle` of RxJS and IxJS, which drops the items that come too soon, this one never
 * drops an item. It pulls one item at a time, only when a `next()` asks for it, and holds that
 * item until a slot is free; the end of the source goes out at once. Work started from the items
 * (a {@link parallelMap} after it) keeps the rate exactly; a lazy source that does the work
 * itself is asked for each item right after the one before went out.
 *
 * @param options - `limit` (integer >= 1), `interval` (ms, finite > 0), `signal` (optional).
 * @throws TypeError or RangeError for invalid options, when `throttle` is called; TypeError when
 *   the operator is applied to a non-source. Iterating rejects with `signal.reason` once `signal`
 *   aborts (at once, even during a wait) and the source is then closed.
 * @example
 * ```ts
 * // At most 10 requests per second, 4 at a time.
 * const statuses = pipe(urls, throttle({ limit: 10, interval: 1_000 }), parallelMap(fetchStatus, { concurrency: 4 }))
 * ```
 */
export function throttle(options: ThrottleOptions): <T>(source: Source<T>) => AsyncIterableIterator<T> & AsyncDisposable {
  const o = checkOptions<ThrottleOptions>('options', options, { limit: true, interval: true, signal: true })
  const limit = checkInteger('limit', o.limit, 1)
  const interval = checkDuration('interval', o.interval)
  const signal = o.signal === undefined ? undefined : checkSignal('signal', o.signal)
  return <T>(source: Source<T>) => {
    checkSource(source)
    return new ThrottleIterator(source, limit, interval, signal)
  }
}
