import { describe } from '../errors.js'
import type { Source } from '../types.js'
import { open } from './source.js'

const RESOLVED: Promise<void> = Promise.resolve()

function ignore(): void {}

/**
 * Opens a source as an async iterator. A sync iterator is adapted the way `for await` adapts it: a
 * promise among its items is awaited, and the iterator is closed if that promise rejects. A source
 * whose `[Symbol.asyncIterator]()` or `[Symbol.iterator]()` returns no iterator is a `TypeError`.
 */
export function openAsync<T>(source: Source<T>): AsyncIterator<T> {
  const opened = open(source)
  const iterator = opened.iterator
  if (typeof iterator !== 'object' || iterator === null || typeof iterator.next !== 'function') {
    const method = opened.sync ? '[Symbol.iterator]()' : '[Symbol.asyncIterator]()'
    throw new TypeError(`Expected the source's ${method} to return an iterator, got ${describe(iterator)}`)
  }
  if (!opened.sync) return opened.iterator
  const sync = opened.iterator
  return {
    async next() {
      const result = checkResult(sync.next())
      if (result.done) return result
      try {
        return { done: false, value: await result.value }
      } catch (error) {
        // As `for await` does: the item's error wins over one from closing.
        try {
          sync.return?.()
        } catch {
          // The item's error is the one to report.
        }
        throw error
      }
    },
    async return() {
      sync.return?.()
      return { done: true, value: undefined }
    },
  }
}

/**
 * `result` if it is an iterator result (an object), else the `TypeError` of guarantee 11: a
 * source whose `next()` answers `42` breaks the protocol, and `for await` would throw too.
 */
export function checkResult<T>(result: IteratorResult<T>): IteratorResult<T> {
  if (typeof result === 'object' ? result === null : typeof result !== 'function') {
    throw new TypeError(`Expected the source's next() to answer an iterator result object, got ${describe(result)}`)
  }
  return result
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
