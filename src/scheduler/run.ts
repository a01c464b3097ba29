import { ANSWERS_ON_RETURN, NEXT_NOW, answerLater, type AnswersNow } from '../internal/iterator.js'
import { Outbox } from '../internal/outbox.js'
import { END, SourceReader, type PullListener } from '../internal/source-reader.js'
import type { Mapper, Source } from '../types.js'
import { Attempts, type AttemptHooks } from './attempt.js'
import { PassClock } from './clock.js'
import { configure, type Config } from './options.js'
import { ErrorList, SettledRecords } from './outcome.js'
import { Output } from './output.js'
import { ProgressReports, Reports } from './reporting.js'
import { RunningTasks } from './running.js'
import type { Gate, StartQueue } from './seams.js'
import { Task } from './task.js'

/** Where a run is. */
type Phase =
  /** Created, `next()` not called yet: the source is untouched. */
  | 'idle'
  | 'active'
  /** Ended, returned or aborted: `next()` calls are answered by the outbox. */
  | 'closed'

/** `#take()` answers besides a result: nothing to hand out yet, or the outbox has the last answer. */
const NOT_READY: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined })
const ENDED: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined })

const RESOLVED: Promise<void> = Promise.resolve()

/** Microtask turns an abort waits for the aborted calls before rejecting the pending `next()`. */
const ABORT_GRACE_TURNS = 32

/**
 * Most items a run pulls and starts in one go before it lets the event loop run, when its
 * read-ahead allows more than that (`concurrency: Infinity` over a large sync source, say): the
 * first result then comes within a slice's time, and timers and I/O are not starved.
 */
export const SLICE = 256

/** Runs `resume` after the event loop has had a turn. Taken once, so that fake timers leave it alone. */
const nextTurn: (resume: () => void) => void =
  typeof setImmediate === 'function' ? (resume) => setImmediate(resume) : (resume) => setTimeout(resume, 0)

function abortError(message: string): Error {
  return new DOMException(message, 'AbortError')
}

/**
 * One run of `parallelMap` over one source: it coordinates the consumer's `next()` and `return()`
 * calls with the fill loop, which pulls items while a call may start and the read-ahead allows.
 * The pieces it coordinates: {@link SourceReader} (the source), {@link RunningTasks} (who runs),
 * {@link Attempts} (calling `fn`, retries, deadlines), {@link Output} (what is handed out next),
 * {@link Outbox} (parked `next()` calls), the failure policy (below, with `outcome.ts`), and
 * `reporting.ts`. Its methods are public for those pieces; users see it through the
 * {@link ParallelIterator} in front of it, never directly. The pieces call it through its
 * prototype methods, never through closures made per run, so that their call sites stay
 * monomorphic across runs.
 */
export class Run<T, R> implements AttemptHooks<T>, PullListener<T> {
  readonly #config: Config
  readonly #concurrency: number
  readonly #readAhead: number | undefined
  #source: Source<T> | undefined
  #phase: Phase = 'idle'
  #reader: SourceReader<T> | undefined = undefined
  /** Nothing more is pulled: the source ended, failed or was closed, or could not be opened. */
  #sourceDone = false
  #filling = false
  /** Pulls left before the fill loop lets the event loop run (see {@link SLICE}); `Infinity` when unsliced. */
  #budget: number
  #resuming = false
  #pulled = 0

  readonly #running = new RunningTasks<T>()
  readonly #output: Output<T>
  readonly #outbox = new Outbox<R>()
  readonly #attempts: Attempts<T>
  readonly #gate: Gate | undefined
  readonly #queue: StartQueue<Task<T>> | undefined

