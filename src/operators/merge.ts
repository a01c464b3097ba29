/// <reference lib="esnext.disposable" preserve="true" />
// Declares Symbol.asyncDispose for consumers whose lib setting lacks it (Node 20 has it at run time).
import { checkSource } from '../errors.js'
import { Deque } from '../internal/deque.js'
import { ANSWERS_ON_RETURN } from '../internal/iterator.js'
import { DONE, Outbox } from '../internal/outbox.js'
import { SourceReader, type PullListener } from '../internal/source-reader.js'
import type { Source } from '../types.js'

/** The item type of a source. */
export type ItemOf<S> = S extends Source<infer T> ? T : never

/** One source being merged, and where the outcomes of its pulls go. */
interface Lane<T> extends PullListener<T> {
  readonly reader: SourceReader<T>
  /** Ended or closed: its late answers are dropped, and it is not pulled or closed again. */
  done: boolean
}

const RESOLVED: Promise<void> = Promise.resolve()

function ignore(): void {}

class MergeIterator<T> implements AsyncIterableIterator<T>, AsyncDisposable {
  #sources: Source<T>[] | undefined
  readonly #lanes: Lane<T>[] = []
  /** Lanes that have not ended. */
  #open = 0
  /** Items that came while no `next()` was waiting, at most one per lane. */
  readonly #ready = new Deque<{ readonly lane: Lane<T>; readonly value: T }>()
  readonly #outbox = new Outbox<T>()
  /** A source failed and the others are closing: `next()` calls wait for the error. */
  #failing = false
  /** Settles once every lane closed so far has been (see {@link #close}). */
  #closing: Promise<void> = RESOLVED

  /** This iterator answers pending `next()` calls at once on `return()`. */
  readonly [ANSWERS_ON_RETURN] = true

  constructor(sources: Source<T>[]) {
    this.#sources = sources
  }

  [Symbol.asyncIterator](): this {
    return this
  }

  next(): Promise<IteratorResult<T>> {
    if (this.#sources !== undefined) this.#start(this.#sources)
    if (this.#outbox.closed) return this.#outbox.answerClosed()
    const ready = this.#ready.shift()
    if (ready !== undefined) {
      void ready.lane.reader.pullTo(ready.lane)
      return Promise.resolve({ done: false, value: ready.value })
    }
    if (this.#open === 0 && !this.#failing) {
      this.#outbox.end(RESOLVED)
      return Promise.resolve(DONE)
    }
    return this.#outbox.park()
  }

  async return(value?: unknown): Promise<IteratorResult<T>> {
    this.#sources = undefined
    const closing = this.#close()
    this.#outbox.endNow(closing)
    await closing
    return { done: true, value: value as T }
  }

  /** `return()`, for `await using`: resolves once every source has been closed. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.return()
  }

  #start(sources: Source<T>[]): void {
    this.#sources = undefined
    try {
      for (const source of sources) this.#lanes.push(this.#lane(new SourceReader(source)))
    } catch (error) {
      // A source that cannot be opened (a locked stream) fails the first `next()`; the others are closed.
      this.#fail(error)
      return
    }
    this.#open = this.#lanes.length
    for (const lane of this.#lanes) void lane.reader.pullTo(lane)
  }

  #lane(reader: SourceReader<T>): Lane<T> {
    const lane: Lane<T> = {
      reader,
      done: false,
      pulled: (result) => {
        if (lane.done) return
        if (result.done) this.#laneEnded(lane)
        else if (this.#outbox.waiting > 0) {
          this.#outbox.resolve(result)
          void reader.pullTo(lane)
        } else {
          this.#ready.push({ lane, value: result.value })
        }
      },
      pullFailed: (error) => {
        if (!lane.done) this.#fail(error)
      },
    }
    return lane
  }

  /**
   * Like an error in a loop over all of them: the other sources are closed and their items
   * dropped, and the error is passed on once they are closed, so that no work upstream outlives it.
   * The failed source is closed too: a no-op for an iterator that has finished, but an upstream
   * `parallelMap` whose `signal` aborted rejects at once and settles its calls after.
   */
  #fail(error: unknown): void {
    this.#failing = true
    void this.#close().then(() => {
      this.#failing = false
      this.#outbox.fail(error, RESOLVED)
    })
  }

  #laneEnded(lane: Lane<T>): void {
    lane.done = true
    if (--this.#open === 0 && this.#ready.length === 0) this.#outbox.end(RESOLVED)
  }

  /**
   * Closes every lane still open; settles once they are closed (see `SourceReader.closeUpstream`),
   * and those closed before too: a `return()` while an error closes the others waits for them.
   */
  #close(): Promise<void> {
    this.#ready.clear()
    const closing: Promise<void>[] = []
    for (const lane of this.#lanes) {
      if (lane.done) continue
      lane.done = true
      closing.push(lane.reader.closeUpstream())
    }
    this.#open = 0
    if (closing.length > 0) this.#closing = Promise.all([this.#closing, ...closing]).then(ignore)
    return this.#closing
  }
}

/**
 * Interleaves several sources, yielding each item as soon as it arrives. Each source has at most
 * one pull pending (or one item waiting to be handed out), so a fast source cannot run ahead of the
 * consumer. The sources are opened by the first `next()`. An early exit (`break`, `return()`)
 * closes every source, and `return()` resolves once they are closed; an error in one source closes
 * the others, drops their waiting items, and is thrown, once they are closed, to a pending `next()`
 * (or to the next one). A source with a pull pending that cannot act on `return()` until that pull
 * is over (an async generator busy in an `await`, a Node stream) is not waited for.
 *
 * @param sources - any number of sources, of any item types.
 * @throws TypeError when an argument is not a source, when `merge` is called.
 * @example
 * ```ts
 * for await (const event of merge(fileEvents, httpEvents, timerEvents)) console.log(event)
 * ```
 */
export function merge<S extends readonly Source<unknown>[]>(...sources: S): AsyncIterableIterator<ItemOf<S[number]>> & AsyncDisposable {
  sources.forEach((source, index) => checkSource(source, `sources[${index}]`))
  return new MergeIterator([...sources] as Source<ItemOf<S[number]>>[])
}
