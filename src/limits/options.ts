import { checkFunction, checkInteger, describe } from '../errors.js'
import type { GateFactory, Queued, StartQueueFactory } from '../scheduler/seams.js'
import type { ParallelMapOptions } from '../types.js'
import { adaptiveConcurrency } from './adaptive.js'
import { SharedLimiter } from './limiter.js'
import { FifoStartQueue, KeyedStartQueue } from './queues.js'

/** The `concurrency`, `key` and `keyConcurrency` options of a run, checked and resolved. */
export interface Limits {
  /** Most calls running at once when no {@link gate} decides: the number given, or `Infinity`. */
  readonly concurrency: number
  /** With a `Limiter` or `'auto'`: a gate per run on it. */
  readonly gate: GateFactory | undefined
  /** With `key` (per-key caps) or a limiter (so that an item starts only once it may): where items wait. */
  readonly queue: StartQueueFactory | undefined
}

/**
 * Checks `concurrency`, `key` and `keyConcurrency` and resolves them for the scheduler. `'auto'`
 * makes a fresh adaptive limiter here, once per operator.
 */
export function configureLimits(o: Pick<ParallelMapOptions, 'concurrency' | 'key' | 'keyConcurrency'>): Limits {
  let concurrency = 5
  let limiter: SharedLimiter | undefined
  const value = o.concurrency
  if (value === 'auto') {
    limiter = adaptiveConcurrency() as SharedLimiter
  } else if (value instanceof SharedLimiter) {
    limiter = value
  } else if (typeof value === 'number') {
    concurrency = checkInteger('concurrency', value, 1, true)
  } else if (value !== undefined) {
    throw new TypeError(`Expected concurrency to be an integer >= 1, Infinity, 'auto' or a Limiter, got ${describe(value)}`)
  }

  const key = o.key === undefined ? undefined : checkFunction<(item: unknown) => string>('key', o.key)
  const perKey = o.keyConcurrency === undefined ? undefined : checkInteger('keyConcurrency', o.keyConcurrency, 1)
  if (perKey !== undefined && key === undefined) {
    throw new TypeError('Expected key to be a function when keyConcurrency is given, got undefined')
  }
  if (key !== undefined && perKey === undefined) {
    throw new TypeError('Expected keyConcurrency to be an integer >= 1 when key is given, got undefined')
  }

  let queue: StartQueueFactory | undefined
  if (key !== undefined) queue = <Q extends Queued<unknown>>() => new KeyedStartQueue<Q>(key, perKey!)
  else if (limiter !== undefined) queue = <Q extends Queued<unknown>>() => new FifoStartQueue<Q>()
  if (limiter === undefined) return { concurrency, gate: undefined, queue }
  const shared = limiter
  return { concurrency: Infinity, gate: () => shared.gate(), queue }
}
