import { delay } from 'abort-controller-x'
import pTimeout from 'p-timeout'
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
  checkSource,
  describe,
  TimeoutError,
  type KnownKeys,
} from './errors.js'
import { Deque } from './internal/deque.js'
import { deferred, type Deferred } from './internal/deferred.js'
import { FORWARD_ABORT, type AbortTarget, type ForwardsAbort } from './internal/forward-abort.js'
import { Outbox } from './internal/outbox.js'
import { SourceReader, type PullListener } from './internal/source-reader.js'
import { ProgressCounter } from './progress.js'
import type {
  Mapper,
  Operator,
  ParallelMapOptions,
  Progress,
  RetryOptions,
  Settled,
  Source,
  TaskContext,
} from './types.js'

/** Options after validation, with every default filled in. */
export interface Config {
  readonly concurrency: number
  readonly ordered: boolean
  readonly readAhead: number
  readonly signal: AbortSignal | undefined
  readonly timeout: number | undefined
  readonly continueOnError: boolean
  readonly retry: Required<Omit<RetryOptions, 'shouldRetry'>> & Pick<RetryOptions, 'shouldRetry'> | undefined
  readonly onProgress: ((progress: Progress) => void) | undefined
  readonly total: number | undefined
  /** `parallelMapSettled`: every task outcome becomes a record and nothing fails. */
  readonly settled: boolean
}

/**
 * Validates `parallelMap` options and fills in the defaults; throws as `parallelMap` does. Not part
 * of the public API: `workerMap` uses it to check its options before any run exists.
 */
export function configure(options: unknown, settled: boolean): Config {
  const o = checkOptions<ParallelMapOptions>('options', options, PARALLEL_MAP_OPTIONS)
  const concurrency = o.concurrency === undefined ? 5 : checkInteger('concurrency', o.concurrency, 1, true)
  const readAhead = o.readAhead === undefined ? 2 * concurrency : checkReadAhead(o.readAhead, concurrency)
  return {
    concurrency,
    readAhead,
    ordered: o.ordered === undefined ? true : checkBoolean('ordered', o.ordered),
    signal: o.signal === undefined ? undefined : checkSignal('signal', o.signal),
    timeout: o.timeout === undefined ? undefined : checkDuration('timeout', o.timeout),
    continueOnError: o.onError === undefined ? false : checkOneOf('onError', o.onError, ['abort', 'continue']) === 'continue',
    retry: o.retry === undefined ? undefined : configureRetry(o.retry),
    onProgress: o.onProgress === undefined ? undefined : checkFunction<(progress: Progress) => void>('onProgress', o.onProgress),
    total: o.total === undefined ? undefined : checkInteger('total', o.total, 0),
    settled,
  }
}

/** Every option of `parallelMap`, for the unknown-key check. */
export const PARALLEL_MAP_OPTIONS: KnownKeys<ParallelMapOptions> = {
  concurrency: true,
  ordered: true,
  readAhead: true,
  signal: true,
  timeout: true,
  onError: true,
  retry: true,
  onProgress: true,
  total: true,
}

function checkReadAhead(value: unknown, concurrency: number): number {
  if (concurrency !== Infinity) return checkInteger('readAhead', value, concurrency, true)
  if (value !== Infinity) {
    const Type = typeof value === 'number' ? RangeError : TypeError
    throw new Type(`Expected readAhead to be Infinity when concurrency is Infinity, got ${describe(value)}`)
  }
  return value
}

function configureRetry(retry: unknown): Config['retry'] {
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
    shouldRetry: r.shouldRetry === undefined ? undefined : checkFunction<(error: unknown, attempt: number) => boolean>('retry.shouldRetry', r.shouldRetry),
  }
}

const RUNNING = 0
const FULFILLED = 1
const FAILED = 2
/** Finished, but never to be yielded: failed under `'continue'`, or aborted by the run. */
const DROPPED = 3

