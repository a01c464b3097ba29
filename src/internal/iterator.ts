const RESOLVED: Promise<void> = Promise.resolve()

function ignore(): void {}

/**
 * Marks this package's own iterators, which answer a pending `next()` at once (done) when
 * `return()` is called, as the Types section of the design promises. An operator reading such a
 * source may answer a call with the source's own answer, chained, instead of a promise of its own
 * (see `StepIterator`): a `return()` still answers that call at once.
 */
export const ANSWERS_ON_RETURN: unique symbol = Symbol('answersOnReturn')

/**
 * The `next()` of this package's own iterators that answers an item it has ready as it is, not in
 * a promise (otherwise the promise `next()` would answer; it never throws). An operator reading
 * such a source (see `SourceReader.pullNow`) decides on a ready item at once: no promise and no
 * microtask turn per item and stage. Only iterators marked {@link ANSWERS_ON_RETURN} have it.
 */
export const NEXT_NOW: unique symbol = Symbol('nextNow')

/** An iterator with {@link NEXT_NOW}. */
export interface AnswersNow<T> {
  [NEXT_NOW](): IteratorResult<T> | Promise<IteratorResult<T>>
}

/**
 * The promise `next()` answers for a {@link NEXT_NOW} answer: a pending one as it is, a ready result
 * as a copy made here, whose shape V8 sees, so that `Promise.resolve` skips the generic lookup of a
 * `then` property it makes on an object of unknown shape (which costs more than the copy).
 */
export function answerLater<T>(answer: IteratorResult<T> | Promise<IteratorResult<T>>): Promise<IteratorResult<T>> {
  if (answer instanceof Promise) return answer
  return Promise.resolve({ done: answer.done, value: answer.value as unknown } as IteratorResult<T>)
}

/** Calls `iterator.next()`; a synchronous throw becomes a rejection. */
export function nextOf<T>(iterator: AsyncIterator<T>): Promise<IteratorResult<T>> {
  try {
    return Promise.resolve(iterator.next())
  } catch (error) {
    return Promise.reject(error)
  }
}

/**
 * Calls `iterator.return()` and resolves once it has settled. It never rejects, so that a close
 * that nobody awaits cannot become an unhandled rejection; an error of `return()` is ignored, as
 * `parallelMap` ignores it. While a `next()` of the iterator is pending (`pulling`), the promise
 * resolves at once: an async generator queues `return()` behind that pull, which may never settle.
 */
export function closeIterator(iterator: Iterator<unknown> | AsyncIterator<unknown>, pulling: boolean): Promise<void> {
  let returned: Promise<unknown>
  try {
    if (iterator.return === undefined) return RESOLVED
    returned = Promise.resolve(iterator.return())
  } catch {
    return RESOLVED
  }
  const settled = returned.then(ignore, ignore)
  return pulling ? RESOLVED : settled
}

/**
 * Whether `iterator` answers `return()` only after its pending `next()` has settled, which may be
 * never (a stalled stream, an idle event source): async generators do (Node's `Readable` iterators
 * are ones), and so do WebIDL async iterators (a web stream's). An operator closing such an
 * upstream with a pull pending calls its `return()` without waiting for it; any other upstream,
 * this package's own iterators included, acts on `return()` at once and is waited for, so that no
 * work upstream outlives the operator's `return()` (guarantee 5 through a pipeline).
 */
export function queuesReturn(iterator: object): boolean {
  const tag: unknown = (iterator as { [Symbol.toStringTag]?: unknown })[Symbol.toStringTag]
  // Browsers and Deno tag a web stream's iterator 'ReadableStream AsyncIterator', as WebIDL says.
  return tag === 'AsyncGenerator' || (typeof tag === 'string' && tag.endsWith(' AsyncIterator'))
}
