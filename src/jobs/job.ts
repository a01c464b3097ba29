/// <reference lib="esnext.disposable" preserve="true" />
// Declares Symbol.asyncDispose for consumers whose lib setting lacks it (Node 20 has it at run time).
import { checkBoolean, checkInteger, checkObject, checkOptions, checkSource, checkString } from '../errors.js'
import { deferred, type Deferred } from '../internal/deferred.js'
import { Deque } from '../internal/deque.js'
import { closeIterator } from '../internal/iterator.js'
import { DONE } from '../internal/outbox.js'
import { open } from '../internal/source.js'
import type { Progress, Source } from '../types.js'
import { readTimeout, untilFinished, type WaitOptions } from './until-finished.js'

/**
 * Where a job is in its life: `'Running'` from the start, then exactly one of `'Completed'` (the
 * source ended), `'Failed'` (the factory or the source threw; see `job.error`) or `'Stopped'`
 * (`stop()` was called). PowerShell's `JobState` names.
 */
export type JobState = 'Running' | 'Completed' | 'Failed' | 'Stopped'

/** What a job's factory receives: wire both into the pipeline it returns. */
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

/** Options of `job.receive()`. */
export interface ReceiveOptions {
  /** `true`: leave the results in the job, to be received again (`Receive-Job -Keep`). Default `false`. */
  readonly keep?: boolean
}

/** One async iterator over a job: ended by its own `return()`, or after the job's end. */
interface Cursor {
  closed: boolean
}

/**
 * A `next()` call of a job's async iterator that waits for a result or for the job's end. Methods,
 * not function properties, so that a `Job<string>` is still a `Job<unknown>`.
 */
interface Reader<T> {
  readonly cursor: Cursor
  resolve(result: IteratorResult<T>): void
  reject(reason: unknown): void
}

let lastId = 0

/**
 * A pipeline running in the background, as returned by {@link startJob}: PowerShell's job object,
 * with `receive()` (`Receive-Job`), `wait()` (`Wait-Job`) and `stop()` (`Stop-Job`).
 *
 * It is an `EventTarget` and fires plain `Event`s, with the job as `target`:
 * - `data` when a result is added to the buffer (not for a result handed straight to a waiting
 *   async iterator);
 * - `progress` when the pipeline reports progress (see `job.progress`);
 * - `statechange` once, when the job leaves `'Running'` (see `job.state`, `job.error`).
 *
 * A job never causes an unhandled rejection: a failure is kept in `error`, and is thrown only to
 * a caller that asked for results through the async iterator.
 */
export class Job<T> extends EventTarget implements AsyncIterable<T> {
  /** Unique, increasing from 1 in the order jobs are started. */
  readonly id: number
  /** The `name` option, or `Job<id>`. */
  readonly name: string
  /** `Date.now()` when the job started. */
  readonly startedAt: number

  #state: JobState = 'Running'
  #error: unknown
  #progress: Progress | undefined
  #finishedAt: number | undefined
  readonly #maxBuffered: number
  readonly #buffer = new Deque<T>()
  #readers: Reader<T>[] = []
  /** The pump waits here while the buffer is full. */
  #room: Deferred<void> | undefined
  readonly #controller = new AbortController()
  #stopping = false
  /** The source has ended or thrown: the job finishes as it is, a `stop()` now changes nothing. */
  #ended = false
  /** The open source, until it ends, throws, or is closed. */
  #iterator: Iterator<T> | AsyncIterator<T> | undefined
  #closing: Promise<void> = Promise.resolve()
  readonly #finished = deferred<void>()
  readonly #context: JobContext

  /**
   * Starts a job; the same as {@link startJob}, which reads better.
   *
   * @throws TypeError or RangeError for an invalid source or option.
   */
  constructor(source: JobSource<T>, options?: JobOptions) {
    super()
    if (typeof source !== 'function') checkSource(source)
    const o = checkOptions<JobOptions>('options', options, { name: true, maxBuffered: true })
    const name = o.name === undefined ? undefined : checkString('name', o.name)
    this.#maxBuffered = o.maxBuffered === undefined ? Infinity : checkInteger('maxBuffered', o.maxBuffered, 1, true)
    this.id = ++lastId
    this.name = name ?? `Job${this.id}`
    this.startedAt = Date.now()
    this.#context = {
      signal: this.#controller.signal,
      reportProgress: (progress) => {
        this.#progress = checkObject<Progress>('progress', progress)
        this.dispatchEvent(new Event('progress'))
      },
    }
    // A microtask later, so that listeners added right after startJob() see every event.
    void Promise.resolve().then(() => this.#run(source))
  }

  /** See {@link JobState}. */
  get state(): JobState {
    return this.#state
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

  /** `Date.now()` when the job left `'Running'`; `undefined` while it runs. */
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
   * does nothing to a job that has already finished.
   *
   * A source that ignores the signal and is waiting inside its `next()` delays the end until that
   * `next()` settles (a `parallelMap` answers at once and settles when its aborted calls have).
   */
  stop(): Promise<void> {
    if (this.#state === 'Running' && !this.#stopping && !this.#ended) {
      this.#stopping = true
      this.#controller.abort(new DOMException('The job was stopped', 'AbortError'))
      this.#closing = this.#close()
      this.#room?.resolve()
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
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    const cursor: Cursor = { closed: false }
    const iterator: AsyncIterableIterator<T> = {
      [Symbol.asyncIterator]: () => iterator,
      next: () => {
        if (cursor.closed) return Promise.resolve(DONE)
        if (this.#buffer.length > 0) {
          const value = this.#buffer.shift() as T
          this.#makeRoom()
          return Promise.resolve({ done: false, value })
        }
        const { promise, resolve, reject } = deferred<IteratorResult<T>>()
        const reader: Reader<T> = { cursor, resolve, reject }
        if (this.#state === 'Running') this.#readers.push(reader)
        else this.#end(reader)
        return promise
      },
      return: () => {
        cursor.closed = true
        const readers = this.#readers
        this.#readers = readers.filter((reader) => reader.cursor !== cursor)
        for (const reader of readers) if (reader.cursor === cursor) reader.resolve(DONE)
        return Promise.resolve(DONE)
      },
    }
    return iterator
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
    if (typeof input === 'function') checkSource(source)
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
    const reader = this.#readers.shift()
    if (reader) {
      reader.resolve({ done: false, value })
      return
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
    return iterator === undefined ? Promise.resolve() : closeIterator(iterator, false)
  }

  #finish(state: Exclude<JobState, 'Running'>, error?: unknown): void {
    this.#state = state
    this.#error = error
    this.#finishedAt = Date.now()
    const readers = this.#readers
    this.#readers = []
    for (const reader of readers) this.#end(reader)
    this.dispatchEvent(new Event('statechange'))
    this.#finished.resolve()
  }

  /** Answers a reader after the job's end: the failure, once per iterator, then done. */
  #end(reader: Reader<T>): void {
    const fails = this.#state === 'Failed' && !reader.cursor.closed
    reader.cursor.closed = true
    if (fails) reader.reject(this.#error)
    else reader.resolve(DONE)
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
