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
  /** What {@link #capture} captured, for {@link park}: one shared executor, no closure per call. */
  #resolve: Waiter<T>['resolve'] | undefined
  #reject: Waiter<T>['reject'] | undefined
  #closed = false
  #error: { error: unknown } | undefined
  /** Set by {@link abort}: every later call rejects with this reason. */
  #aborted: { reason: unknown } | undefined
  /** Settles when the upstream has been closed; done answers wait for it. */
  #closing: Promise<void> = Promise.resolve()

  /** How many `next()` calls are parked. */
  get waiting(): number {
    return this.#parked.length
  }

  get closed(): boolean {
    return this.#closed
  }

  /** Parks a `next()` call until {@link resolve}, {@link fail} or {@link end} answers it. */
  park(): Promise<IteratorResult<T>> {
    const promise = new Promise(this.#capture)
    this.#parked.push({ resolve: this.#resolve!, reject: this.#reject! })
    return promise
  }

  readonly #capture = (resolve: Waiter<T>['resolve'], reject: Waiter<T>['reject']): void => {
    this.#resolve = resolve
    this.#reject = reject
  }

  /** Answers the oldest parked call. */
  resolve(result: IteratorResult<T>): void {
    this.#parked.shift()?.resolve(result)
  }

  /**
   * Ends the iteration with an error: the oldest parked call rejects at once (or the next call,
   * when none is parked), the others are answered done once `closing` has settled.
   */
  fail(error: unknown, closing: Promise<void>): void {
    if (this.#closed) return
    const first = this.#parked.shift()
    if (first) first.reject(error)
    else this.#error = { error }
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
    this.#closed = true
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
      return Promise.reject(failure.error)
    }
    return this.#closing.then(() => DONE)
  }

  *#drain(): Generator<Waiter<T>> {
    for (let waiter = this.#parked.shift(); waiter; waiter = this.#parked.shift()) yield waiter
  }
}
