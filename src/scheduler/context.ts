import { FORWARD_ABORT, type AbortTarget, type ForwardsAbort } from '../internal/forward-abort.js'
import type { TaskContext } from '../types.js'
import type { Task } from './task.js'

/** `report` when the run has no `onReport`: free. */
function ignoreReport(_value: unknown): void {}

/**
 * Aborts an attempt's signal with `reason` (once; later calls do nothing). The scheduler's side of
 * a {@link Context}: a module function rather than a method, so that `fn` cannot reach it.
 */
export let abortAttempt: (context: Context, reason: unknown) => void

/** The task an attempt belongs to (for a report, and for the run to tell a stale attempt). */
export let taskOf: <T>(context: Context) => Task<T>

/**
 * One attempt's {@link TaskContext}, what `fn` receives. Its own properties are `index` and
 * `attempt` (so it logs and spreads as `{ index, attempt }`); `signal` and `report` are getters on
 * the prototype and work destructured. Nothing else of the scheduler is reachable from it. The
 * `AbortController` behind `signal` is made only when `signal` is read, and the function behind
 * `report` only when `report` is read.
 */
export class Context implements TaskContext, ForwardsAbort {
  readonly index: number
  readonly attempt: number
  readonly #task: Task<unknown>
  #controller: AbortController | undefined = undefined
  /** Set when the attempt is aborted; never `undefined` then (abort reasons are errors). */
  #reason: unknown = undefined
  /** Where `workerMap` wants the abort without paying for an `AbortSignal` (see {@link FORWARD_ABORT}). */
  #forward: AbortTarget | undefined = undefined

  static {
    abortAttempt = (context, reason) => {
      if (context.#reason !== undefined) return
      context.#reason = reason
      context.#controller?.abort(reason)
      context.#forward?.abort(reason)
    }
    taskOf = <T>(context: Context) => context.#task as Task<T>
  }

  constructor(task: Task<unknown>, attempt: number) {
    this.index = task.index
    this.attempt = attempt
    this.#task = task
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController()
      if (this.#reason !== undefined) this.#controller.abort(this.#reason)
    }
    return this.#controller.signal
  }

  [FORWARD_ABORT](target: AbortTarget): void {
    if (this.#reason !== undefined) target.abort(this.#reason)
    else this.#forward = target
  }

  get report(): (value: unknown) => void {
    const reports = this.#task.reports
    if (reports === undefined) return ignoreReport
    return (value) => reports.report(this, value)
  }
}
