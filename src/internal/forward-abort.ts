/**
 * The scheduler's private, allocation-free way to learn that it aborted an attempt. Reading a task
 * context's `signal` costs an `AbortController`, an `AbortSignal` and a listener per item: more than
 * a whole tiny task on a worker thread. A task context has a method under this symbol instead:
 * `context[FORWARD_ABORT](target)` makes the scheduler call `target.abort(reason)` when it aborts
 * that attempt (at once, if it already has). One target per attempt; a later call replaces it.
 */
export const FORWARD_ABORT: unique symbol = Symbol('foreach-parallel.forwardAbort')

/** Something to abort along with an attempt. */
export interface AbortTarget {
  abort(reason: unknown): void
}

/** A task context that forwards its abort; every context the scheduler hands `fn` is one. */
export interface ForwardsAbort {
  [FORWARD_ABORT](target: AbortTarget): void
}
