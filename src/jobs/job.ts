/// <reference lib="esnext.disposable" preserve="true" />
// Declares Symbol.asyncDispose for consumers whose lib setting lacks it (Node 20 has it at run time).
import { checkBoolean, checkInteger, checkObject, checkOptions, checkSource, checkString, describe } from '../errors.js'
import { deferred, type Deferred } from '../internal/deferred.js'
import { Deque } from '../internal/deque.js'
import { ITEM_SETTLED, type SettleAwareReportHandler } from '../internal/item-report.js'
import { closeIterator } from '../internal/iterator.js'
import { DONE, Outbox } from '../internal/outbox.js'
import { isSource, open } from '../internal/source.js'
import type { ItemReport, Progress, Source } from '../types.js'
import { checkTimeout, isFinished, readTimeout, untilFinished, type WaitOptions } from './until-finished.js'

/**
 * Where a job is in its life: `'Running'` from the start (or `'NotStarted'` first, while a
 * `JobTable`'s `throttleLimit` holds it back), then exactly one of `'Completed'` (the source
 * ended), `'Failed'` (the factory or the source threw; see `job.error`) or `'Stopped'` (`stop()`
 * was called). PowerShell's `JobState` names.
 */
export type JobState = 'NotStarted' | 'Running' | 'Completed' | 'Failed' | 'Stopped'

/** What a job's factory receives: wire it into the pipeline the factory returns. */
export interface JobContext {
  /**
   * Aborted by `job.stop()` (the reason is a `DOMException` named `'AbortError'`). Pass it as
   * `parallelMap`'s `signal` so that stopping the job aborts the in-flight work.
   */
  readonly signal: AbortSignal
  /**
   * Records the latest {@link Progress} as `job.progress` and fires the job's `progress` event. Pass
   * it as `parallelMap`'s `onProgress`.
   */
  readonly reportProgress: (progress: Progress) => void
  /**
   * Records an item's report as the latest of that item in `job.itemReports` and fires the job's
   * `report` event; the entry goes when the item settles. Pass it as `parallelMap`'s `onReport`
   * (one `parallelMap` per job: the entries are keyed by item index).
   */
  readonly reportItem: (report: ItemReport) => void
}

/**
 * What {@link startJob} runs: a source, or a factory that receives a {@link JobContext} and returns
 * a source (or a promise of one).
 */
export type JobSource<T> = Source<T> | ((context: JobContext) => Source<T> | PromiseLike<Source<T>>)

/** Options of {@link startJob}. */
export interface JobOptions {
  /** Any string, for people and logs. Default `Job<id>` (`Job1`, `Job2`, …), like PowerShell. */
  readonly name?: string
  /**
   * Most results held for `receive()` (integer >= 1, or `Infinity`). A full buffer pauses the pulling
   * until `receive()` or the job's async iterator takes results out. Default `Infinity`: like a
   * PowerShell job, the buffer grows as long as nobody receives.
   */
  readonly maxBuffered?: number
}

/** Options of `job.stop()`. */
export interface StopOptions {
  /**
   * Most milliseconds to wait for the work to settle: >= 0 and at most 2147483647, or `Infinity`
   * to wait for ever. At the timeout the job is `'Stopped'` and work that ignored its aborted
   * signal is abandoned. Default 5000.
   */
  readonly timeout?: number
}

/** How long `stop()` waits for the work to settle when no `timeout` is given. */
const STOP_TIMEOUT = 5_000

/**
 * The private option key of a `JobTable`: a job started with a function under it is
 * `'NotStarted'` and hands that function its start function, which the table calls when a slot is
 * free. Users cannot reach the symbol, and a symbol key passes `checkOptions`.
 */
export const START_LATER: unique symbol = Symbol('foreach-parallel.startLater')

/** {@link JobOptions} as a `JobTable` passes them. */
export interface QueuedJobOptions extends JobOptions {
  readonly [START_LATER]: (start: () => void) => void
}

/** Options of `job.receive()`. */
export interface ReceiveOptions {
  /** `true`: leave the results in the job, to be received again (`Receive-Job -Keep`). Default `false`. */
  readonly keep?: boolean
}

let lastId = 0

const RESOLVED: Promise<void> = Promise.resolve()

