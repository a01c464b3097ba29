import type { Source } from '../types.js'
import { open } from './source.js'

const RESOLVED: Promise<void> = Promise.resolve()

function ignore(): void {}

/**
 * Opens a source as an async iterator. A sync iterator is adapted the way `for await` adapts it: a
 * promise among its items is awaited, and the iterator is closed if that promise rejects.
 */
export function openAsync<T>(source: Source<T>): AsyncIterator<T> {
  const opened = open(source)
  if (!opened.sync) return opened.iterator
  const iterator = opened.iterator
  return {
    async next() {
      const result = iterator.next()
      if (result.done) return result
      try {
        return { done: false, value: await result.value }
      } catch (error) {
        // As `for await` does: the item's error wins over one from closing.
        try {
          iterator.return?.()
        } catch {
          // The item's error is the one to report.
        }
        throw error
      }
    },
    async return() {
      iterator.return?.()
      return { done: true, value: undefined }
    },
  }
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
