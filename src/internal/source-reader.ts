import { describe } from '../errors.js'
import type { Source } from '../types.js'
import { ANSWERS_ON_RETURN, NEXT_NOW, closeIterator, queuesReturn, type AnswersNow } from './iterator.js'
import { DONE } from './outbox.js'
import { open } from './source.js'

/** What {@link SourceReader.takeSync} answers once the source has ended: no item can be it. */
export const END: unique symbol = Symbol('end')

function isObject(value: unknown): value is object {
  return (typeof value === 'object' && value !== null) || typeof value === 'function'
}

/** Guarantee 11: a `next()` that returns or resolves a non-object breaks the protocol. */
function checkResult<T>(result: unknown, verb: 'return' | 'resolve to'): IteratorResult<T> {
  if (!isObject(result)) {
    throw new TypeError(`Expected the source's next() to ${verb} an iterator result object, got ${describe(result)}`)
  }
  return result as IteratorResult<T>
}

const arrayValues = Array.prototype[Symbol.iterator]
const arrayIteratorPrototype = Object.getPrototypeOf([][Symbol.iterator]()) as { readonly next: unknown }
const arrayIteratorNext = arrayIteratorPrototype.next

/**
 * Whether `source` is an array iterated by the built-in array iterator, which {@link SourceReader}
 * may then read by index, as that iterator does (`length` and then the element, at every step),
 * without an iterator result per item.
 */
function isPlainArray<T>(source: Source<T>): source is T[] {
  return (
    Array.isArray(source) &&
    source[Symbol.iterator] === arrayValues &&
    arrayIteratorPrototype.next === arrayIteratorNext
  )
}

/** Where the outcome of a pull started by {@link SourceReader.pullTo} goes; `R` is what it answers. */
export interface PullListener<T, R = void> {
  pulled(result: IteratorResult<T>): R
  pullFailed(error: unknown): R
}

/**
 * The one way this package reads a source: opens it (arrays, sync and async iterables and
 * generators, Node `Readable`, web `ReadableStream`), pulls one item at a time, and closes it once.
 * A source that breaks the iterator protocol (an `[Symbol.iterator]()` that returns no iterator, a
 * `next()` that returns or resolves a non-object) is reported as a `TypeError` in the place of the
 * source's own error (guarantee 11), so every reader fails such a source through its source-error
 * path, never with a synchronous throw from its own `next()` and never with `undefined` items.
 *
 * A sync source stays sync ({@link sync}): {@link takeSync} pulls it without a promise per item,
 * which the scheduler relies on. {@link pull} works for both kinds and reads a sync source as
 * `for await` does: a promise among its items is awaited, and the iterator is closed if it rejects.
 */
export class SourceReader<T> {
  /** Whether the source is sync: then {@link takeSync} may be used. */
  readonly sync: boolean
  readonly #iterator: Iterator<T> | AsyncIterator<T>
  #pulling = false
  /** The source said done, failed, or was closed: it is not pulled or closed again. */
  #done = false
  /** A pull failed (or broke the protocol): {@link closeUpstream} still calls `return()`. */
  #failed = false
  #closing: Promise<void> | undefined
  #listener: PullListener<T, unknown> | undefined
  /** A plain array (see {@link isPlainArray}), read by index by {@link takeSync}. */
  readonly #array: T[] | undefined
  #index = 0

  /**
   * Opens `source`. Throws what opening throws (a locked `ReadableStream`, a throwing
   * `[Symbol.asyncIterator]`), or a `TypeError` when it returns no iterator: the caller treats
   * that as the source's error.
   */
  constructor(source: Source<T>) {
    const opened = open(source)
    const iterator: unknown = opened.iterator
    if (!isObject(iterator) || typeof (iterator as Iterator<T>).next !== 'function') {
      const method = opened.sync ? '[Symbol.iterator]()' : '[Symbol.asyncIterator]()'
      throw new TypeError(`Expected the source's ${method} to return an iterator, got ${describe(iterator)}`)
    }
    this.sync = opened.sync
    this.#iterator = opened.iterator
    this.#array = isPlainArray(source) ? source : undefined
  }

  /** An async pull is under way: the source's `next()` must not be called again until it settles. */
  get pulling(): boolean {
    return this.#pulling
  }

  /** The source has ended, failed or been closed: pulls answer done. */
  get done(): boolean {
    return this.#done
  }

