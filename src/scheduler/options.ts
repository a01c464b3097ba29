import {
  checkBoolean,
  checkDuration,
  checkFunction,
  checkInteger,
  checkMaxDelay,
  checkNumber,
  checkOneOf,
  checkOptions,
  checkSignal,
  describe,
  type KnownKeys,
} from '../errors.js'
import type { ItemReport, ParallelMapOptions, Progress, RetryOptions } from '../types.js'
import { configureLimits } from '../limits/options.js'
import type { GateFactory, StartQueueFactory } from './seams.js'

/** What an item's failure does to the run. */
export type FailurePolicy =
  /** `onError: 'abort'`: the first failure stops the run and is thrown. */
  | 'abort'
  /** `onError: 'continue'`: failures are left out and thrown together at the end. */
  | 'continue'
  /** `parallelMapSettled`: every outcome becomes a record, and nothing fails. */
  | 'settled'

/** A retry policy with its defaults filled in. */
export interface RetryPolicy {
  readonly retries: number
  readonly minDelay: number
  readonly maxDelay: number
  readonly factor: number
  readonly shouldRetry: ((error: unknown, attempt: number) => boolean) | undefined
}

/**
 * Options after validation, with every default filled in. An option that is off stays
 * `undefined`, so that the run pays for it with a `?.` check at most.
 */
export interface Config {
  /** Most calls running at once, when no {@link gate} decides it. */
  readonly concurrency: number
  /** A limit that decides instead of {@link concurrency}: the seam `Limiter`s plug into. */
  readonly gate: GateFactory | undefined
  /**
   * Most items pulled and not yet handed out. `undefined` only with a {@link gate}: the bound then
   * follows the limit, `2 × gate.limit` at every moment.
   */
  readonly readAhead: number | undefined
  /** Where pulled items wait to start, and which starts next: the seam per-key caps plug into. */
  readonly queue: StartQueueFactory | undefined
  readonly ordered: boolean
  readonly signal: AbortSignal | undefined
  readonly timeout: number | undefined
  readonly policy: FailurePolicy
  readonly retry: RetryPolicy | undefined
  readonly onProgress: ((progress: Progress) => void) | undefined
  readonly onReport: ((report: ItemReport<unknown>) => void) | undefined
  readonly total: number | undefined
}

/** Every option of `parallelMap`, for the unknown-key check. */
export const PARALLEL_MAP_OPTIONS: KnownKeys<ParallelMapOptions> = {
  concurrency: true,
  key: true,
  keyConcurrency: true,
  ordered: true,
  readAhead: true,
  signal: true,
  timeout: true,
  onError: true,
  retry: true,
  onProgress: true,
  onReport: true,
  total: true,
}

/**
 * Validates `parallelMap` options and fills in the defaults; throws as `parallelMap` does. Not part
 * of the public API: `workerMap` uses it to check its options before any run exists.
 */
export function configure(options: unknown, settled: boolean): Config {
  const o = checkOptions<ParallelMapOptions>('options', options, PARALLEL_MAP_OPTIONS)
  const { concurrency, gate, queue } = configureLimits(o)
  const onError = o.onError === undefined ? 'abort' : checkOneOf('onError', o.onError, ['abort', 'continue'])
  let readAhead: number | undefined
  if (o.readAhead !== undefined) readAhead = checkReadAhead(o.readAhead, gate === undefined ? concurrency : 1)
  else if (gate === undefined) readAhead = 2 * concurrency
  return {
    concurrency,
    gate,
    readAhead,
    queue,
    ordered: o.ordered === undefined ? true : checkBoolean('ordered', o.ordered),
    signal: o.signal === undefined ? undefined : checkSignal('signal', o.signal),
    timeout: o.timeout === undefined ? undefined : checkDuration('timeout', o.timeout),
    policy: settled ? 'settled' : onError,
    retry: o.retry === undefined ? undefined : configureRetry(o.retry),
    onProgress: o.onProgress === undefined ? undefined : checkFunction('onProgress', o.onProgress),
    onReport: o.onReport === undefined ? undefined : checkFunction('onReport', o.onReport),
    total: o.total === undefined ? undefined : checkInteger('total', o.total, 0),
  }
}

function checkReadAhead(value: unknown, concurrency: number): number {
  if (concurrency !== Infinity) return checkInteger('readAhead', value, concurrency, true)
  if (value !== Infinity) {
    const Type = typeof value === 'number' ? RangeError : TypeError
    throw new Type(`Expected readAhead to be Infinity when concurrency is Infinity, got ${describe(value)}`)
  }
  return value
}

function configureRetry(retry: unknown): RetryPolicy {
  const r = checkOptions<RetryOptions>('retry', retry, {
    retries: true,
    minDelay: true,
    maxDelay: true,
    factor: true,
    shouldRetry: true,
  })
  const minDelay = r.minDelay === undefined ? 100 : checkMaxDelay('retry.minDelay', checkNumber('retry.minDelay', r.minDelay, 0))
  return {
    retries: checkInteger('retry.retries', r.retries, 0),
    minDelay,
    maxDelay:
      r.maxDelay === undefined
        ? Math.max(10_000, minDelay)
        : checkMaxDelay('retry.maxDelay', checkNumber('retry.maxDelay', r.maxDelay, minDelay)),
    factor: r.factor === undefined ? 2 : checkNumber('retry.factor', r.factor, 1),
    shouldRetry: r.shouldRetry === undefined ? undefined : checkFunction('retry.shouldRetry', r.shouldRetry),
  }
}
