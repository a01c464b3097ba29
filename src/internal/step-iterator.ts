/// <reference lib="esnext.disposable" preserve="true" />
// Declares Symbol.asyncDispose for consumers whose lib setting lacks it (Node 20 has it at run time).
import type { Source } from '../types.js'
import { DONE, Outbox } from './outbox.js'
import { SourceReader, type PullListener } from './source-reader.js'

/** A step's answer: a result, a promise of one, or {@link LATER}. */
export type Step<Out> = IteratorResult<Out> | Promise<IteratorResult<Out>> | typeof LATER

/**
 * The step is answered later: by the continuation of the pull under way (which
 * {@link StepIterator.pullThen} answers), or by {@link StepIterator.answer}.
 */
export const LATER = Symbol('later')

/**
 * The iterator of a one-source operator that answers each `next()` call with one {@link step}
 * (which may pull from the source, skip items or wait). It brings the contract every operator
 * keeps: the source is opened by the first `next()`, overlapping calls are answered in call order
 * by steps that never overlap (so the source's `next()` is never called concurrently), `return()`
 * takes effect at once even while calls are pending, and resolves only once the source's own
 * `return()` has (see `SourceReader.closeUpstream`), and the source is closed on every early exit.
 *
 * A step that decides synchronously what to do with each item ({@link pullThen}) costs one
 * promise per item on top of the source's and the answer's: no async function, no `await`.
 */
export abstract class StepIterator<In, Out> implements AsyncIterableIterator<Out>, AsyncDisposable {
  #source: Source<In> | undefined
  #reader: SourceReader<In> | undefined
  /** The source was closed by us: a pull under way answers done, its late item dropped. */
  #sourceClosed = false
  /** Settles once the source's `return()` has (see `SourceReader.closeUpstream`). */
  #closing: Promise<void> = Promise.resolve()
  #stepping = false
  /** The continuations of the pull under way by {@link pullThen}. */
  #then: ((result: IteratorResult<In>) => Step<Out>) | undefined
  #caught: ((error: unknown) => Step<Out>) | undefined
  readonly #outbox = new Outbox<Out>()

  constructor(source: Source<In>) {
    this.#source = source
  }

  /** Produces the answer to one `next()` call; a throw or rejection ends the iteration with that error. */
  protected abstract step(): Step<Out>

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
    if (!this.#stepping) this.#step()
    return answer
  }

  async return(value?: unknown): Promise<IteratorResult<Out>> {
    this.#source = undefined
    if (!this.#outbox.closed) this.stop()
    this.#outbox.endNow(this.#closeSource())
    await this.#closing
    return { done: true, value: value as Out }
  }

  /** `return()`, for `await using`: resolves once the source has been closed. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.return()
  }

  /**
   * Pulls one item from the source and hands it to `then`, whose answer answers the step open
   * then: the step returns what this returns. Once the source has ended or been closed, `then`
   * gets done at once (and a pull under way when it is closed answers done: its late item is
   * dropped). An error of the source, or a `TypeError` for an answer that breaks the iterator
   * protocol, goes to `caught`, or, without it, ends the iteration.
   */
  protected pullThen(then: (result: IteratorResult<In>) => Step<Out>, caught?: (error: unknown) => Step<Out>): Step<Out> {
    const reader = this.#reader!
    if (reader.done) return then(DONE)
    this.#then = then
    this.#caught = caught
    reader.pullTo(this.#listener)
    return LATER
  }

  /** Answers the step open now, while a pull may be under way (see {@link LATER}). */
  protected answer(step: Step<Out>): void {
    this.#answer(step)
  }

  readonly #listener: PullListener<In> = {
    pulled: (result) => {
      const then = this.#then!
      this.#then = this.#caught = undefined
      this.#call(then, this.#sourceClosed ? DONE : result)
    },
    pullFailed: (error) => {
      // A source closed meanwhile has its late error dropped, as a late item is.
      if (this.#sourceClosed) {
        this.#listener.pulled(DONE)
        return
      }
      const caught = this.#caught
      this.#then = this.#caught = undefined
      if (caught === undefined) this.#failed(error)
      else this.#call(caught, error)
    },
  }

  /** Answers the step with what `continuation(value)` answers; a throw ends the iteration. */
  #call<A>(continuation: (value: A) => Step<Out>, value: A): void {
    let answer: Step<Out>
    try {
      answer = continuation(value)
    } catch (error) {
      this.#failed(error)
      return
    }
    this.#answer(answer)
  }

  /**
   * Closes the source now (once): its `return()` is called and awaited by the done answers that
   * follow (see `SourceReader.closeUpstream`). Later pulls answer done.
   */
  protected closeSource(): void {
    this.#closeSource()
  }

  /**
   * Ends the iteration with `error` at once (a deadline, or an error of the source): a pending
   * `next()` rejects now while the source closes, and the done answers that follow wait for it.
   */
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
      this.#reader = new SourceReader(source)
    } catch (error) {
      // A source that cannot be opened (a locked stream) fails the first `next()`, not the caller.
      this.fail(error)
      return
    }
    this.start()
  }

  #closeSource(): Promise<void> {
    if (this.#reader !== undefined && !this.#sourceClosed) {
      this.#sourceClosed = true
      this.#closing = this.#reader.closeUpstream()
    }
    return this.#closing
  }

  /** Runs one step for the oldest parked call. */
  #step(): void {
    this.#stepping = true
    let answer: Step<Out>
    try {
      answer = this.step()
    } catch (error) {
      this.#failed(error)
      return
    }
    this.#answer(answer)
  }

  #answer(answer: Step<Out>): void {
    if (answer === LATER) return
    if (answer instanceof Promise) answer.then(this.#stepped, this.#failed)
    else this.#stepped(answer)
  }

  readonly #stepped = (result: IteratorResult<Out>): void => {
    this.#stepping = false
    if (this.#outbox.closed) return
    if (result.done) this.end()
    else this.#outbox.resolve(result)
    if (!this.#outbox.closed && this.#outbox.waiting > 0) this.#step()
  }

  readonly #failed = (error: unknown): void => {
    this.#stepping = false
    // Errors of a step come from the source, which has failed: passed on at once, since it may
    // be a deadline of the upstream (its `signal`); the done answers after it wait for its close.
    this.fail(error)
  }
}
