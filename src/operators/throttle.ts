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

/** Items that go out within this many ms of an entry's first share the entry (see {@link HandedAt}). */
const GRAIN = 0.1

/**
 * When the items still in the window went out (`performance.now()` ms), oldest first, as entries
 * of a time and how many items went out then: rings of unboxed numbers, which grow as needed
 * (never past `limit` entries). Items that go out within {@link GRAIN} ms share an entry with the
 * time of the last of them: the others count a little longer, never shorter, and a fast stream
 * keeps few entries.
 */
class HandedAt {
  #times: Float64Array = new Float64Array(16)
  #counts: Float64Array = new Float64Array(16)
  #head = 0
  #entries = 0
  /** When the newest entry's first item went out. */
  #newestSince = -Infinity
  /** Items in the log. */
  total = 0

  /** The oldest entry's time; only when `total > 0`. */
  oldest(): number {
    return this.#times[this.#head]!
  }

  /** Drops the oldest entry, and returns its time. */
  shift(): number {
    const head = this.#head
    this.total -= this.#counts[head]!
    this.#head = (head + 1) & (this.#times.length - 1)
    this.#entries--
    return this.#times[head]!
  }

  push(time: number, count: number): void {
    this.total += count
    if (this.#entries > 0 && time - this.#newestSince < GRAIN) {
      const newest = (this.#head + this.#entries - 1) & (this.#times.length - 1)
      this.#times[newest] = time
      this.#counts[newest]! += count
      return
    }
    if (this.#entries === this.#times.length) this.#grow()
    const at = (this.#head + this.#entries) & (this.#times.length - 1)
    this.#times[at] = time
    this.#counts[at] = count
    this.#entries++
    this.#newestSince = time
  }

  #grow(): void {
    const length = this.#times.length
    this.#times = unrolled(this.#times, this.#head)
    this.#counts = unrolled(this.#counts, this.#head)
    this.#head = 0
    this.#entries = length
  }
}

/** A full ring twice as long, unrolled: from `head` to the end, then the part that wrapped around. */
function unrolled(ring: Float64Array, head: number): Float64Array {
  const grown = new Float64Array(ring.length * 2)
  grown.set(ring.subarray(head))
  grown.set(ring.subarray(0, head), ring.length - head)
  return grown
}

/**
 * Most items a throttle hands out before it reads the clock for them: a sixteenth of `limit`
 * (none below a limit of 16, so a small limit is kept exactly), and never more than 32, whose one
 * read costs under 2 ns an item.
 */
function mostUnstamped(limit: number): number {
  return Math.min(32, Math.floor(limit / 16))
}

class ThrottleIterator<T> extends StepIterator<T, T> {
  readonly #limit: number
  readonly #interval: number
  readonly #signal: AbortSignal | undefined
  /**
   * When the last `limit` items (at most) were handed out; those handed out more than an interval
   * ago are dropped whenever the clock is read, so a limit that never binds keeps little.
   */
  readonly #handedAt = new HandedAt()
  /**
   * Items handed out since the clock was last read, not in the log yet: the next read logs them
   * with its time. Reading the clock costs as much as the rest of a stage, so an item may go out
   * unread while the log and these stay below the limit even if all of them are still in the
   * window; the read later counts them a little longer, never shorter. At most
   * {@link #mostUnstamped} wait for a read, so at most that many items that went out before a
   * window can still count in it.
   */
  #unstamped = 0
  /** At most this many items go out unread (see {@link mostUnstamped}). */
  readonly #mostUnstamped: number
  /** Aborted when the iteration ends, to end a wait at once. */
  readonly #stopped = new AbortController()

  constructor(source: Source<T>, limit: number, interval: number, signal: AbortSignal | undefined) {
    super(source)
    this.#limit = limit
    this.#interval = interval
    this.#signal = signal
    this.#mostUnstamped = mostUnstamped(limit)
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
    const unstamped = this.#unstamped
    // Below the limit even if every item in the log is still in the window: out now, its time read
    // with a later item's.
    if (unstamped < this.#mostUnstamped && handedAt.total + unstamped < this.#limit) {
      this.#unstamped = unstamped + 1
      return result
    }
    const now = performance.now()
    if (unstamped > 0) handedAt.push(now, unstamped)
    this.#unstamped = 0
    // An item handed out a whole interval ago no longer counts: only the window's are kept.
    while (handedAt.total > 0 && handedAt.oldest() <= now - this.#interval) handedAt.shift()
    if (handedAt.total >= this.#limit) return this.#waitForSlot(result)
    handedAt.push(now, 1)
    return result
  }

  async #waitForSlot(result: IteratorResult<T>): Promise<IteratorResult<T>> {
    const handedAt = this.#handedAt
    // The slots of the oldest of the last `limit` items free up `interval` ms after they went out.
    // Timers may fire a little early against performance.now(), so wait until it really has
    // (in whole milliseconds, the timers' own grain).
    const free = handedAt.shift() + this.#interval
    for (let wait = free - performance.now(); wait > 0; wait = free - performance.now()) {
      await delay(this.#stopped.signal, Math.ceil(wait))
    }
    handedAt.push(performance.now(), 1)
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
 * With a `limit` of 16 or more, the clock is read only every few items while the limit is far
 * from binding (at most `min(32, ⌊limit / 16⌋)` items go out between two reads; a read costs as
 * much as the rest of the stage): the items handed out since the last read count from the next,
 * a little longer than they had to, never shorter, so no window ever holds more than `limit`. The
 * price is that for up to one interval after such a read, those items (at most a sixteenth of
 * `limit`) may still hold slots they had left: an item is held back only while at least
 * `limit - min(32, ⌊limit / 16⌋)` items went out in the last `interval` ms. Below 16, every
 * item's time is read when it goes out.
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
