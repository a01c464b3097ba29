import type { Deferred } from './deferred.js'
import { Deque } from './deque.js'

/** A parked `next()` call. */
type Waiter<T> = Pick<Deferred<IteratorResult<T>>, 'resolve' | 'reject'>

/** The answer of an iterator that has ended. */
export const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined })

/**
 * The consumer's side of a hand-written async iterator: parks `next()` calls and answers them in
 * call order, and once the iteration has ended, answers every later call. An error that ends the
 * iteration goes to the first parked call, or to the next call if none is parked, exactly once;
 * every other call is answered done.
 */
export class Outbox<T> {
  readonly #parked = new Deque<Waiter<T>>()
  /** The reserved call, once it waits after all ({@link parkReserved}): answered before the others. */
  #first: Waiter<T> | undefined
  /** A call is in flight outside the outbox, older than the parked ones (see {@link reserve}). */
  #reserved = false
  /** Ended by {@link endNow}: the reserved call is answered done at once. */
  #endedNow = false
  /** What {@link #capture} captured, for {@link park}: one shared executor, no closure per call. */
  #resolve: Waiter<T>['resolve'] | undefined
  #reject: Waiter<T>['reject'] | undefined
  #closed = false
  #error: { error: unknown; afterClosing: boolean } | undefined
  /** Set by {@link abort}: every later call rejects with this reason. */
  #aborted: { reason: unknown } | undefined
  /** Settles when the upstream has been closed; done answers wait for it. */
  #closing: Promise<void> = Promise.resolve()

  #waiting = 0

  /** How many `next()` calls are parked. (A field behind a getter, so that V8 inlines it into the hottest paths.) */
  get waiting(): number {
    return this.#waiting
  }

  /** Whether a call is reserved and not answered yet (see {@link reserve}). */
  get reserved(): boolean {
    return this.#reserved
  }

  get closed(): boolean {
    return this.#closed
  }

  /** Parks a `next()` call until {@link resolve}, {@link fail} or {@link end} answers it. */
  park(): Promise<IteratorResult<T>> {
    const promise = new Promise(this.#capture)
    this.#parked.push({ resolve: this.#resolve!, reject: this.#reject! })
    this.#waiting++
    return promise
  }

  readonly #capture = (resolve: Waiter<T>['resolve'], reject: Waiter<T>['reject']): void => {
    this.#resolve = resolve
    this.#reject = reject
  }

  /**
   * Reserves the answer to a `next()` call that the iterator answers itself, without parking it
   * (a promise chained to its source's answer, on the hot path). Until {@link release},
   * {@link parkReserved} or {@link answerReserved}, it is the oldest call: an error that ends the
   * iteration is kept for it, not given to a parked call.
   */
  reserve(): void {
    this.#reserved = true
  }

  /** The reserved call has been answered. */
  release(): void {
    this.#reserved = false
  }

  /** The reserved call waits after all: it is parked, ahead of the calls parked since. */
  parkReserved(): Promise<IteratorResult<T>> {
    this.#reserved = false
    const promise = new Promise(this.#capture)
    this.#first = { resolve: this.#resolve!, reject: this.#reject! }
    this.#waiting++
    return promise
  }

  /**
   * The answer to the reserved call once the iteration has ended: the error kept for it, done at
   * once after {@link endNow}, else what {@link answerClosed} answers.
   */
  answerReserved(): Promise<IteratorResult<T>> {
    this.#reserved = false
    return this.#endedNow && !this.#aborted ? Promise.resolve(DONE) : this.answerClosed()
  }

  /** Answers the oldest parked call. */
  resolve(result: IteratorResult<T>): void {
    this.#shift()?.resolve(result)
  }

  /**
   * Ends the iteration with an error: the oldest parked call rejects at once (or the reserved call
   * when there is one, or the next call when none is parked), or once `closing` has settled with
   * `afterClosing`; the others are answered done once `closing` has settled.
   */
  fail(error: unknown, closing: Promise<void>, afterClosing = false): void {
    if (this.#closed) return
    const first = this.#reserved ? undefined : this.#shift()
    if (first === undefined) this.#error = { error, afterClosing }
    else if (afterClosing) void closing.then(() => first.reject(error))
    else first.reject(error)
    this.end(closing)
  }

  /** Ends the iteration: parked calls, and later ones, are answered done once `closing` has settled. */
  end(closing: Promise<void>): void {
    if (this.#closed) return
    this.#closed = true
    this.#closing = closing
    const parked = [...this.#drain()]
    if (parked.length > 0) void closing.then(() => parked.forEach((waiter) => waiter.resolve(DONE)))
  }

  /**
   * Like {@link end}, but parked calls are answered done at once, and an error not handed out yet
   * is dropped: `return()` takes effect at once, and a consumer that stopped has no use for it.
   */
  endNow(closing: Promise<void>): void {
    this.#error = undefined
    if (this.#closed) return
    this.#closed = this.#endedNow = true
    this.#closing = closing
    for (const waiter of this.#drain()) waiter.resolve(DONE)
  }

  /**
   * Ends the iteration with an abort (guarantee 6): every parked call rejects with `reason` at
   * once, and so does every later call.
   */
  abort(reason: unknown): void {
    if (this.#closed) return
    this.#closed = true
    this.#aborted = { reason }
    for (const waiter of this.#drain()) waiter.reject(reason)
  }

  /** The answer to a `next()` call after the iteration has ended. */
  answerClosed(): Promise<IteratorResult<T>> {
    if (this.#aborted) return Promise.reject(this.#aborted.reason)
    const failure = this.#error
    if (failure) {
      this.#error = undefined
      if (failure.afterClosing) return this.#closing.then(() => Promise.reject(failure.error))
      return Promise.reject(failure.error)
    }
    return this.#closing.then(() => DONE)
  }

  #shift(): Waiter<T> | undefined {
    const first = this.#first
    if (first === undefined) {
      const waiter = this.#parked.shift()
      if (waiter !== undefined) this.#waiting--
      return waiter
    }
    this.#first = undefined
    this.#waiting--
    return first
  }

  *#drain(): Generator<Waiter<T>> {
    for (let waiter = this.#shift(); waiter; waiter = this.#shift()) yield waiter
  }
}
