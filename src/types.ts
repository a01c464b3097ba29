import type { Limiter } from './limits/limiter.js'

/**
 * Anything an operator accepts as input: arrays, sync and async iterables and generators, Node
 * `Readable` streams and web `ReadableStream`s (both are async iterables).
 */
export type Source<T> = AsyncIterable<T> | Iterable<T>

/**
 * A pipeline stage: takes a source and returns an async iterator over its output. Plugs into
 * {@link pipe}, `for await` and any it-* pipeline.
 */
export type Operator<In, Out> = (source: Source<In>) => AsyncIterableIterator<Out>

/**
 * What every task receives beside its item. Every member works destructured
 * (`fn(item, { signal, report })`); nothing else of the scheduler is reachable from it. Its own
 * properties are `index` and `attempt`: a spread (`{ ...context }`) does not carry `signal`.
 */
export interface TaskContext {
  /**
   * Aborted when the task's result is no longer wanted: the consumer stopped early, a sibling
   * failed under `onError: 'abort'`, the per-item `timeout` expired, or the run's `signal` aborted.
   */
  readonly signal: AbortSignal
  /** Position of the item in the source, counting from 0. */
  readonly index: number
  /** Which attempt this is, counting from 1 (greater than 1 only with `retry`). */
  readonly attempt: number
  /**
   * Reports per-item progress (PowerShell's `Write-Progress` inside a parallel block): the
   * `onReport` option receives `{ index, item, value }`. Does nothing without `onReport`, and once
   * the attempt is over (the item settled, or a retry replaced it); never throws.
   */
  readonly report: (value: unknown) => void
}

/** One `context.report(value)` of a running item, as the `onReport` option receives it. */
export interface ItemReport<T = unknown> {
  /** The item's position in the source, from 0. */
  readonly index: number
  /** The source item. */
  readonly item: T
  /** What the item reported. */
  readonly value: unknown
}

/** A snapshot of a run's progress, as delivered to `onProgress`. */
export interface Progress {
  /** Items taken from the source and started (an item that is a promise counts while it is awaited). */
  readonly started: number
  /** Items being processed right now (including those waiting for a retry). */
  readonly running: number
  /** Items that finished with a result. */
  readonly succeeded: number
  /** Items that finished with an error. */
  readonly failed: number
  /** `succeeded + failed`. */
  readonly done: number
  /** The concurrency limit in force at that moment, whatever its kind (a number, a `Limiter`, `'auto'`). */
  readonly limit: number
  /** The expected item count, when the `total` option was given. */
  readonly total?: number
  /** `100 * done / total`, when `total` was given. */
  readonly percent?: number
  /**
   * Milliseconds since the run started, at the clock reading of the item's end that the snapshot
   * follows (the scheduler reads the clock once per synchronous pass).
   */
  readonly elapsedMs: number
  /** Finished items per second so far. */
  readonly perSecond: number
  /** Estimated milliseconds left, when `total` was given and at least one item finished. */
  readonly etaMs?: number
}

/** Retry policy for one item: exponential backoff between attempts. */
export interface RetryOptions {
  /** How many times a failed item is tried again. Integer >= 0. */
  readonly retries: number
  /** Delay before the first retry, in ms. Default `100`. */
  readonly minDelay?: number
  /** Upper bound of any delay, in ms. Default `10_000`. */
  readonly maxDelay?: number
  /** Growth of the delay from one retry to the next. Default `2`. */
  readonly factor?: number
  /**
   * Decides whether a failure is retried; `attempt` is the attempt that failed (from 1). Default:
   * every failure is retried. An item aborted by the run is never retried.
   */
  readonly shouldRetry?: (error: unknown, attempt: number) => boolean
}

