/**
 * The two seams the concurrency limits plug into (issue 16: `Limiter`s, `concurrency: 'auto'`,
 * `key` + `keyConcurrency`). The scheduler works without them: a plain number stays a field
 * compared with the running count, and pulled items start at once. Each seam is one object per
 * run, made by a factory that `configure()` puts in the run's `Config`.
 */

/** One attempt of one item, as an adaptive limit learns from it. */
export interface AttemptSample {
  /** `performance.now()` when `fn` was called for this attempt. */
  readonly startedAt: number
  /** `performance.now()` when the attempt settled (or timed out). */
  readonly endedAt: number
  /**
   * `'ok'`: it fulfilled. `'error'`: it failed (`error` says with what). `'timeout'`: the per-item
   * `timeout` expired. `'aborted'`: the run aborted it (early exit, a sibling's failure, `signal`):
   * such an attempt says nothing about the limit.
   */
  readonly outcome: 'ok' | 'error' | 'timeout' | 'aborted'
  /** The error of an `'error'` or `'timeout'` attempt (for `isOverload(error)`); `undefined` otherwise. */
  readonly error: unknown
  /**
   * Whether a consumer's `next()` was waiting for a result when the attempt ended: `false` means
   * the consumer, not the calls, held the run back, and a limit should not grow from it.
   */
  readonly consumerWaiting: boolean
  /** The run's running calls at that moment, this one included. */
  readonly running: number
}

/**
 * How a run asks "may another call start?" when a `Limiter` decides instead of a number. A gate
 * may be shared by several runs (it caps the sum of their running calls) and its limit may change
 * while they go on, so the run never caches an answer: it asks before every start, and the gate
 * calls the run's `wake` when the answer may have turned to yes (the limit rose, another run's
 * call ended, `resume()`). Lowering the limit needs nothing from the run: it starts nothing while
 * {@link mayStart} says no, and running calls finish.
 */
export interface Gate {
  /** The limit in force now: `Progress.limit`, and `2 × limit` is the default read-ahead. */
  readonly limit: number
  /** Whether one more call may start now (running < limit, not paused). */
  mayStart(): boolean
  /** A call has started (it holds its slot through retries and their waits until it settles). */
  started(): void
  /** A call that {@link started} has settled: its slot is free. */
  ended(): void
  /** Each attempt's outcome, for adaptive limits; a gate that does not learn leaves it out. */
  readonly observe?: (sample: AttemptSample) => void
  /** Called once when the run starts: `wake` makes the run start what it may. */
  attach(wake: () => void): void
  /** Called once when the run ends, whichever way: the gate forgets `wake`. */
  detach(): void
}

/** Makes the {@link Gate} of one run. */
export type GateFactory = () => Gate

/** What a {@link StartQueue} sees of a pulled item. */
export interface Queued<T> {
  readonly item: T
  /** The item's position in the source. */
  readonly index: number
  /** The item's key, for a queue that caps calls per key: the queue sets it when it adds the item. */
  key: string | undefined
}

/**
 * Where pulled items wait to start, and which starts next: the seam per-key caps plug into. Without
 * a queue an item starts as soon as it is pulled. With one, the run adds every pulled item (it
 * counts in `readAhead` from then on) and, whenever a call may start, asks {@link next} for the
 * item to start: an item whose key is busy can wait without holding up the items of other keys.
 * The run keeps pulling while a call may start and the queue has nothing that may.
 */
export interface StartQueue<Q extends Queued<unknown>> {
  /** Items waiting. */
  readonly length: number
  /**
   * The queue only keeps input order (its {@link ended} does nothing): while it is empty, a pulled
   * item that may start starts at once without passing through it, on the run's fast path.
   */
  readonly fifo?: boolean
  /**
   * A pulled item. If this throws (a `key` function that throws), the item fails with that error
   * without a call, as a throw of `fn` would fail it.
   */
  add(queued: Q): void
  /** The waiting item to start now, removed from the queue; `undefined` when none may start. */
  next(): Q | undefined
  /** An item that {@link next} handed out has settled (its key has a free slot again). */
  ended(queued: Q): void
  /**
   * Removes and returns the waiting items whose index is `from` or more: the run drops them (it
   * has stopped, or failed at `from` under `onError: 'abort'`).
   */
  drop(from: number): Q[]
}

/** Makes the {@link StartQueue} of one run. */
export type StartQueueFactory = <Q extends Queued<unknown>>() => StartQueue<Q>
