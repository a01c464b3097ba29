/// <reference lib="esnext.disposable" preserve="true" />
// Declares Symbol.asyncDispose for consumers whose lib setting lacks it (Node 20 has it at run time).
import type { Source } from '../types.js'
import { ANSWERS_ON_RETURN, NEXT_NOW, answerLater, type AnswersNow } from './iterator.js'
import { DONE, Outbox } from './outbox.js'
import { SourceReader, type PullListener } from './source-reader.js'

/** The answer to a `next()` call, now or later. */
type Answer<Out> = IteratorResult<Out> | Promise<IteratorResult<Out>>

/** A step's answer: a result, a promise of one, or {@link LATER}. */
export type Step<Out> = Answer<Out> | typeof LATER

/**
 * The step is answered later: by the continuation of the pull under way (which
 * {@link StepIterator.pullThen} answers), or by {@link StepIterator.answer}.
 */
export const LATER = Symbol('later')

/**
 * Most items a step takes at once from a source's ready answers (see `NEXT_NOW`) before it waits
 * for one more pull's promise: each ready item is decided on in a nested call (a `batch` filling
 * up), so this bounds the stack.
 */
const READY_PULLS = 64

/**
 * The iterator of a one-source operator that answers each `next()` call with one {@link step}
 * (which may pull from the source, skip items or wait). It brings the contract every operator
 * keeps: the source is opened by the first `next()`, overlapping calls are answered in call order
 * by steps that never overlap (so the source's `next()` is never called concurrently), `return()`
 * takes effect at once even while calls are pending, and resolves only once the source's own
 * `return()` has (see `SourceReader.closeUpstream`), and the source is closed on every early exit.
 *
 * A step that decides synchronously what to do with each item ({@link pullThen}) costs one
 * promise per item on top of the source's and the answer's: no async function, no `await`. Over
 * one of this package's iterators (`ANSWERS_ON_RETURN`), a call made while no step runs is
 * answered by its step's first pull itself, chained to the source's answer, without a promise of
 * its own: `return()` answers it at once all the same, since such a source then answers the pull.
 * And an item such a source has ready is decided on at once (`NEXT_NOW`), with no promise at all;
 * this iterator answers the operator after it the same way.
 */
export abstract class StepIterator<In, Out> implements AsyncIterableIterator<Out>, AsyncDisposable, AnswersNow<Out> {
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
  /** The source is one of ours (see {@link ANSWERS_ON_RETURN}): steps may answer calls directly. */
  #fast = false
  /** The step running for a reserved call has not pulled yet: its first pull answers the call. */
  #fastPull = false
  /** The source has `NEXT_NOW`: a step decides on an item it has ready at once. */
  #now = false
  /** Ready items taken since the step (or the pull's continuation) began (see {@link READY_PULLS}). */
  #readyPulls = 0

  /** This iterator answers pending `next()` calls at once on `return()`. */
  readonly [ANSWERS_ON_RETURN] = true

  /** The subclass calls {@link answer}: see the constructor. */
  readonly #answersLater: boolean

