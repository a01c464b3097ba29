import { delay } from 'abort-controller-x'
import { TimeoutError } from '../errors.js'
import type { Mapper } from '../types.js'
import { abortAttempt, Context, taskOf } from './context.js'
import { Deadlines } from './deadlines.js'
import type { RetryPolicy } from './options.js'
import type { RunningTasks } from './running.js'
import type { AttemptSample } from './seams.js'
import type { Task } from './task.js'

export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as PromiseLike<unknown>).then === 'function'
  )
}

/** What {@link Attempts} needs from its run. */
export interface AttemptHooks<T> {
  /** A task's final outcome: its value, or its error. Called once per task. */
  settle(task: Task<T>, ok: boolean, value: unknown): void
  /** Whether a consumer's `next()` is waiting, for {@link AttemptSample.consumerWaiting}. */
  consumerWaiting(): boolean
}

/**
 * Runs the attempts of a run's tasks: awaits an item that is a promise, calls `fn`, applies the
 * per-item deadline and the retry policy, and hands each task's final outcome to the run. A
 * synchronous result or throw settles the task at once, without a promise.
 */
export class Attempts<T> {
  readonly #fn: Mapper<T, unknown>
  readonly #running: RunningTasks<T>
  readonly #hooks: AttemptHooks<T>
  readonly #retry: RetryPolicy | undefined
  readonly #timeout: number | undefined
  readonly #deadlines: Deadlines | undefined
  readonly #observe: ((sample: AttemptSample) => void) | undefined

  constructor(
    fn: Mapper<T, unknown>,
    running: RunningTasks<T>,
    hooks: AttemptHooks<T>,
    options: {
      readonly retry: RetryPolicy | undefined
      readonly timeout: number | undefined
      readonly observe: ((sample: AttemptSample) => void) | undefined
    },
  ) {
    this.#fn = fn
    this.#running = running
    this.#hooks = hooks
    this.#retry = options.retry
    this.#timeout = options.timeout
    this.#deadlines = options.timeout === undefined ? undefined : new Deadlines(options.timeout, this.#expired)
    this.#observe = options.observe
  }

  /** Starts a task: its first attempt, once its item is there if the item is a promise. */
  start(task: Task<T>): void {
    const item = task.item
    if (isThenable(item)) this.#awaitItem(task, item)
    else this.#call(task, new Context(task, 1))
  }

