import { checkFunction, checkInteger, checkOptions } from '../errors.js'
import type { AttemptSample } from '../scheduler/seams.js'
import { LimiterGate, SharedLimiter, type Limiter } from './limiter.js'
import { VegasController } from './vegas.js'

/** Options of {@link adaptiveConcurrency}. */
export interface AdaptiveConcurrencyOptions {
  /** The lowest limit it may choose. Integer >= 1. Default `1`. */
  readonly min?: number
  /** The highest limit it may choose. Integer >= `min`. Default `256`. */
  readonly max?: number
  /** The limit it starts from. Integer within `[min, max]`. Default `4`, or `min`/`max` if 4 is outside. */
  readonly initial?: number
  /**
   * Tells an overload apart from other failures: `true` for an error that means "too much at once"
   * (an HTTP 429 or 503, say), and the limit drops as for a timeout. Other failures teach nothing.
   * A throw from it fails the item with what it threw.
   */
  readonly isOverload?: (error: unknown) => boolean
}

function isTimeout(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'TimeoutError'
}

/**
 * A {@link Limiter} whose limit a {@link VegasController} sets from the outcome of every attempt
 * the runs that use it report through their gates.
 */
export class AdaptiveLimiter extends SharedLimiter {
  readonly #controller: VegasController
  readonly #isOverload: ((error: unknown) => boolean) | undefined
  readonly #clock: () => number
  readonly #observe = (sample: AttemptSample): void => this.learn(sample)

  /** @param clock - the time in ms, as the samples' (a limit set by hand starts a window then). */
  constructor(controller: VegasController, isOverload?: (error: unknown) => boolean, clock = () => performance.now()) {
    super(controller.limit)
    this.#controller = controller
    this.#isOverload = isOverload
    this.#clock = clock
  }

  override get limit(): number {
    return super.limit
  }

  /** Sets the limit by hand (within `[min, max]`); the controller goes on from there. */
  override set limit(value: number) {
    const { min, max } = this.#controller
    checkInteger('limit', value, min)
    if (value > max) throw new RangeError(`Expected limit to be at most max (${max}), got ${value}`)
    this.#controller.reset(value, this.#clock())
    this.setLimit(value)
  }

  override gate(): LimiterGate {
    return new LimiterGate(this, this.#observe)
  }

  /**
   * One attempt's lesson, reported before its slot is freed. A success is a latency sample; a
   * timeout, or an error `isOverload` accepts, cuts the limit; any other error, and an attempt the
   * run aborted, teach nothing. Throws what `isOverload` throws.
   */
  learn(sample: AttemptSample): void {
    let overload: boolean
    switch (sample.outcome) {
      case 'aborted':
        return
      case 'ok':
        overload = false
        break
      case 'timeout':
        overload = true
        break
      case 'error':
        if (!isTimeout(sample.error) && this.#isOverload?.(sample.error) !== true) return
        overload = true
        break
    }
    const { startedAt, endedAt, consumerWaiting } = sample
    this.setLimit(this.#controller.sample(startedAt, endedAt, this.running, overload, consumerWaiting))
  }
}

/**
 * A {@link Limiter} that finds its limit at run time, as Netflix's concurrency-limits and Envoy's
 * adaptive concurrency filter do: it grows while latency stays near the lowest seen, and shrinks
 * when latency climbs (calls queue in the service) or an attempt times out or fails with an error
 * `isOverload` accepts. It grows only while the calls are what holds the run back, never while
 * finished results wait for the consumer or the source is slow; aborts by the run teach it nothing.
 * `concurrency: 'auto'` is a fresh one with the defaults.
 *
 * @throws TypeError or RangeError for a bad option, naming it and the value.
 *
 * @example
 * ```ts
 * const limiter = adaptiveConcurrency({ max: 64, isOverload: (error) => error instanceof HttpError && error.status === 429 })
 * for await (const page of parallelMap(fetchPage, { concurrency: limiter })(urls)) save(page)
 * console.log(`settled at ${limiter.limit} at a time`)
 * ```
 */
export function adaptiveConcurrency(options?: AdaptiveConcurrencyOptions): Limiter {
  const o = checkOptions<AdaptiveConcurrencyOptions>('options', options, {
    min: true,
    max: true,
    initial: true,
    isOverload: true,
  })
  const min = o.min === undefined ? 1 : checkInteger('min', o.min, 1)
  const max = o.max === undefined ? Math.max(256, min) : checkInteger('max', o.max, min)
  let initial = Math.min(max, Math.max(min, 4))
  if (o.initial !== undefined) {
    initial = checkInteger('initial', o.initial, min)
    if (initial > max) throw new RangeError(`Expected initial to be at most max (${max}), got ${initial}`)
  }
  const isOverload = o.isOverload === undefined ? undefined : checkFunction<(error: unknown) => boolean>('isOverload', o.isOverload)
  return new AdaptiveLimiter(new VegasController(min, max, initial), isOverload)
}