  /**
   * `answersLater`: the operator answers calls with {@link answer} (from a timer), so a call is
   * always parked for it to find, never answered by a chained pull (see {@link ANSWERS_ON_RETURN}).
   */
  constructor(source: Source<In>, answersLater = false) {
    this.#source = source
    this.#answersLater = answersLater
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
    if (!this.#stepping && this.#fast) {
      return answerLater(this.#fastStep())
    }
    const answer = this.#outbox.park()
    if (!this.#stepping) this.#step()
    return answer
  }

  /** `next()` for the operators after this one: an item the step has at once is answered as it is. */
  [NEXT_NOW](): Answer<Out> {
    if (this.#source !== undefined || this.#outbox.closed || this.#stepping || !this.#fast) return this.next()
    return this.#fastStep()
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
    if (this.#now && this.#readyPulls < READY_PULLS) {
      const answer = reader.pullNow(this.#listener)
      if (!(answer instanceof Promise)) {
        // Ready: decided on now. A first pull that answers a reserved call stays to come.
        this.#readyPulls++
        return then(answer)
      }
      this.#then = then
      this.#caught = caught
      if (!this.#fastPull) return LATER
      this.#fastPull = false
      return answer as Promise<IteratorResult<Out>>
    }
    this.#then = then
    this.#caught = caught
    if (this.#fastPull) {
      this.#fastPull = false
      return reader.pullTo(this.#listener) as Promise<IteratorResult<Out>>
    }
    void reader.pullTo(this.#listener)
    return LATER
  }

  /**
   * Answers the step open now, while a pull may be under way (see {@link LATER}); only for an
   * operator constructed with `answersLater`.
   */
  protected answer(step: Step<Out>): void {
    this.#answer(step)
  }

  /**
   * Where a pull's outcome goes: to the step, which answers the oldest parked call; or, for the
   * first pull of a step for a reserved call, into the answer to that call (see {@link #fastStep}).
   */
  readonly #listener: PullListener<In, Answer<Out> | undefined> = {
    pulled: (result) => {
      this.#readyPulls = 0
      const then = this.#then!
      this.#then = this.#caught = undefined
      const checked = this.#sourceClosed ? DONE : result
      if (!this.#outbox.reserved) {
        this.#call(then, checked)
        return undefined
      }
      if (this.#outbox.closed) return this.#fastEnded()
      return this.#callFast(then, checked)
    },
    pullFailed: (error) => {
      // A source closed meanwhile has its late error dropped, as a late item is.
      if (this.#sourceClosed) return this.#listener.pulled(DONE)
      this.#readyPulls = 0
      const caught = this.#caught
      this.#then = this.#caught = undefined
      if (!this.#outbox.reserved) {
        if (caught === undefined) this.#failed(error)
        else this.#call(caught, error)
        return undefined
      }
      return caught === undefined ? this.#fastFailed(error) : this.#callFast(caught, error)
    },
  }

  /** The answer to the reserved call, from what `continuation(value)` answers; a throw ends the iteration. */
  #callFast<A>(continuation: (value: A) => Step<Out>, value: A): Answer<Out> {
    let answer: Step<Out>
    try {
      answer = continuation(value)
    } catch (error) {
      return this.#fastFailed(error)
    }
    return this.#finishFast(answer)
  }

  /**
   * Runs a step for a call made while none runs, over a source of ours: the call is reserved in
   * the outbox, not parked, and answered by what the step's first pull answers (see
   * {@link #finishFast}), so the hot path makes no promise of its own.
   */
  #fastStep(): Answer<Out> {
    this.#stepping = true
    this.#readyPulls = 0
    this.#outbox.reserve()
    this.#fastPull = true
    let answer: Step<Out>
    try {
      answer = this.step()
    } catch (error) {
      this.#fastPull = false
      return this.#fastFailed(error)
    }
    if (!this.#fastPull) return answer as Promise<IteratorResult<Out>>
    // Answered without waiting for a pull.
    this.#fastPull = false
    return this.#finishFast(answer)
  }

  /** The answer to the reserved call, from the step's answer. */
  #finishFast(answer: Step<Out>): Answer<Out> {
    // More pulls, or a wait for answer(): the call is parked after all, and the step goes on.
    if (answer === LATER) return this.#outbox.parkReserved()
    if (answer instanceof Promise) return answer.then(this.#fastResult, this.#fastFailed)
    return this.#fastResult(answer)
  }

  readonly #fastResult = (result: IteratorResult<Out>): Answer<Out> => {
    this.#stepping = false
    if (this.#outbox.closed) return this.#outbox.answerReserved()
    this.#outbox.release()
    if (result.done) {
      this.end()
      return this.#outbox.answerClosed()
    }
    if (this.#outbox.waiting > 0) this.#step()
    return result
  }

  readonly #fastFailed = (error: unknown): Promise<IteratorResult<Out>> => {
    this.#stepping = false
    // The error is kept for the reserved call, unless the iteration has already ended.
    this.fail(error)
    return this.#outbox.answerReserved()
  }

  /** The reserved call, once the iteration has ended while its pull was under way. */
  #fastEnded(): Promise<IteratorResult<Out>> {
    this.#stepping = false
    return this.#outbox.answerReserved()
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
    void this.#closeSource()
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
    this.#fast = !this.#reader.sync && this.#reader.answersOnReturn && !this.#answersLater
    this.#now = !this.#reader.sync && this.#reader.answersNow
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
    this.#readyPulls = 0
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