/** One attempt's {@link TaskContext}; its `AbortController` is made only if someone reads `signal`. */
class Context implements TaskContext, ForwardsAbort {
  readonly index: number
  readonly attempt: number
  #controller: AbortController | undefined
  #forward: AbortTarget | undefined
  #aborted = false
  #reason: unknown

  constructor(index: number, attempt: number) {
    this.index = index
    this.attempt = attempt
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController()
      if (this.#aborted) this.#controller.abort(this.#reason)
    }
    return this.#controller.signal
  }

  abort(reason: unknown): void {
    if (this.#aborted) return
    this.#aborted = true
    this.#reason = reason
    this.#controller?.abort(reason)
    this.#forward?.abort(reason)
  }

  [FORWARD_ABORT](target: AbortTarget): void {
    if (this.#aborted) target.abort(this.#reason)
    else this.#forward = target
  }
}

/**
 * An item from the moment it is pulled until it is handed out or dropped. It is kept apart from
 * the {@link Context} that `fn` sees, so that `fn` sees `signal`, `index` and `attempt` only (and
 * can log or spread its context), never the scheduler's state.
 */
class Task<T> {
  readonly index: number
  item: T
  state = RUNNING
  value: unknown = undefined
  /** The current attempt's context; `undefined` once the task has settled. */
  context: Context | undefined
  /** Set when the run aborted this task: its outcome is no longer wanted. */
  abortedByRun = false
  /** Attempts started so far. */
  attempts = 1
  startedAt = 0
  startedTime = 0
  /** The item is a promise, not settled yet: `fn` has not been called. */
  waitingForItem = false
  /** Whether the task is in the list of running tasks: only while it waits for a promise. */
  linked = false
  prev: Task<T> | undefined = undefined
  next: Task<T> | undefined = undefined

  constructor(item: T, index: number) {
    this.index = index
    this.item = item
    this.context = new Context(index, 1)
  }
}

/** Created, `next()` not called yet: the source is untouched. */
const IDLE = 0
const ACTIVE = 1
/** Finished, failed, returned or aborted: `next()` answers without doing work. */
const CLOSED = 2

/** Microtask turns an abort waits for the aborted calls before rejecting the pending `next()`. */
const ABORT_GRACE_TURNS = 32

/** `#take()` answers: nothing to hand out yet, or the run has ended and the outbox has the answer. */
const NOT_READY: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined })
const ENDED: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined })

const RESOLVED: Promise<void> = Promise.resolve()

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as PromiseLike<unknown>).then === 'function'
  )
}

function abortError(message: string): Error {
  return new DOMException(message, 'AbortError')
}

/**
 * The scheduler behind {@link parallelMap}: a hand-written async iterator (no async generator on
 * the hot path) that keeps the concurrency cap, the read-ahead bound and the cancellation of
 * in-flight work together.
 */
class ParallelIterator<T, R> implements AsyncIterableIterator<R> {
  /**
   * One idle instance, kept for the life of the module. V8 holds an object's hidden class only
   * weakly: a full GC that finds no live iterator drops it and deoptimizes the scheduler code
   * compiled against it, and after a few such rounds the hot path stays slow (measured on 100k
   * trivial items: 33 ms a run becomes 80-95 ms). A live instance keeps the class, and the code.
   */
  static shapeKeeper: ParallelIterator<unknown, unknown> | undefined

  readonly #fn: Mapper<T, unknown>
  readonly #config: Config
  readonly #ordered: boolean
  readonly #concurrency: number
  readonly #readAhead: number
  #source: Source<T> | undefined
  #phase = IDLE

  #reader: SourceReader<T> | undefined
  /** Nothing more is pulled: the source ended, failed or was closed, or could not be opened. */
  #sourceDone = false
  #filling = false

  #pulled = 0
  /** Items handed to the consumer or dropped: `pulled - handed` is bounded by `readAhead`. */
  #handed = 0
  /** As-completed: items dropped (failed under `'continue'`, or aborted) since the consumer last asked. */
  #droppedUnpassed = 0
  #running = 0
  #runningHead: Task<T> | undefined