  /** Under `'abort'`: a failure happened; nothing more is pulled. */
  #failed = false
  /** Under `'abort'`: the index from which nothing is handed out (ordered), and the error to throw. */
  #failIndex = Infinity
  #failure: unknown = undefined
  /** The error to throw is an item's, not the source's: it waits for the source's close (guarantee 5). */
  #itemFailed = false
  /** Under `'continue'`: the items' errors. */
  readonly #errors: ErrorList | undefined
  /** Not under `'abort'`: an error of the source, thrown as is after the items in flight. */
  #sourceError: { error: unknown } | undefined = undefined
  readonly #records: SettledRecords | undefined
  /** With settled records or `onProgress`: their clock, read once per pass (see {@link PassClock}). */
  readonly #clock: PassClock | undefined
  #progress: ProgressReports | undefined = undefined
  #reports: Reports | undefined = undefined
  /**
   * No option that acts on every item is on (a start queue other than a FIFO, settled records,
   * `onProgress`, `onReport`): tasks start and succeed on the lean path, which checks for a gate only.
   */
  #lean: boolean

  /** Settles when a close started by `return()` or an abort has finished, for a later `return()` to await. */
  #closing: Promise<void> | undefined = undefined
  /** An abort is giving the aborted calls their few microtask turns: every `next()` waits. */
  #abortGrace = false
  #onAbort: (() => void) | undefined = undefined