/** Options of {@link parallelMap} and {@link parallelMapSettled}; `T` is the item type. */
export interface ParallelMapOptions<T = unknown> {
  /**
   * Most `fn` calls running at once (PowerShell's `-ThrottleLimit`): an integer >= 1 or `Infinity`;
   * a {@link Limiter} (from `concurrencyLimit` or `adaptiveConcurrency`), whose limit may change
   * and may be shared with other operators; or `'auto'`, a fresh `adaptiveConcurrency()` that finds
   * the limit at run time. Default `5`.
   */
  readonly concurrency?: number | 'auto' | Limiter
  /**
   * With {@link keyConcurrency}: the key of an item (its host, its tenant), called once per item
   * when it is taken from the source. If it throws, that item fails with what it threw.
   */
  key?(this: void, item: T): string
  /**
   * Most calls running at once per {@link key}, within `concurrency`. Integer >= 1; needs `key`.
   * An item whose key is busy waits (counting in `readAhead`) without holding up other keys.
   */
  readonly keyConcurrency?: number
  /** `true`: results in input order; `false`: in completion order. Default `true`. */
  readonly ordered?: boolean
  /**
   * Most items taken from the source and not yet handed to the consumer (running plus finished and
   * waiting). Integer >= `concurrency` (>= 1 with a `Limiter` or `'auto'`) or `Infinity`. Default
   * `2 * concurrency`; with a `Limiter`, `2 × limit` at every moment.
   */
  readonly readAhead?: number
  /** Aborts the whole run: a pending `next()` rejects with `signal.reason`. */
  readonly signal?: AbortSignal
  /**
   * Per-item deadline in ms (finite, > 0): the item fails with `TimeoutError`, even if `fn` ignores
   * its signal. It counts from the first clock reading after the turn of the event loop in which
   * the attempt started (one reading for all the attempts started in that turn): never early, and
   * late by what that turn had left to run (Node's `setTimeout` is early by what it had already run).
   */
  readonly timeout?: number
  /** `'abort'` (default): the first failure stops the run. `'continue'`: failures are collected and thrown at the end as an `AggregateError`. */
  readonly onError?: 'abort' | 'continue'
  /** Per-item retry with exponential backoff. */
  readonly retry?: RetryOptions
  /** Called at least once per finished item and once at the end. */
  readonly onProgress?: (progress: Progress) => void
  /**
   * Receives every `context.report(value)` of a running item, as `{ index, item, value }`. An
   * error it throws fails the run as an error of the source would.
   */
  readonly onReport?: (report: ItemReport) => void
  /** Expected item count, for `percent` and `etaMs` in {@link Progress}. */
  readonly total?: number
}

/** The function {@link parallelMap} calls for every item. */
export type Mapper<T, R> = (item: T, context: TaskContext) => R | PromiseLike<R>

/** Fields every {@link Settled} record has. */
export interface SettledBase<T> {
  /** The source item. */
  readonly item: T
  /** Its position in the source, from 0. */
  readonly index: number
  /** How many attempts were made. */
  readonly attempts: number
  /**
   * When the item was taken from the source and its processing started: ms since the epoch, as
   * `Date.now()`. The scheduler reads the clock once per synchronous pass, not once per event: an
   * item that starts in the pass where another one settled takes that item's end time.
   */
  readonly startedAt: number
  /**
   * Milliseconds from that start to the item's end, retries included. A `fn` that returns or throws
   * synchronously ends in the pass that started it, at the same reading: its duration is 0.
   */
  readonly duration: number
}

/** A successful item, as yielded by {@link parallelMapSettled}. */
export interface Fulfilled<T, R> extends SettledBase<T> {
  /** The item succeeded. */
  readonly status: 'fulfilled'
  /** What `fn` returned for it. */
  readonly value: R
}

/** A failed item, as yielded by {@link parallelMapSettled}. */
export interface Rejected<T> extends SettledBase<T> {
  /** The item failed. */
  readonly status: 'rejected'
  /** Why: what its last attempt threw, a `TimeoutError`, or the abort reason. */
  readonly reason: unknown
}

/** The per-item status record of {@link parallelMapSettled} (PowerShell's `@{ Status = …; Error = … }`). */
export type Settled<T, R> = Fulfilled<T, R> | Rejected<T>