/**
 * A pipeline running in the background, as returned by {@link startJob}: PowerShell's job object,
 * with `receive()` (`Receive-Job`), `wait()` (`Wait-Job`) and `stop()` (`Stop-Job`).
 *
 * It is an `EventTarget` and fires events with the job as `target`:
 * - `data` when a result is added to the buffer (not for a result handed straight to a waiting
 *   async iterator);
 * - `progress` when the pipeline reports progress (see `job.progress`);
 * - `report` when an item reports (a `CustomEvent` whose `detail` is the {@link ItemReport}; see
 *   `job.itemReports`);
 * - `statechange` when `state` changes: once when the job leaves `'Running'` (see `job.state`,
 *   `job.error`), and before that once more for a job a `JobTable` held as `'NotStarted'`.
 *
 * A job never causes an unhandled rejection: a failure is kept in `error`, and is thrown only to
 * a caller that asked for results through the async iterator.
 */
export class Job<T> extends EventTarget implements AsyncIterable<T> {
  /** Unique, increasing from 1 in the order jobs are created. */
  readonly id: number
  /** The `name` option, or `Job<id>`. */
  readonly name: string

  #state: JobState = 'NotStarted'
  #startedAt: number | undefined
  #error: unknown
  #progress: Progress | undefined
  readonly #itemReports = new Map<number, ItemReport>()
  #finishedAt: number | undefined
  readonly #maxBuffered: number
  readonly #buffer = new Deque<T>()
  /**
   * The outbox of every parked `next()` call of the job's async iterators, oldest call first. Of
   * `unknown`, not `T`: an `Outbox<T>` is invariant in `T`, and a `Job<string>` is a `Job<unknown>`.
   */
  readonly #parked = new Deque<Outbox<unknown>>()
  /** The pump waits here while the buffer is full. */
  #room: Deferred<void> | undefined
  readonly #controller = new AbortController()
  #stopping = false
  /** The source has ended or thrown: the job finishes as it is, a `stop()` now changes nothing. */
  #ended = false
  /** The open source, until it ends, throws, or is closed. */
  #iterator: Iterator<T> | AsyncIterator<T> | undefined
  #closing: Promise<void> = RESOLVED
  /** When a stuck stop gives up on the work (`Date.now()` ms), and its timer. */
  #deadline = Infinity
  #deadlineTimer: ReturnType<typeof setTimeout> | undefined
  readonly #finished = deferred<void>()
  readonly #context: JobContext