  /**
   * Pulls the next item of a sync source as it is (a promise item is not awaited); answers
   * {@link END} once the source has ended, without a result object per item. Throws the source's
   * error, or a `TypeError` for a protocol violation; the source counts as finished after either.
   */
  takeSync(): T | typeof END {
    if (this.#done) return END
    const array = this.#array
    if (array !== undefined) return this.#takeFrom(array)
    let result: IteratorResult<T>
    try {
      result = checkResult((this.#iterator as Iterator<T>).next(), 'return')
    } catch (error) {
      this.#done = this.#failed = true
      throw error
    }
    if (!result.done) return result.value
    this.#done = true
    return END
  }

  /** {@link takeSync} of a plain array: the built-in iterator's steps (`length`, then the element, each time). */
  #takeFrom(array: T[]): T | typeof END {
    const index = this.#index
    if (index < array.length) {
      this.#index = index + 1
      return array[index]!
    }
    this.#done = true
    return END
  }

  /**
   * Pulls the next item, one pull at a time (the caller waits for it before pulling again); answers
   * done once the source has ended or been closed. Rejects with the source's error, or with a
   * `TypeError` for a protocol violation (a synchronous throw of `next()` becomes the rejection);
   * the source counts as finished after either.
   */
  pull(): Promise<IteratorResult<T>> {
    if (this.#done) return Promise.resolve(DONE)
    if (this.sync) return this.#pullSync()
    return this.#nextAsync().then(this.#pulled, this.#pullFailed)
  }

  /**
   * Like {@link pull}, without a promise of its own on an async source: the outcome goes to
   * `listener` (one promise reaction per item, for the scheduler's hot path), and what the listener
   * answers is answered, in a promise. Answers done at once (synchronously, with what the listener
   * answers) when the source has ended or been closed.
   */
  pullTo<R>(listener: PullListener<T, R>): R | Promise<Awaited<R>> {
    if (this.#done) return listener.pulled(DONE)
    this.#listener = listener
    const pull = this.sync ? this.#pullSync() : this.#nextAsync()
    return pull.then(this.#deliver, this.#deliverFailure) as Promise<Awaited<R>>
  }

  /**
   * Like {@link pullTo}, over a source with `NEXT_NOW` (see {@link answersNow}): an item the
   * source has ready is answered as it is (checked, never handed to `listener`), for the caller to
   * go on with at once; otherwise the outcome goes to `listener`, as with `pullTo`. Throws a
   * `TypeError` for a ready answer that breaks the protocol. Only while the source is not done.
   */
  pullNow<R>(listener: PullListener<T, R>): IteratorResult<T> | Promise<Awaited<R>> {
    this.#pulling = true
    const answer = (this.#iterator as AsyncIterator<T> & AnswersNow<T>)[NEXT_NOW]()
    if (!(answer instanceof Promise)) return this.#pulled(answer)
    this.#listener = listener
    return answer.then(this.#deliver, this.#deliverFailure) as Promise<Awaited<R>>
  }

  /** Whether the source has `NEXT_NOW`: {@link pullNow} may be used. */
  get answersNow(): boolean {
    return NEXT_NOW in this.#iterator
  }

  /**
   * Whether the source is one of this package's own iterators, which answer a pending `next()` at
   * once when `return()` is called (see `ANSWERS_ON_RETURN`).
   */
  get answersOnReturn(): boolean {
    return ANSWERS_ON_RETURN in this.#iterator
  }

  /**
   * Closes the source once, as a stage of a pipeline does (guarantee 5 through a pipeline): its
   * `return()` is awaited even while a pull is pending, unless the source queues `return()` behind
   * that pull (see `queuesReturn`), and it is called on a source whose pull failed too: a no-op for
   * a finished iterator, but an upstream `parallelMap` whose `signal` aborted rejects at once and
   * settles its calls after. Never rejects; later pulls answer done.
   */
  closeUpstream(): Promise<void> {
    if (this.#closing === undefined) {
      const ended = this.#done && !this.#failed
      this.#done = true
      const pulling = this.#pulling && queuesReturn(this.#iterator)
      this.#closing = ended ? Promise.resolve() : closeIterator(this.#iterator, pulling)
    }
    return this.#closing
  }

  #nextAsync(): Promise<unknown> {
    this.#pulling = true
    try {
      return Promise.resolve((this.#iterator as AsyncIterator<T>).next())
    } catch (error) {
      return Promise.reject(error)
    }
  }

  readonly #pulled = (result: unknown): IteratorResult<T> => {
    this.#pulling = false
    try {
      const checked = checkResult<T>(result, 'resolve to')
      if (checked.done) this.#done = true
      return checked
    } catch (error) {
      this.#done = this.#failed = true
      throw error
    }
  }

  readonly #pullFailed = (error: unknown): never => {
    this.#pulling = false
    this.#done = this.#failed = true
    throw error
  }

  readonly #deliver = (result: unknown): unknown => {
    const listener = this.#listener!
    this.#listener = undefined
    let checked: IteratorResult<T>
    try {
      checked = this.#pulled(result)
    } catch (error) {
      return listener.pullFailed(error)
    }
    return listener.pulled(checked)
  }

  readonly #deliverFailure = (error: unknown): unknown => {
    const listener = this.#listener!
    this.#listener = undefined
    this.#pulling = false
    this.#done = this.#failed = true
    return listener.pullFailed(error)
  }

  /** A sync source read as `for await` reads it. */
  async #pullSync(): Promise<IteratorResult<T>> {
    const item = this.takeSync()
    if (item === END) return DONE
    try {
      return { done: false, value: await item }
    } catch (error) {
      // As `for await` does, the iterator is closed (unless close() came first), and the item's
      // error wins over one from closing.
      if (!this.#done) {
        this.#done = true
        try {
          ;(this.#iterator as Iterator<T>).return?.()
        } catch {
          // The item's error is the one to report.
        }
      }
      throw error
    }
  }
}