  /** Ordered: every pulled task, in input order. As-completed: finished tasks, in completion order. */
  readonly #buffer = new Deque<Task<T>>()
  readonly #outbox = new Outbox<R>()

  /** Under `'abort'`: the index from which nothing is yielded, and the error to throw there. */
  #failIndex = Infinity
  #failed = false
  #failure: unknown
  /** Under `'continue'`: the failed tasks, and an error of the source to throw as is at the end. */
  #failures: Task<T>[] = []
  #sourceError: { error: unknown } | undefined

  #progress: ProgressCounter | undefined
  #idle: Deferred<void> | undefined
  /** Settles when a close started by an abort has finished, for a later `return()` to await. */
  #closing: Promise<void> | undefined
  /** An abort is giving the aborted calls their few microtask turns: every `next()` waits. */
  #abortGrace = false
  #onAbort: (() => void) | undefined

  constructor(fn: Mapper<T, unknown>, config: Config, source: Source<T>) {
    this.#fn = fn
    this.#config = config
    this.#ordered = config.ordered
    this.#concurrency = config.concurrency
    this.#readAhead = config.readAhead
    this.#source = source
  }

  [Symbol.asyncIterator](): this {
    return this
  }

  next(): Promise<IteratorResult<R>> {
    if (this.#phase === IDLE) this.#start()
    const outbox = this.#outbox
    if (outbox.closed) return outbox.answerClosed()
    if (outbox.waiting === 0 && !this.#abortGrace) {
      const answer = this.#take()
      if (answer === ENDED) return outbox.answerClosed()
      if (answer !== NOT_READY) {
        this.#fill()
        return Promise.resolve(answer)
      }
    }
    const parked = outbox.park()
    this.#fill()
    this.#flush()
    return parked
  }

  async return(value?: unknown): Promise<IteratorResult<R>> {
    if (this.#phase !== CLOSED) {
      this.#closing = this.#close(abortError('The consumer stopped early'), undefined)
      this.#outbox.endNow(this.#closing)
    }
    await this.#closing
    return { done: true, value: value as R }
  }

  /** Opens the source and listens to the signal, unless the signal has already aborted. */
  #start(): void {
    const { signal, total, onProgress } = this.#config
    if (signal?.aborted) {
      this.#phase = CLOSED
      this.#outbox.abort(signal.reason)
      this.#source = undefined
      return
    }
    this.#phase = ACTIVE
    if (onProgress) this.#progress = new ProgressCounter(total)
    if (signal) {
      this.#onAbort = () => {
        this.#closing = this.#close(signal.reason, { reason: signal.reason })
      }
      signal.addEventListener('abort', this.#onAbort, { once: true })
    }
    const source = this.#source!
    this.#source = undefined
    try {
      this.#reader = new SourceReader(source)
    } catch (error) {
      // A source that cannot be opened (a locked stream, say) fails like a source error.
      this.#sourceFailed(error)
    }
  }

  // ---- pulling -------------------------------------------------------------------------------

