import { checkInteger } from '../errors.js'

/**
 * A concurrency limit that can change while runs go on, be paused, and be shared: every operator
 * given the same `Limiter` as its `concurrency` counts against it, so that the sum of their running
 * calls stays at or below `limit` ("at most 50 requests from this process"). Made by
 * {@link concurrencyLimit} (set by you) or {@link adaptiveConcurrency} (found at run time).
 *
 * It is an `EventTarget`: a `change` event fires whenever `limit` changes, whoever changed it.
 *
 * @example
 * ```ts
 * const api = concurrencyLimit(10)
 * api.addEventListener('change', () => console.log(`now ${api.limit} at a time`))
 * const users = pipe(userIds, parallelMap(fetchUser, { concurrency: api }))
 * const orders = pipe(orderIds, parallelMap(fetchOrder, { concurrency: api }))
 * api.limit = 4 // both pipelines together: at most 4 calls from now on
 * ```
 */
export interface Limiter extends EventTarget {
  /**
   * Most calls running at once, summed over every operator that shares this limiter. Setting it
   * takes effect at once: raising it starts waiting items, lowering it lets running calls finish
   * and starts nothing until fewer than `limit` run. An integer >= 1 or `Infinity` (for an
   * adaptive limiter, an integer within its `[min, max]`).
   */
  limit: number
  /** Calls running under this limiter right now, over every operator that shares it. */
  readonly running: number
  /** Whether {@link Limiter.pause} holds new calls back. */
  readonly paused: boolean
  /** Starts nothing new until {@link Limiter.resume} (running calls go on). Pausing twice is fine. */
  pause(): void
  /** Lets calls start again, as many as `limit` allows. */
  resume(): void
}

/** A run that waits for room under a limiter it shares with others. */
export interface SlotWaiter {
  /** Called when the limiter has room this waiter may take, through {@link SharedLimiter.acquire}. */
  slotFree(): void
}

/**
 * The one implementation behind every {@link Limiter}. Runs take a slot with `acquire` before they
 * start a call and give it back with `release`; a run that finds no room is queued and woken by
 * `slotFree()` when room appears. Room goes to queued runs one slot each, in turn, so that two
 * pipelines sharing a limit share it evenly instead of the first one taking every free slot.
 */
export class SharedLimiter extends EventTarget implements Limiter {
  #limit: number
  #running = 0
  #paused = false
  /** Runs waiting for room, oldest first. Few runs share a limiter: an array is enough. */
  readonly #waiters: SlotWaiter[] = []
  /** The run being woken: it may take one slot even though others are queued. */
  #woken: SlotWaiter | undefined
  #waking = false

  constructor(limit: number) {
    super()
    this.#limit = limit
  }

  get limit(): number {
    return this.#limit
  }

  set limit(value: number) {
    this.setLimit(checkInteger('limit', value, 1, true))
  }

  get running(): number {
    return this.#running
  }

  get paused(): boolean {
    return this.#paused
  }

  pause(): void {
    this.#paused = true
  }

  resume(): void {
    if (!this.#paused) return
    this.#paused = false
    this.#wake()
  }

  /**
   * Takes a slot for one call if there is room and no other run is waiting ahead of `waiter`;
   * otherwise queues `waiter` (once) to be woken when room appears, and returns `false`.
   */
  acquire(waiter: SlotWaiter): boolean {
    if (this.#running < this.#limit && !this.#paused && (this.#waiters.length === 0 || this.#woken === waiter)) {
      this.#woken = undefined
      this.#running++
      return true
    }
    if (!this.#waiters.includes(waiter)) this.#waiters.push(waiter)
    return false
  }

  /** Gives back the slot of a call that has ended, and wakes a waiting run if that made room. */
  release(): void {
    this.#running--
    if (this.#waiters.length > 0) this.#wake()
  }

  /** Takes `waiter` out of the queue: a run that ends wants no more room. */
  cancel(waiter: SlotWaiter): void {
    const at = this.#waiters.indexOf(waiter)
    if (at !== -1) this.#waiters.splice(at, 1)
  }

  /** Sets an already checked limit: fires `change` and, if it rose, wakes waiting runs. */
  protected setLimit(limit: number): void {
    if (limit === this.#limit) return
    this.#limit = limit
    this.dispatchEvent(new Event('change'))
    this.#wake()
  }

  /**
   * Offers each free slot to the oldest waiting run; a run that takes it and wants more queues
   * again behind the others. A release inside a woken run's call (a call that ends at once) only
   * adds room to this same loop.
   */
  #wake(): void {
    if (this.#waking) return
    this.#waking = true
    try {
      while (this.#running < this.#limit && !this.#paused && this.#waiters.length > 0) {
        const waiter = this.#waiters.shift()!
        this.#woken = waiter
        waiter.slotFree()
      }
    } finally {
      this.#woken = undefined
      this.#waking = false
    }
  }
}

/**
 * A {@link Limiter} you steer: `limit` can be set while runs go on, `pause()` and `resume()` hold
 * new calls back, and operators that share it share the limit.
 *
 * @param limit - an integer >= 1, or `Infinity`.
 * @throws TypeError or RangeError for anything else, naming the value.
 *
 * @example
 * ```ts
 * const limiter = concurrencyLimit(8)
 * const results = pipe(urls, parallelMap(fetchPage, { concurrency: limiter }), collect)
 * limiter.limit = 2   // the server is struggling: fewer at once
 * limiter.pause()     // a 429: start nothing new…
 * setTimeout(() => limiter.resume(), 30_000) // …for 30 seconds
 * ```
 */
export function concurrencyLimit(limit: number): Limiter {
  return new SharedLimiter(checkInteger('limit', limit, 1, true))
}