  /**
   * Starts a job; the same as {@link startJob}, which reads better.
   *
   * @throws TypeError or RangeError for an invalid source or option.
   */
  constructor(source: JobSource<T>, options?: JobOptions) {
    super()
    if (typeof source !== 'function' && !isSource(source)) {
      throw new TypeError(
        `Expected source to be an iterable or async iterable (not a string), or a function that returns one, got ${describe(source)}`,
      )
    }
    const o = checkOptions<JobOptions>('options', options, { name: true, maxBuffered: true })
    const name = o.name === undefined ? undefined : checkString('name', o.name)
    this.#maxBuffered = o.maxBuffered === undefined ? Infinity : checkInteger('maxBuffered', o.maxBuffered, 1, true)
    this.id = ++lastId
    this.name = name ?? `Job${this.id}`
    const reportItem: SettleAwareReportHandler<unknown> = Object.assign(
      (report: ItemReport) => {
        checkObject('report', report)
        if (this.#state !== 'Running') return
        this.#itemReports.set(report.index, report)
        this.dispatchEvent(new CustomEvent('report', { detail: report }))
      },
      { [ITEM_SETTLED]: (index: number) => this.#itemReports.delete(index) },
    )
    this.#context = {
      signal: this.#controller.signal,
      reportProgress: (progress) => {
        this.#progress = checkObject<Progress>('progress', progress)
        this.dispatchEvent(new Event('progress'))
      },
      reportItem,
    }
    // tsc needs the assertion (START_LATER is not a key of JobOptions); the lint's program disagrees.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
    const startLater = (options as Partial<QueuedJobOptions> | undefined)?.[START_LATER]
    if (startLater === undefined) this.#start(source, false)
    else startLater(() => this.#start(source, true))
  }

  /** See {@link JobState}. */
  get state(): JobState {
    return this.#state
  }

  /** `Date.now()` when the job started running; `undefined` while it is `'NotStarted'`. */
  get startedAt(): number | undefined {
    return this.#startedAt
  }

  /** Whether results are waiting to be received (PowerShell's `HasMoreData`). */
  get hasMoreData(): boolean {
    return this.#buffer.length > 0
  }

  /** What the factory or the source threw, when the state is `'Failed'`; otherwise `undefined`. */
  get error(): unknown {
    return this.#error
  }

  /** The latest {@link Progress} given to `context.reportProgress`, or `undefined` before any. */
  get progress(): Progress | undefined {
    return this.#progress
  }

  /**
   * The latest report of every running item that has reported, by item index: what
   * `context.reportItem` received (wired as `parallelMap`'s `onReport`). An item's entry goes when
   * the item settles, and all of them when the job finishes. A live view, not a copy.
   */
  get itemReports(): ReadonlyMap<number, ItemReport> {
    return this.#itemReports
  }

  /** `Date.now()` when the job reached its final state; `undefined` until then. */
  get finishedAt(): number | undefined {
    return this.#finishedAt
  }

  /**
   * Returns the results produced since the last `receive()`, oldest first, and removes them
   * unless `keep` (`Receive-Job`, `Receive-Job -Keep`). Never throws for the job's failure: look
   * at `state` and `error`. Removing results makes room under `maxBuffered`.
   *
   * @throws TypeError for invalid options.
   */
  receive(options?: ReceiveOptions): T[] {
    const o = checkOptions<ReceiveOptions>('options', options, { keep: true })
    const keep = o.keep === undefined ? false : checkBoolean('keep', o.keep)
    const results = this.#buffer.toArray()
    if (!keep) {
      this.#buffer.clear()
      this.#makeRoom()
    }
    return results
  }

  /**
   * Resolves `true` once the job has finished (`Wait-Job`), or `false` at the `timeout`. Never
   * rejects, leaves the job running at the timeout, and clears its timer either way.
   *
   * @throws TypeError or RangeError for invalid options, at once.
   */
  wait(options?: WaitOptions): Promise<boolean> {
    const timeout = readTimeout(options)
    return untilFinished([this], true, timeout).then((finished) => finished !== undefined)
  }

  /**
   * Stops the job (`Stop-Job`): aborts `context.signal`, closes the pipeline (calls its iterator's
   * `return()`), and resolves once the pipeline has settled, with the state `'Stopped'`. Results
   * produced before the call stay receivable; any arriving after it are discarded. Never rejects;
   * does nothing to a job that has already finished. A `'NotStarted'` job is `'Stopped'` at once,
   * its source untouched.
   *
   * Work that ignores the aborted signal and never settles (a source waiting inside its `next()`,
   * say) does not hold the stop for ever: at the `timeout` the job is `'Stopped'` and that work is
   * abandoned. Every call returns the same promise; a shorter `timeout` brings the end forward.
   *
   * @throws TypeError or RangeError for invalid options, at once.
   */
  stop(options?: StopOptions): Promise<void> {
    const o = checkOptions<StopOptions>('options', options, { timeout: true })
    const timeout = o.timeout === undefined ? STOP_TIMEOUT : checkTimeout(o.timeout)
    if (this.#state === 'NotStarted') {
      this.#stopping = true
      this.#finish('Stopped')
    } else if (this.#state === 'Running' && !this.#ended) {
      if (!this.#stopping) {
        this.#stopping = true
        this.#controller.abort(new DOMException('The job was stopped', 'AbortError'))
        this.#closing = this.#close()
        this.#room?.resolve()
      }
      if (timeout !== undefined) this.#giveUpAfter(timeout)
    }
    return this.#finished.promise
  }

  /** Stops the job, for `await using job = startJob(…)`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop()
  }

  /**
   * Streams the results as they come (`Receive-Job -Wait`): first those waiting in the buffer,
   * which it removes as it hands them out. It ends when the job has ended and nothing is left, and
   * then throws the job's `error` if it failed. Leaving the loop early does not stop the job.
   * Several iterators share the results: each goes to the oldest waiting `next()` call.
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    const outbox = new Outbox<unknown>()
    const iterator: AsyncIterableIterator<T> = {
      [Symbol.asyncIterator]: () => iterator,
      next: () => {
        if (!outbox.closed) {
          if (this.#buffer.length > 0) {
            const value = this.#buffer.shift() as T
            this.#makeRoom()
            return Promise.resolve({ done: false, value })
          }
          if (!isFinished(this.#state)) {
            this.#parked.push(outbox)
            return outbox.park() as Promise<IteratorResult<T>>
          }
          this.#end(outbox)
        }
        return outbox.answerClosed() as Promise<IteratorResult<T>>
      },
      return: () => {
        outbox.endNow(RESOLVED)
        return Promise.resolve(DONE)
      },
    }
    return iterator
  }

  /** Leaves `'NotStarted'` and starts the pipeline a microtask later, unless stopped meanwhile. */
  #start(source: JobSource<T>, announce: boolean): void {
    if (this.#state !== 'NotStarted') return
    this.#state = 'Running'
    this.#startedAt = Date.now()
    if (announce) this.dispatchEvent(new Event('statechange'))
    // A microtask later, so that listeners added right after startJob() see every event.
    void Promise.resolve().then(() => this.#run(source))
  }

  /** Runs the pipeline to its end and settles the job. Never rejects. */
  async #run(input: JobSource<T>): Promise<void> {
    let failure: { error: unknown } | undefined
    try {
      if (!this.#stopping) await this.#pull(input)
    } catch (error) {
      failure = { error }
      this.#ended = true
    }
    await this.#closing
    await this.#close()
    if (this.#stopping) this.#finish('Stopped')
    else if (failure) this.#finish('Failed', failure.error)
    else this.#finish('Completed')
  }

  async #pull(input: JobSource<T>): Promise<void> {
    const source = typeof input === 'function' ? await input(this.#context) : input
    if (typeof input === 'function') checkSource(source, "the factory's result")
    const opened = open(source)
    this.#iterator = opened.iterator
    while (!this.#stopping) {
      if (this.#buffer.length >= this.#maxBuffered) {
        this.#room = deferred()
        await this.#room.promise
        this.#room = undefined
        continue
      }
      let result: IteratorResult<T>
      try {
        result = opened.sync ? opened.iterator.next() : await opened.iterator.next()
      } catch (error) {
        // An iterator that threw is finished: there is nothing to close.
        this.#iterator = undefined
        throw error
      }
      if (result.done) {
        // Set before any await: a consumer resumed by the last result may call stop() next.
        this.#ended = true
        this.#iterator = undefined
        return
      }
      // Like `for await`, a promise from a synchronous source is awaited.
      const value = opened.sync ? await result.value : result.value
      if (this.#stopping) return
      this.#push(value)
    }
  }

  #push(value: T): void {
    for (let outbox = this.#parked.shift(); outbox !== undefined; outbox = this.#parked.shift()) {
      // An iterator closed by its return() has already answered its parked calls.
      if (outbox.waiting > 0) {
        outbox.resolve({ done: false, value })
        return
      }
    }
    this.#buffer.push(value)
    this.dispatchEvent(new Event('data'))
  }

  #makeRoom(): void {
    if (this.#room && this.#buffer.length < this.#maxBuffered) this.#room.resolve()
  }

  /** Calls the open iterator's `return()`, once; the promise settles with it and never rejects. */
  #close(): Promise<void> {
    const iterator = this.#iterator
    this.#iterator = undefined
    return iterator === undefined ? RESOLVED : closeIterator(iterator, false)
  }

  /** Makes the job `'Stopped'` in `timeout` ms at the latest, whatever its work does. */
  #giveUpAfter(timeout: number): void {
    const deadline = Date.now() + timeout
    if (deadline >= this.#deadline) return
    this.#deadline = deadline
    clearTimeout(this.#deadlineTimer)
    this.#deadlineTimer = setTimeout(() => this.#finish('Stopped'), timeout)
  }

  /** Settles the job, once: a stuck stop may have given up on the work before it settles. */
  #finish(state: 'Completed' | 'Failed' | 'Stopped', error?: unknown): void {
    if (isFinished(this.#state)) return
    clearTimeout(this.#deadlineTimer)
    this.#state = state
    this.#error = error
    this.#finishedAt = Date.now()
    this.#itemReports.clear()
    for (let outbox = this.#parked.shift(); outbox !== undefined; outbox = this.#parked.shift()) this.#end(outbox)
    this.dispatchEvent(new Event('statechange'))
    this.#finished.resolve()
  }

  /** Ends an async iterator after the job's end: with the failure, once per iterator, or done. */
  #end(outbox: Outbox<unknown>): void {
    if (this.#state === 'Failed') outbox.fail(this.#error, RESOLVED)
    else outbox.end(RESOLVED)
  }
}

/**
 * Starts pulling a pipeline at once in the background and returns its {@link Job}: PowerShell's
 * `ForEach-Object -Parallel … -AsJob` and `Start-Job`. Give a factory rather than a source to wire
 * the job's `signal` (for `stop()`) and `reportProgress` (for `job.progress`) into the pipeline.
 *
 * @param source - a {@link Source}, or `(context) => source` (may return a promise of a source).
 *   The factory is called a microtask later; if it throws, rejects, or returns something that is
 *   not a source, the job fails.
 * @param options - see {@link JobOptions}.
 * @throws TypeError or RangeError at once for a source that is neither a source nor a function,
 *   and for invalid options.
 *
 * @example
 * ```ts
 * const job = startJob(({ signal, reportProgress }) =>
 *   parallelMap(fetchStatus, { concurrency: 10, signal, onProgress: reportProgress, total: urls.length })(urls),
 * )
 * await job.wait({ timeout: 5_000 })
 * console.log(job.state, job.progress?.percent, job.receive())
 * await job.stop()
 * ```
 */
export function startJob<T>(source: JobSource<T>, options?: JobOptions): Job<T> {
  return new Job(source, options)
}
