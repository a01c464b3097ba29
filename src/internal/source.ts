import type { Source } from '../types.js'

/** An opened source: its iterator and whether `next()` answers synchronously. */
export type Opened<T> =
  | { readonly sync: true; readonly iterator: Iterator<T> }
  | { readonly sync: false; readonly iterator: AsyncIterator<T> }

/**
 * Opens a source, preferring its async iterator. Sync iterables stay sync so that arrays and
 * generators are pulled without an async hop per item. A web `ReadableStream` without
 * `Symbol.asyncIterator` (older browsers) is read through its reader.
 */
export function open<T>(source: Source<T>): Opened<T> {
  const asyncIterable = source as AsyncIterable<T>
  if (typeof asyncIterable[Symbol.asyncIterator] === 'function') {
    return { sync: false, iterator: asyncIterable[Symbol.asyncIterator]() }
  }
  const iterable = source as Iterable<T>
  if (typeof iterable[Symbol.iterator] === 'function') {
    return { sync: true, iterator: iterable[Symbol.iterator]() }
  }
  return { sync: false, iterator: readerIterator(source as unknown as ReadableStream<T>) }
}

/** Whether `value` is something {@link open} accepts. */
export function isSource(value: unknown): value is Source<unknown> {
  if (value == null || typeof value === 'string') return false
  const v = value as Record<symbol | string, unknown>
  return (
    typeof v[Symbol.asyncIterator] === 'function' ||
    typeof v[Symbol.iterator] === 'function' ||
    typeof v['getReader'] === 'function'
  )
}

function readerIterator<T>(stream: ReadableStream<T>): AsyncIterator<T> {
  const reader = stream.getReader()
  return {
    async next() {
      const { done, value } = await reader.read()
      if (done) reader.releaseLock()
      return done ? { done: true, value: undefined } : { done: false, value }
    },
    async return() {
      await reader.cancel()
      reader.releaseLock()
      return { done: true, value: undefined }
    },
  }
}