  constructor(fn: Mapper<T, unknown>, config: Config, source: Source<T>) {
    this.#config = config
    this.#concurrency = config.concurrency
    this.#readAhead = config.readAhead
    this.#source = source
    this.#budget = config.readAhead === undefined || config.readAhead > SLICE ? SLICE : Infinity
    this.#output = new Output(config.ordered)
    this.#gate = config.gate?.()
    this.#queue = config.queue?.()
    this.#errors = config.policy === 'continue' ? new ErrorList() : undefined
    this.#clock = config.policy === 'settled' || config.onProgress !== undefined ? new PassClock() : undefined
    this.#records = config.policy === 'settled' ? new SettledRecords(this.#clock!) : undefined
    this.#lean =
      (this.#queue === undefined || this.#queue.fifo === true) &&
      this.#records === undefined &&
      config.onProgress === undefined &&
      config.onReport === undefined
    this.#attempts = new Attempts(fn, this.#running, this, {
      retry: config.retry,
      timeout: config.timeout,
      observe: this.#gate?.observe,
    })
  }

  next(): Promise<IteratorResult<R>> {
    const task = this.#takeReady()
    // The common case makes its result here, without the copy `answerLater` makes (measured: 3 %
    // of an item sync, 6 % async), for the reason that copy is made.
    if (task !== undefined) return Promise.resolve({ done: false, value: task.value as R })
    return answerLater(this.nextNow())
  }

  /** {@link next}'s common case: a finished task to hand out at once, the fill going on after it. */
  #takeReady(): Task<T> | undefined {
    if (this.#phase !== 'active' || this.#outbox.waiting > 0 || this.#abortGrace) return undefined
    const task = this.#output.next()
    if (task !== undefined) this.#fill()
    return task
  }

  /** {@link next}, answering a result that is ready as it is, not in a promise (see `NEXT_NOW`). */
  nextNow(): IteratorResult<R> | Promise<IteratorResult<R>> {
    if (this.#phase === 'idle') this.#start()
    const outbox = this.#outbox
    if (outbox.closed) return outbox.answerClosed()
    if (outbox.waiting === 0 && !this.#abortGrace) {
      const answer = this.#take()
      if (answer === ENDED) return outbox.answerClosed()
      if (answer !== NOT_READY) {
        this.#fill()
        return answer
      }
    }
    const parked = outbox.park()
    this.#fill()
    this.#flush()
    return parked
  }

  /**
   * Stops the run: running calls are aborted, the source is closed, pending `next()` calls resolve
   * done at once; settles once every call has settled (guarantee 5), and never rejects.
   */
  return(): Promise<void> {
    if (this.#phase !== 'closed') {
      this.#closing = this.#close(abortError('The consumer stopped early'), undefined)
      this.#outbox.endNow(this.#closing)
    }
    return this.#closing ?? RESOLVED
  }

  /** Opens the source and listens to the signal, unless the signal has already aborted. */
  #start(): void {
    const { signal, onProgress, onReport, total } = this.#config
    const source = this.#source!
    this.#source = undefined
    if (signal?.aborted) {
      this.#phase = 'closed'
      this.#outbox.abort(signal.reason)
      return
    }
    this.#phase = 'active'
    if (onProgress !== undefined) {
      const limit = this.#gate ?? this.#concurrency
      this.#progress = new ProgressReports(onProgress, total, limit, this.#callbackFailed, this.#clock!)
    }
    if (onReport !== undefined) this.#reports = new Reports(onReport, this.#callbackFailed)
    this.#gate?.attach(this.#wake)
    if (signal !== undefined) {
      this.#onAbort = () => {
        this.#closing = this.#close(signal.reason, { reason: signal.reason })
      }
      signal.addEventListener('abort', this.#onAbort, { once: true })
    }
    try {
      this.#reader = new SourceReader(source)
    } catch (error) {
      // A source that cannot be opened (a locked stream, a broken protocol) fails like a source error.
      this.#sourceFailed(error)
    }
  }

  // ---- the fill loop --------------------------------------------------------------------------

  /** Whether one more call may start now: the concurrency seam (a number, or a `Gate`). */
  #mayStart(): boolean {
    const gate = this.#gate
    return gate === undefined ? this.#running.count < this.#concurrency : gate.mayStart()
  }

  #canPull(): boolean {
    // The read-ahead first: it is what stops a run that keeps up with its consumer.
    return (
      this.#output.held < (this.#readAhead ?? 2 * this.#gate!.limit) &&
      this.#phase === 'active' &&
      !this.#sourceDone &&
      !this.#failed &&
      !this.#reader!.pulling &&
      this.#mayStart()
    )
  }

  /** Starts what may start and pulls while there is room; then answers parked `next()` calls. */
  #fill(): void {
    if (this.#filling) return
    this.#filling = true
    /** The loop ended after a flush: the parked calls have had every answer ready. */
    let answered = false
    try {
      for (;;) {
        if (this.#queue !== undefined && this.#queue.length > 0 && this.#startQueued()) continue
        // Handing results out (or passing dropped ones) frees read-ahead room: pull again at once.
        if (!this.#canPull() && !(this.#flush() && this.#canPull())) {
          answered = true
          break
        }
        if (--this.#budget < 0 && this.#mustYield()) {
          this.#yield()
          break
        }
        const reader = this.#reader!
        if (!reader.sync) {
          void reader.pullTo(this)
          continue
        }
        let item: T | typeof END
        try {
          item = reader.takeSync()
        } catch (error) {
          this.#sourceFailed(error)
          break
        }
        if (item === END) this.#sourceDone = true
        else this.#add(item)
      }
    } finally {
      this.#filling = false
    }
    if (!answered) this.#flush()
    this.#clock?.passEnded()
  }

  /**
   * The budget is spent: whether the run must let the event loop run now, which it must when its
   * read-ahead allows more than a slice. A gate's read-ahead follows its limit, which may change
   * during the run: while it is within a slice, the consumer's `next()` calls pace the run, and the
   * budget starts again instead (a turn of the event loop every slice would cost more than the
   * items themselves).
   */
  #mustYield(): boolean {
    if (this.#readAhead !== undefined || 2 * this.#gate!.limit > SLICE) return true
    this.#budget = SLICE
    return false
  }

  /** The budget is spent: the loop goes on after the event loop has had a turn. */
  #yield(): void {
    this.#budget = 0
    if (this.#resuming) return
    this.#resuming = true
    nextTurn(this.#resume)
  }

  readonly #resume = (): void => {
    this.#resuming = false
    this.#budget = SLICE
    if (this.#phase === 'active') this.#fill()
  }

  /** An async pull has answered (see `SourceReader.pullTo`). */
  pulled(result: IteratorResult<T>): void {
    // After a failure under 'abort' nothing more starts, not even an item whose pull was under way.
    if (this.#phase !== 'active' || this.#failed) return
    if (result.done) this.#sourceDone = true
    else this.#add(result.value)
    this.#fill()
  }

  /** An async pull has failed. */
  pullFailed(error: unknown): void {
    if (this.#phase !== 'active') return
    this.#sourceFailed(error)
    this.#flush()
  }

  /** A pulled item: it starts now, or waits in the start queue. */
  #add(item: T): void {
    const task = new Task(item, this.#pulled++, this.#reports)
    this.#output.pulled(task)
    const queue = this.#queue
    if (queue === undefined || (queue.fifo === true && queue.length === 0 && this.#mayStart())) {
      if (this.#lean) {
        this.#running.count++
        this.#gate?.started()
      } else this.#begin(task)
      this.#attempts.start(task)
    } else this.#enqueue(task, queue)
  }

  /** A pulled task waits in the start queue (apart from {@link add}, so that V8 inlines that whole). */
  #enqueue(task: Task<T>, queue: StartQueue<Task<T>>): void {
    task.state = 'queued'
    try {
      queue.add(task)
    } catch (error) {
      // The queue could not place it (its key function threw): it fails as if `fn` had thrown,
      // without a call and without a slot.
      this.#records?.started(task)
      const progress = this.#progress
      if (progress !== undefined) {
        progress.counter.started++
        progress.counter.failed++
      }
      task.state = 'running'
      this.#conclude(task, false, error, 1)
      progress?.emit()
    }
  }

  /** Starts the queued task that may start now, if any; tells whether it did. */
  #startQueued(): boolean {
    if (this.#phase !== 'active' || !this.#mayStart()) return false
    const task = this.#queue!.next()
    if (task === undefined) return false
    task.state = 'running'
    this.#begin(task)
    this.#attempts.start(task)
    return true
  }

  /** A task takes its slot. */
  #begin(task: Task<T>): void {
    this.#running.count++
    this.#gate?.started()
    this.#records?.started(task)
    const progress = this.#progress
    if (progress !== undefined) {
      progress.counter.started++
      progress.counter.running++
    }
  }

  readonly #wake = (): void => {
    if (this.#phase === 'active') this.#fill()
  }

  // ---- outcomes -------------------------------------------------------------------------------

  consumerWaiting(): boolean {
    return this.#outbox.waiting > 0
  }

  /** A task's final outcome: frees its slot, applies the failure policy, and hands results on. */
  settle(task: Task<T>, ok: boolean, value: unknown): void {
    if (ok && this.#lean && task.state === 'running') {
      // The lean path: a success with no option to serve but a gate.
      task.context = undefined
      this.#running.settled(task)
      task.value = value
      task.state = 'fulfilled'
      this.#output.finished(task)
      // Only now, as in #settleWithOptions: the gate may wake this very run at once.
      this.#gate?.ended()
    } else {
      this.#settleWithOptions(task, ok, value)
    }
    // Within the fill loop (a synchronous result), the loop goes on by itself.
    if (!this.#filling && this.#phase === 'active') this.#fill()
  }

  /** {@link settle} for a failure, an aborted task, or a run with options to serve. */
  #settleWithOptions(task: Task<T>, ok: boolean, value: unknown): void {
    const attempts = task.context?.attempt ?? 1
    task.context = undefined
    this.#running.settled(task)
    this.#queue?.ended(task)
    this.#reports?.settled(task)
    const progress = this.#progress
    if (progress !== undefined) {
      progress.counter.running--
      if (ok) progress.counter.succeeded++
      else progress.counter.failed++
    }
    this.#conclude(task, ok, value, attempts)
    // Only now: a shared limiter may wake this very run at once, which must then find the result
    // in the output, or, having found the source done, it ends without it.
    this.#gate?.ended()
    progress?.emit()
    // A closed run's pass ends here; an active run's ends with the fill that follows.
    if (this.#phase !== 'active') this.#clock?.passEnded()
  }

  /** Applies the failure policy to a task's outcome: what it becomes, and what it does to the run. */
  #conclude(task: Task<T>, ok: boolean, value: unknown, attempts: number): void {
    if (task.state === 'aborting') {
      task.state = 'dropped'
      this.#output.finished(task)
    } else if (this.#records !== undefined) {
      task.value = this.#records.record(task, ok, value, attempts)
      task.state = 'fulfilled'
      this.#output.finished(task)
    } else if (ok) {
      task.value = value
      task.state = 'fulfilled'
      this.#output.finished(task)
    } else if (this.#errors !== undefined) {
      this.#errors.add(task.index, value)
      task.state = 'dropped'
      this.#output.finished(task)
    } else {
      task.state = 'failed'
      this.#fail(task.index, value, true)
    }
  }

  /**
   * Under `'abort'`: nothing more is pulled, the source is closed, and the in-flight items a loop
   * would not have reached are aborted. Ordered, those are the items from `index` on; as-completed,
   * all of them, and the results not handed out yet are dropped. `ofItem`: the error is an item's.
   */
  #fail(index: number, error: unknown, ofItem: boolean): void {
    const ordered = this.#config.ordered
    if (this.#failed && (!ordered || index >= this.#failIndex)) return
    this.#failed = true
    const from = ordered ? index : -1
    this.#failIndex = from
    this.#failure = error
    this.#itemFailed = ofItem
    this.#abort(from, abortError('Aborted because another item failed'))
    this.#output.stop(from)
    void this.#closeSource()
  }

  /** Aborts the running tasks from index `from` on, and drops the queued ones. */
  #abort(from: number, reason: unknown): void {
    this.#running.forEach((task) => {
      if (task.index >= from) this.#attempts.abort(task, reason)
    })
    const queue = this.#queue
    if (queue === undefined) return
    for (const task of queue.drop(from)) {
      task.state = 'dropped'
      this.#output.finished(task)
    }
  }

  /**
   * An error of the source (or of an `onProgress`/`onReport` callback) counts as a failure after
   * the last item pulled: nothing more is pulled, and the items in flight finish first (under
   * `'abort'` as-completed, they are aborted instead).
   */
  #sourceFailed(error: unknown): void {
    void this.#closeSource()
    if (this.#config.policy === 'abort') this.#fail(this.#pulled, error, false)
    else this.#sourceError ??= { error }
  }

  readonly #callbackFailed = (error: unknown): void => {
    if (this.#phase === 'active') this.#sourceFailed(error)
  }

  // ---- handing out ----------------------------------------------------------------------------

  /** Answers parked `next()` calls, in call order, with whatever is ready; tells whether that freed read-ahead room. */
  #flush(): boolean {
    const outbox = this.#outbox
    if (this.#abortGrace || outbox.closed) return false
    const held = this.#output.held
    while (outbox.waiting > 0) {
      const answer = this.#take()
      if (answer === NOT_READY || answer === ENDED) break
      outbox.resolve(answer)
    }
    return this.#output.held !== held
  }

  /**
   * The next answer for a consumer if one is ready, `NOT_READY` otherwise, or `ENDED` when this
   * call ended the run and gave the outbox its last answer.
   */
  #take(): IteratorResult<R> {
    const task = this.#output.next()
    if (task !== undefined) return { done: false, value: task.value as R }
    return this.#running.count > 0 ? NOT_READY : this.#takeLast()
  }

  /** {@link take} with nothing to hand out and nothing running: the run may be over. */
  #takeLast(): IteratorResult<R> {
    if (this.#queue !== undefined && this.#queue.length > 0) return NOT_READY
    if (!this.#failed && !this.#sourceDone) return NOT_READY
    return this.#end()
  }

  /**
   * Ends a run that has nothing left running or waiting: the outbox answers the oldest waiting call
   * with the run's error, if there is one, and every other call with done. An item's error is
   * thrown once the source has closed, as the run's `return()` would resolve (an upstream operator
   * over another `parallelMap` has then let its calls settle); the source's own error is passed on
   * without waiting, as the operators pass it on.
   */
  #end(): IteratorResult<R> {
    // The last progress report comes first, so that an error it throws is the run's.
    this.#progress?.emit()
    this.#phase = 'closed'
    this.#stopListening()
    this.#release()
    const closing = this.#closeSource()
    this.#closing = closing
    const failure = this.#failed
      ? { error: this.#failure }
      : (this.#sourceError ?? (this.#errors?.length ? { error: this.#errors.aggregate(this.#pulled) } : undefined))
    if (failure === undefined) this.#outbox.end(closing)
    else this.#outbox.fail(failure.error, closing, this.#failed && this.#itemFailed)
    return ENDED
  }

  // ---- closing --------------------------------------------------------------------------------

  /**
   * Stops everything: running tasks are aborted with `reason`, queued ones dropped, the source is
   * closed, and the returned promise settles once every task has settled. With `abort` (the
   * `signal` aborted), parked and later `next()` calls reject with its reason. It never rejects,
   * so that nobody awaiting it can miss an error.
   */
  async #close(reason: unknown, abort: { reason: unknown } | undefined): Promise<void> {
    const wasIdle = this.#phase === 'idle'
    this.#phase = 'closed'
    this.#source = undefined
    this.#stopListening()
    if (wasIdle) return
    this.#abort(0, reason)
    const closingSource = this.#closeSource()
    if (abort !== undefined) {
      // Guarantee 6 rejects a pending next() at once; guarantee 5 wants the loop to exit after the
      // aborted calls have settled. Calls that honour their signal settle within a few microtask
      // turns, so wait that long (never a timer, never a macrotask) before answering.
      // A next() called meanwhile waits too (it is parked, and answered with the others).
      this.#abortGrace = true
      for (let turn = 0; turn < ABORT_GRACE_TURNS && this.#running.count > 0; turn++) await Promise.resolve()
      this.#abortGrace = false
      this.#outbox.abort(abort.reason)
    }
    // Deadlines keep running meanwhile: a call that ignores its signal is abandoned at its deadline.
    await this.#running.whenIdle()
    this.#release()
    this.#output.clear()
    this.#progress?.emit()
    await closingSource
  }

  #stopListening(): void {
    if (this.#onAbort !== undefined) {
      this.#config.signal!.removeEventListener('abort', this.#onAbort)
      this.#onAbort = undefined
    }
  }

  /** Lets go of what the run holds once nothing runs: the gate, the deadline timer. */
  #release(): void {
    this.#gate?.detach()
    this.#attempts.clear()
  }

  /**
   * Calls the source's `return()` once, unless it has ended, and settles once that has, as a stage
   * of a pipeline does (see `SourceReader.closeUpstream`): an upstream operator over another
   * `parallelMap` has then let its calls settle. Nothing more is pulled.
   */
  #closeSource(): Promise<void> {
    this.#sourceDone = true
    return this.#reader === undefined ? RESOLVED : this.#reader.closeUpstream()
  }
}

