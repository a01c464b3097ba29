import type { Source } from '../types.js'
import { closeIterator, nextOf, openAsync } from './iterator.js'
import { DONE, Outbox } from './outbox.js'

/**
 * The iterator of a one-source operator that answers each `next()` call with one {@link step}
 * (which may pull from the source, skip items or wait). It brings the contract every operator
 * keeps: the source is opened by the first `next()`, overlapping calls are answered in call order
 * by steps that never overlap (so the source's `next()` is never called concurrently), `return()`
 * takes effect at once even while calls are pending, and the source is closed on every early exit.
 */
export abstract class StepIterator<In, Out> implements AsyncIterableIterator<Out> {
  #source: Source<In> | undefined
  #iterator: AsyncIterator<In> | undefined
  #pulling = false
  /** The source has ended, failed or been closed: it is not pulled or closed again. */
  #sourceDone = false
  /** Settles once the source's `return()` has (see `closeIterator`). */
  #closing: Promise<void> = Promise.resolve()
  #stepping = false
  readonly #outbox = new Outbox<Out>()

  constructor(source: Source<In>) {
    this.#source = source
  }

  /** Produces the answer to one `next()` call; a rejection ends the iteration with that error. */
  protected abstract step(): Promise<IteratorResult<Out>>

  /** Called by the first `next()`, after the source is opened. */
  protected start(): void {}

  /** Called once when the iteration ends, whichever way: releases timers and listeners. */
  protected stop(): void {}

  [Symbol.asyncIterator](): this {
    return this
  }

  next(): Promise<IteratorResult<Out>> {
    if (this.#source !== undefined) this.#open(this.#source)
    if (this.#outbox.closed) return this.#outbox.answerClosed()
    const answer = this.#outbox.park()
    if (!this.#stepping) void this.#run()
    return answer
  }

  async return(value?: unknown): Promise<IteratorResult<Out>> {
    this.#source = undefined
    if (!this.#outbox.closed) this.stop()
    this.#outbox.endNow(this.#closeSource())
    await this.#closing
    return { done: true, value: value as Out }
  }

  /** Pulls one item from the source, or answers done once the source has ended or been closed. */
  protected pull(): Promise<IteratorResult<In>> {
    if (this.#sourceDone) return Promise.resolve(DONE)
    this.#pulling = true
    return nextOf(this.#iterator!).then(
      (result) => {
        this.#pulling = false
        if (result.done) this.#sourceDone = true
        return result
      },
      (error: unknown) => {
        this.#pulling = false
        this.#sourceDone = true
        throw error
      },
    )
  }

  /**
   * Closes the source now (once): its `return()` is called and awaited by the done answers that
   * follow, unless a pull is pending (see `closeIterator`). Later pulls answer done.
   */
  protected closeSource(): void {
    this.#closeSource()
  }

  /** Ends the iteration with `error`: a pending `next()` rejects at once, and the source is closed. */
  protected fail(error: unknown): void {
    if (this.#outbox.closed) return
    this.stop()
    this.#outbox.fail(error, this.#closeSource())
  }

  /** Ends the iteration quietly: pending `next()` calls resolve done once the source is closed. */
  protected end(): void {
    if (this.#outbox.closed) return
    this.stop()
    this.#outbox.end(this.#closeSource())
  }

  #open(source: Source<In>): void {
    this.#source = undefined
    try {
      this.#iterator = openAsync(source)
    } catch (error) {
      // A source that cannot be opened (a locked stream) fails the first `next()`, not the caller.
      this.#sourceDone = true
      this.fail(error)
      return
    }
    this.start()
  }

  #closeSource(): Promise<void> {
    if (!this.#sourceDone && this.#iterator !== undefined) {
      this.#sourceDone = true
      this.#closing = closeIterator(this.#iterator, this.#pulling)
    }
    return this.#closing
  }

  async #run(): Promise<void> {
    this.#stepping = true
    while (!this.#outbox.closed && this.#outbox.waiting > 0) {
      let result: IteratorResult<Out>
      try {
        result = await this.step()
      } catch (error) {
        this.fail(error)
        break
      }
      if (this.#outbox.closed) break
      if (result.done) this.end()
      else this.#outbox.resolve(result)
    }
    this.#stepping = false
  }
}