  #canPull(): boolean {
    return (
      this.#phase === ACTIVE &&
      !this.#sourceDone &&
      !this.#reader!.pulling &&
      !this.#failed &&
      this.#running < this.#concurrency &&
      this.#pulled - this.#handed < this.#readAhead
    )
  }

  #fill(): void {
    if (this.#filling) return
    this.#filling = true
    try {
      // Handing results out (or passing failed ones) frees read-ahead room: pull again at once,
      // not at the next call.
      while (this.#canPull() || (this.#flush() && this.#canPull())) {
        const reader = this.#reader!
        if (reader.sync) {
          let result: IteratorResult<T>
          try {
            result = reader.nextSync()
          } catch (error) {
            this.#sourceFailed(error)
            break
          }
          if (result.done) this.#sourceDone = true
          else this.#launch(result.value)
        } else {
          reader.pullTo(this.#pullListener)
        }
      }
    } finally {
      this.#filling = false
    }
    this.#flush()
  }

  /** The outcome of an async pull (see `SourceReader.pullTo`). */
  readonly #pullListener: PullListener<T> = {
    pulled: (result) => {
      // After a failure under 'abort' nothing more starts, not even an item whose pull was under way.
      if (this.#phase !== ACTIVE || this.#failed) return
      if (result.done) this.#sourceDone = true
      else this.#launch(result.value)
      this.#fill()
    },
    pullFailed: (error) => {
      if (this.#phase !== ACTIVE) return
      this.#sourceFailed(error)
      this.#flush()
    },
  }

  /** An error of the source counts as a failure after the last item pulled. */
  #sourceFailed(error: unknown): void {
    this.#sourceDone = true
    if (this.#config.continueOnError || this.#config.settled) {
      this.#sourceError = { error }
      return
    }
    // The in-flight items are aborted: the failure is placed at the first of them.
    let first = this.#pulled
    for (let task = this.#runningHead; task; task = task.next) first = Math.min(first, task.index)
    this.#fail(first, error)
  }

  // ---- running tasks -------------------------------------------------------------------------

  #launch(item: T): void {
    const task = new Task(item, this.#pulled++)
    this.#running++
    if (this.#ordered) this.#buffer.push(task)
    if (this.#config.settled) {
      task.startedAt = Date.now()
      task.startedTime = performance.now()
    }
    if (this.#progress) {
      this.#progress.started++
      this.#progress.running++
    }
    if (isThenable(item)) {
      // Like p-map and `for await`, an item that is a promise is awaited before `fn` sees it.
      this.#link(task)
      task.waitingForItem = true
      Promise.resolve(item).then(
        (value) => {
          if (!task.waitingForItem) return
          task.waitingForItem = false
          task.item = value as T
          this.#attempt(task)
        },
        (error: unknown) => {
          if (!task.waitingForItem) return
          task.waitingForItem = false
          this.#settle(task, FAILED, error)
        },
      )
    } else {
      this.#attempt(task)
    }
  }

  #attempt(task: Task<T>): void {
    if (task.abortedByRun) {
      this.#settle(task, DROPPED, undefined)
      return
    }
    const context = task.context!
    task.attempts = context.attempt
    let result: unknown
    try {
      result = this.#fn(task.item, context)
    } catch (error) {
      this.#attemptFailed(task, context, error)
      return
    }
    if (!isThenable(result)) {
      this.#settle(task, FULFILLED, result)
      return
    }
    if (!task.linked) this.#link(task)
    const timeout = this.#config.timeout
    const settling =
      timeout === undefined
        ? result
        : pTimeout(result, {
            milliseconds: timeout,
            fallback: () => {
              const error = new TimeoutError(`Item ${task.index} timed out after ${timeout} ms`)
              context.abort(error)
              throw error
            },
          })
    try {
      settling.then(
        (value) => {
          if (task.context === context) this.#settle(task, FULFILLED, value)
        },
        (error: unknown) => this.#attemptFailed(task, context, error),
      )
    } catch (error) {
      // A thenable whose then() throws: the attempt fails with that error.
      this.#attemptFailed(task, context, error)
    }
  }

  #attemptFailed(task: Task<T>, context: Context, error: unknown): void {
    if (task.context !== context) return
    const retry = this.#config.retry
    if (retry === undefined || task.abortedByRun || context.attempt > retry.retries) {
      this.#settle(task, FAILED, error)
      return
    }
    if (retry.shouldRetry !== undefined) {
      let again: boolean
      try {
        again = retry.shouldRetry(error, context.attempt)
      } catch (thrown) {
        this.#settle(task, FAILED, thrown)
        return
      }
      if (!again) {
        this.#settle(task, FAILED, error)
        return
      }
    }
    const wait = Math.min(retry.maxDelay, retry.minDelay * retry.factor ** (context.attempt - 1))
    // The next attempt's context exists during the backoff so that aborting the task ends the wait.
    const next = new Context(task.index, context.attempt + 1)
    task.context = next
    if (!task.linked) this.#link(task)
    delay(next.signal, wait).then(
      () => {
        if (task.context === next) this.#attempt(task)
      },
      () => {
        if (task.context === next) this.#settle(task, FAILED, next.signal.reason)
      },
    )
  }

  #link(task: Task<T>): void {
    task.linked = true
    const head = this.#runningHead
    if (head) {
      task.next = head
      head.prev = task
    }
    this.#runningHead = task
  }

  /** A task's final outcome: frees its slot, then applies the error policy and hands results on. */
  #settle(task: Task<T>, outcome: number, value: unknown): void {
    task.context = undefined
    this.#running--
    if (task.linked) {
      if (task.prev) task.prev.next = task.next
      else this.#runningHead = task.next
      if (task.next) task.next.prev = task.prev
      task.prev = task.next = undefined
      task.linked = false
    }

    const progress = this.#progress
    if (progress) {
      progress.running--
      if (outcome === FULFILLED) progress.succeeded++
      else progress.failed++
    }
    if (this.#config.settled && outcome !== DROPPED) {
      value = this.#record(task, outcome, value)
      outcome = FULFILLED
    }

    if (task.abortedByRun || outcome === DROPPED) {
      task.state = DROPPED
    } else if (outcome === FAILED) {
      task.value = value
      if (this.#config.continueOnError) {
        task.state = DROPPED
        this.#failures.push(task)
      } else {
        task.state = FAILED
        this.#fail(task.index, value)
      }
    } else {
      task.state = FULFILLED
      task.value = value
      if (!this.#ordered) this.#buffer.push(task)
    }
    // Counted as handed out only when a consumer asks again, as in input order, so that failures
    // nobody has passed yet still hold their read-ahead room.
    if (!this.#ordered && task.state === DROPPED) this.#droppedUnpassed++

    if (progress) this.#report()
    if (this.#running === 0 && this.#idle) this.#idle.resolve()
    if (this.#phase === ACTIVE) this.#fill()
  }

  #record(task: Task<T>, outcome: number, value: unknown): Settled<T, unknown> {
    const base = {
      item: task.item,
      index: task.index,
      attempts: task.attempts,
      startedAt: task.startedAt,
      duration: performance.now() - task.startedTime,
    }
    return outcome === FULFILLED
      ? { status: 'fulfilled', value, ...base }
      : { status: 'rejected', reason: value, ...base }
  }

  /**
   * Under `'abort'`: nothing more is pulled, the source is closed, and the in-flight items a loop
   * would not have reached are aborted. Ordered, those are the items after `index`; as-completed,
   * all of them, and the results not handed out yet are dropped.
   */
  #fail(index: number, error: unknown): void {
    const ordered = this.#ordered
    if (this.#failed && (!ordered || index >= this.#failIndex)) return
    this.#failed = true
    this.#failIndex = ordered ? index : -1
    this.#failure = error
    const reason = abortError('Aborted because another item failed')
    for (let task = this.#runningHead; task; task = task.next) {
      if (task.index >= this.#failIndex) this.#abortTask(task, reason)
    }
    if (!ordered) {
      this.#handed += this.#buffer.length
      this.#buffer.clear()
    }
    this.#closeSource()
  }

  #abortTask(task: Task<T>, reason: unknown): void {
    task.abortedByRun = true
    task.context?.abort(reason)
    if (task.waitingForItem) {
      // `fn` never started: nothing to wait for but a promise that may never settle. Dropped in a
      // microtask so that the caller's walk over the running list is not disturbed.
      task.waitingForItem = false
      queueMicrotask(() => this.#settle(task, DROPPED, undefined))
    }
  }

  #report(): void {
    try {
      this.#config.onProgress!(this.#progress!.snapshot())
    } catch (error) {
      // A throwing progress callback fails the run like a source error would.
      this.#progress = undefined
      this.#sourceFailed(error)
    }
  }

  // ---- handing out ---------------------------------------------------------------------------

  /** Answers parked `next()` calls, in call order, with whatever is ready; tells whether that freed read-ahead room. */
  #flush(): boolean {
    const outbox = this.#outbox
    if (this.#abortGrace || outbox.closed) return false
    const handed = this.#handed
    while (outbox.waiting > 0) {
      const answer = this.#take()
      if (answer === NOT_READY || answer === ENDED) break
      outbox.resolve(answer)
    }
    return this.#handed !== handed
  }

  /**
   * The next answer for a consumer if one is ready, `NOT_READY` otherwise, or `ENDED` when this
   * call ended the run and gave the outbox its last answer.
   */
  #take(): IteratorResult<R> {
    const buffer = this.#buffer
    if (this.#ordered) {
      for (let head = buffer.peek(); head !== undefined; head = buffer.peek()) {
        if (head.index >= this.#failIndex) break
        if (head.state === RUNNING) return NOT_READY
        buffer.shift()
        this.#handed++
        if (head.state === FULFILLED) return { done: false, value: head.value as R }
      }
    } else {
      this.#handed += this.#droppedUnpassed
      this.#droppedUnpassed = 0
      if (!this.#failed && buffer.length > 0) {
        const task = buffer.shift()!
        this.#handed++
        return { done: false, value: task.value as R }
      }
    }
    if (this.#failed) return this.#running === 0 ? this.#end({ error: this.#failure }) : NOT_READY
    if (!this.#sourceDone || this.#running > 0) return NOT_READY
    if (this.#sourceError) return this.#end(this.#sourceError)
    if (this.#failures.length > 0) {
      const errors = this.#failures.sort((a, b) => a.index - b.index).map((task) => task.value)
      return this.#end({ error: new AggregateError(errors, `${errors.length} of ${this.#pulled} items failed`) })
    }
    return this.#end(undefined)
  }

  /**
   * Ends a run that has nothing left running, with `failure` if there is one: the outbox answers
   * the oldest waiting call with its error, and every other call with done.
   */
  #end(failure: { error: unknown } | undefined): IteratorResult<R> {
    this.#phase = CLOSED
    this.#detach()
    const closing = this.#closeSource()
    if (this.#progress) this.#report()
    if (failure) this.#outbox.fail(failure.error, closing)
    else this.#outbox.end(closing)
    return ENDED
  }

  #detach(): void {
    if (this.#onAbort) {
      this.#config.signal!.removeEventListener('abort', this.#onAbort)
      this.#onAbort = undefined
    }
  }

  // ---- closing -------------------------------------------------------------------------------

  /**
   * Stops everything: running tasks are aborted with `reason`, the source is closed, parked `next()`
   * calls resolve done (or reject with the abort reason), and the returned promise settles once
   * every task has settled. It never rejects, so that nobody awaiting it can miss an error.
   */
  async #close(reason: unknown, abort: { reason: unknown } | undefined): Promise<void> {
    const wasIdle = this.#phase === IDLE
    this.#phase = CLOSED
    this.#source = undefined
    this.#detach()
    if (wasIdle) return
    for (let task = this.#runningHead; task; task = task.next) this.#abortTask(task, reason)
    const closingSource = this.#closeSource()
    if (abort) {
      // Guarantee 6 rejects a pending next() at once; guarantee 5 wants the loop to exit after the
      // aborted calls have settled. Calls that honour their signal settle within a few microtask
      // turns, so wait that long (never a timer, never a macrotask) before answering.
      // A next() called meanwhile waits too (it is parked, and answered below).
      this.#abortGrace = true
      for (let turn = 0; turn < ABORT_GRACE_TURNS && this.#running > 0; turn++) await undefined
      this.#abortGrace = false
    }
    if (abort) this.#outbox.abort(abort.reason)
    if (this.#running > 0) {
      this.#idle = deferred()
      await this.#idle.promise
    }
    this.#buffer.clear()
    if (this.#progress) this.#report()
    await closingSource
  }

  /**
   * Calls the source's `return()` once, unless it is finished. While a pull is pending the call is
   * not awaited (an async generator queues it behind that pull, which may never settle).
   */
  #closeSource(): Promise<void> {
    this.#sourceDone = true
    return this.#reader === undefined ? RESOLVED : this.#reader.close()
  }
}

ParallelIterator.shapeKeeper = new ParallelIterator<unknown, unknown>((x) => x, configure(undefined, false), [])

/**
 * Runs `fn` over every item of the source, at most `concurrency` calls at a time, and yields the
 * results in input order (or as they complete, with `ordered: false`). PowerShell's
 * `ForEach-Object -Parallel { … } -ThrottleLimit N`.
 *
 * @param fn - called as `fn(item, { signal, index, attempt })`; may return a value or a promise.
 * @param options - see {@link ParallelMapOptions}; validated here, so bad options throw at once.
 * @returns an {@link Operator}: apply it to a source, or pass it to {@link pipe}.
 * @throws TypeError or RangeError for invalid arguments, naming the option and the value received.
 *
 * @example
 * ```ts
 * for await (const status of parallelMap(fetchStatus, { concurrency: 10, timeout: 5_000 })(urls)) {
 *   console.log(status)
 * }
 * ```
 */
export function parallelMap<T, R>(fn: Mapper<T, R>, options?: ParallelMapOptions): Operator<T | PromiseLike<T>, Awaited<R>> {
  checkFunction('fn', fn)
  const config = configure(options, false)
  return (source) => {
    checkSource(source)
    return new ParallelIterator<T, Awaited<R>>(fn, config, source as Source<T>)
  }
}

/**
 * Like {@link parallelMap}, but never throws for an item's failure: yields one {@link Settled}
 * record per item, `{ status: 'fulfilled', value, … }` or `{ status: 'rejected', reason, … }`.
 * Source errors and the `signal` still end the run. Same options (`onError` has no effect).
 */
export function parallelMapSettled<T, R>(
  fn: Mapper<T, R>,
  options?: ParallelMapOptions,
): Operator<T | PromiseLike<T>, Settled<T, Awaited<R>>> {
  checkFunction('fn', fn)
  const config = configure(options, true)
  return (source) => {
    checkSource(source)
    return new ParallelIterator<T, Settled<T, Awaited<R>>>(fn, config, source as Source<T>)
  }
}

/** Options of {@link parallel}: it-parallel's, with its defaults. */
export interface ParallelOptions {
  /** Most tasks running at once. Integer >= 1 or `Infinity`. Default `Infinity`. */
  readonly concurrency?: number
  /** `true`: results in input order. Default `false` (completion order). */
  readonly ordered?: boolean
}

/** A task for {@link parallel}: it-parallel's `() => Promise<T>`, which may also use the context. */
export type ParallelTask<T> = (context: TaskContext) => T | PromiseLike<T>

function runTask<T>(task: ParallelTask<T>, context: TaskContext): T | PromiseLike<T> {
  return task(context)
}

/**
 * Drop-in for it-parallel: runs an iterable of task functions, at most `concurrency` at a time,
 * with every guarantee of {@link parallelMap} (each task receives a {@link TaskContext}, so it can
 * stop when its `signal` aborts).
 *
 * @example
 * ```ts
 * const results = await collect(parallel(urls.map((url) => () => fetch(url)), { concurrency: 4 }))
 * ```
 */
export function parallel<T>(
  tasks: Source<ParallelTask<T>>,
  options?: ParallelOptions,
): AsyncIterableIterator<Awaited<T>> {
  const o = checkOptions<ParallelOptions>('options', options, { concurrency: true, ordered: true })
  return parallelMap<ParallelTask<T>, T>(runTask, {
    concurrency: o.concurrency === undefined ? Infinity : o.concurrency,
    ordered: o.ordered === undefined ? false : o.ordered,
  })(tasks)
}