/**
 * The iterator `parallelMap` returns: a hand-written async iterator (no async generator on the hot
 * path) in front of its {@link Run}, showing users the iterator protocol only.
 */
export class ParallelIterator<T, R> implements AsyncIterableIterator<R>, AnswersNow<R> {
  /**
   * One idle instance, kept for the life of the module. V8 holds an object's hidden class only
   * weakly: a full GC that finds no live iterator drops it and deoptimizes the scheduler code
   * compiled against it, and after a few such rounds the hot path stays slow (measured on 100k
   * trivial items: 33 ms a run becomes 80-95 ms). A live instance keeps the classes, and the code.
   */
  static shapeKeeper: ParallelIterator<unknown, unknown> | undefined

  readonly #run: Run<T, R>

  /** `return()` answers pending `next()` calls at once (done): operators after it may chain its answers. */
  readonly [ANSWERS_ON_RETURN] = true

  constructor(fn: Mapper<T, unknown>, config: Config, source: Source<T>) {
    this.#run = new Run(fn, config, source)
  }

  [Symbol.asyncIterator](): this {
    return this
  }

  next(): Promise<IteratorResult<R>> {
    return this.#run.next()
  }

  /** `next()` for the operators after it: a result that is ready is answered as it is. */
  [NEXT_NOW](): IteratorResult<R> | Promise<IteratorResult<R>> {
    return this.#run.nextNow()
  }

  /**
   * Stops the run: running calls are aborted, the source is closed, pending `next()` calls resolve
   * done at once; resolves once every call has settled (guarantee 5).
   */
  async return(value?: unknown): Promise<IteratorResult<R>> {
    await this.#run.return()
    return { done: true, value: value as R }
  }

  /** `await using` support: the same as {@link return}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.#run.return()
  }
}

ParallelIterator.shapeKeeper = new ParallelIterator<unknown, unknown>((x) => x, configure(undefined, false), [])
