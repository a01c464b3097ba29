import { checkInteger } from '../errors.js'
import type { AttemptSample, Gate } from '../scheduler/seams.js'

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

/**
 * One run's view of a {@link SharedLimiter}: it asks `mayStart()` before every call, reports
 * `started()` and `ended()`, and is woken through the function it `attach`es when room appears
 * after a `mayStart()` said no. A run that ends `detach`es, and is forgotten.
 */
export class LimiterGate implements Gate {
  readonly #limiter: SharedLimiter
  #wake: (() => void) | undefined
  /** Each attempt's outcome, for an adaptive limiter; `undefined` for one that does not learn. */
  readonly observe: ((sample: AttemptSample) => void) | undefined

  constructor(limiter: SharedLimiter, observe?: (sample: AttemptSample) => void) {
    this.#limiter = limiter
    this.observe = observe
  }

  /** The limit in force now. */
  get limit(): number {
    return this.#limiter.limit
  }

  /** Whether one more call of this run may start now; if not, the run is woken when it may. */
  mayStart(): boolean {
    return this.#limiter.mayStart(this)
  }

  /** A call of this run has started: it holds a slot until {@link ended}. */
  started(): void {
    this.#limiter.started()
  }

  /** A call of this run has ended: its slot is free. */
  ended(): void {
    this.#limiter.ended()
  }

  /** @param wake - starts what the run may start; called when room appears for it. */
  attach(wake: () => void): void {
    this.#wake = wake
  }

  /** The run has ended: it waits for no room any more. */
  detach(): void {
    this.#wake = undefined
    this.#limiter.forget(this)
  }

  /** Room has appeared for this run. */
  wake(): void {
    this.#wake?.()
  }
}

/**
 * The one implementation behind every {@link Limiter}. Each run that uses it gets a
 * {@link LimiterGate}. A run that asks while there is no room waits in line and is woken when room
 * appears; room goes to the waiting runs one slot each, in turn, so that two pipelines sharing a
 * limit share it evenly instead of the first one taking every free slot.
 */
export class SharedLimiter extends EventTarget implements Limiter {
  #limit: number
  #running = 0
  #paused = false
  /** Runs waiting for room, oldest first. Few runs share a limiter: an array is enough. */
  readonly #waiters: LimiterGate[] = []
  /** The run being woken: it may take one slot even though others wait. */
  #woken: LimiterGate | undefined
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

  /** A new run's view of this limiter. */
  gate(): LimiterGate {
    return new LimiterGate(this)
  }

  /**
   * Whether `gate`'s run may start a call now: there is room and no other run waits ahead of it.
   * If not, the run waits in line (once) to be woken.
   */
  mayStart(gate: LimiterGate): boolean {
    if (this.#running < this.#limit && !this.#paused && (this.#waiters.length === 0 || this.#woken === gate)) return true
    if (!this.#waiters.includes(gate)) this.#waiters.push(gate)
    return false
  }

  started(): void {
    this.#woken = undefined
    this.#running++
  }

  /** A call has ended: its slot is free, and a waiting run is woken if that made room. */
  ended(): void {
    this.#running--
    if (this.#waiters.length > 0) this.#wake()
  }

  /** `gate`'s run waits for no room any more. */
  forget(gate: LimiterGate): void {
    const at = this.#waiters.indexOf(gate)
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
   * Offers each free slot to the run that has waited longest; a run that takes it and wants more
   * waits again behind the others. A call that ends inside a woken run (at once) only adds room
   * to this same loop.
   */
  #wake(): void {
    if (this.#waking) return
    this.#waking = true
    try {
      while (this.#running < this.#limit && !this.#paused && this.#waiters.length > 0) {
        const gate = this.#waiters.shift()!
        this.#woken = gate
        gate.wake()
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