  /**
   * Like p-map and `for await`, an item that is a promise is awaited before `fn` sees it. (Apart
   * from {@link start}, so that V8 inlines the common path into its callers whole.)
   */
  #awaitItem(task: Task<T>, item: T & PromiseLike<unknown>): void {
    task.state = 'awaiting'
    this.#running.link(task)
    Promise.resolve(item).then(
      (value) => {
        if (task.state !== 'awaiting') return
        task.state = 'running'
        task.item = value
        this.#call(task, new Context(task, 1))
      },
      (error: unknown) => {
        if (task.state !== 'awaiting') return
        task.state = 'running'
        this.#hooks.settle(task, false, error)
      },
    )
  }

  /**
   * The run no longer wants the task's outcome: its current attempt's signal aborts with `reason`
   * (a retry wait ends at once), and a task still awaiting its item is dropped without a call.
   */
  abort(task: Task<T>, reason: unknown): void {
    switch (task.state) {
      case 'awaiting':
        task.state = 'aborting'
        // Nothing to wait for but a promise that may never settle. Settled in a microtask so
        // that the caller's walk over the running list is not disturbed.
        queueMicrotask(() => this.#hooks.settle(task, false, reason))
        return
      case 'running':
        task.state = 'aborting'
        if (task.context !== undefined) abortAttempt(task.context, reason)
        return
      case 'queued':
      case 'aborting':
      case 'fulfilled':
      case 'failed':
      case 'dropped':
        return
    }
  }

  /** Forgets every deadline: the run has ended. */
  clear(): void {
    this.#deadlines?.clear()
  }

  #call(task: Task<T>, context: Context): void {
    task.context = context
    if (this.#observe !== undefined) task.attemptStarted = performance.now()
    let result: unknown
    try {
      result = this.#fn(task.item, context)
    } catch (error) {
      this.#failed(context, error, false)
      return
    }
    if (isThenable(result)) this.#await(task, context, result)
    else if (this.#observe === undefined) this.#hooks.settle(task, true, result)
    else this.#ended(task, true, result, false)
  }

  /**
   * Waits for an attempt's promise. (Apart from `#call`, so that a synchronous result's path
   * stays small enough for V8 to inline whole into the fill loop.)
   */
  #await(task: Task<T>, context: Context, result: PromiseLike<unknown>): void {
    this.#running.link(task)
    if (this.#deadlines !== undefined) task.deadline = this.#deadlines.add(context)
    try {
      result.then(
        (value) => this.#fulfilled(context, value),
        (error: unknown) => this.#failed(context, error, false),
      )
    } catch (error) {
      // A thenable whose then() throws: the attempt fails with that error.
      this.#failed(context, error, false)
    }
  }

  #fulfilled(context: Context, value: unknown): void {
    const task = taskOf<T>(context)
    if (task.context !== context) return
    if (task.deadline === undefined && this.#observe === undefined) this.#hooks.settle(task, true, value)
    else this.#ended(task, true, value, false)
  }

  /** An attempt failed: the task fails, or is tried again after its backoff. */
  #failed(context: Context, error: unknown, timedOut: boolean): void {
    const task = taskOf<T>(context)
    if (task.context !== context) return
    const retry = this.#retry
    if (retry === undefined || task.state === 'aborting' || context.attempt > retry.retries) {
      this.#ended(task, false, error, timedOut)
      return
    }
    if (retry.shouldRetry !== undefined) {
      let again: boolean
      try {
        again = retry.shouldRetry(error, context.attempt)
      } catch (thrown) {
        this.#ended(task, false, thrown, timedOut)
        return
      }
      if (!again) {
        this.#ended(task, false, error, timedOut)
        return
      }
    }
    const thrown = this.#finishAttempt(task, false, error, timedOut)
    if (thrown !== undefined) {
      this.#hooks.settle(task, false, thrown.error)
      return
    }
    const wait = Math.min(retry.maxDelay, retry.minDelay * retry.factor ** (context.attempt - 1))
    // The next attempt's context exists during the backoff, so that aborting the task ends the wait.
    const next = new Context(task, context.attempt + 1)
    task.context = next
    this.#running.link(task)
    delay(next.signal, wait).then(
      () => {
        if (task.context === next) this.#call(task, next)
      },
      () => {
        if (task.context === next) this.#hooks.settle(task, false, next.signal.reason)
      },
    )
  }

  /** A task's last attempt has ended: the task settles with its outcome. */
  #ended(task: Task<T>, ok: boolean, value: unknown, timedOut: boolean): void {
    const thrown = this.#finishAttempt(task, ok, value, timedOut)
    if (thrown === undefined) this.#hooks.settle(task, ok, value)
    else this.#hooks.settle(task, false, thrown.error)
  }

  /**
   * An attempt is over: its deadline goes, and an observing gate learns how it went. What the gate
   * throws (an adaptive limiter's `isOverload`) is returned: the task fails with it.
   */
  #finishAttempt(task: Task<T>, ok: boolean, value: unknown, timedOut: boolean): { error: unknown } | undefined {
    const deadline = task.deadline
    if (deadline !== undefined) {
      task.deadline = undefined
      if (!timedOut) this.#deadlines!.remove(deadline)
    }
    return this.#observe === undefined ? undefined : this.#observeAttempt(this.#observe, task, ok, value, timedOut)
  }

  /** Tells an observing gate how an attempt went; returns what it throws. */
  #observeAttempt(
    observe: (sample: AttemptSample) => void,
    task: Task<T>,
    ok: boolean,
    value: unknown,
    timedOut: boolean,
  ): { error: unknown } | undefined {
    const outcome = task.state === 'aborting' ? 'aborted' : ok ? 'ok' : timedOut ? 'timeout' : 'error'
    try {
      observe({
        startedAt: task.attemptStarted,
        endedAt: performance.now(),
        outcome,
        error: outcome === 'error' || outcome === 'timeout' ? value : undefined,
        consumerWaiting: this.#hooks.consumerWaiting(),
        running: this.#running.count,
      })
    } catch (error) {
      return { error }
    }
    return undefined
  }

  /** A deadline has passed: the attempt's signal aborts and it fails with a `TimeoutError`. */
  readonly #expired = (context: Context): void => {
    const task = taskOf<T>(context)
    if (task.context !== context) return
    const error = new TimeoutError(`Item ${task.index} timed out after ${this.#timeout} ms`)
    abortAttempt(context, error)
    this.#failed(context, error, true)
  }
}
