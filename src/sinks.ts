import { checkSource } from './errors.js'
import type { Source } from './types.js'

/**
 * Reads a source to the end and resolves with its items in an array.
 *
 * @throws whatever the source throws, after it has cleaned up.
 * @example
 * ```ts
 * const statuses = await pipe(urls, parallelMap(fetchStatus), collect)
 * ```
 */
export async function collect<T>(source: Source<T>): Promise<T[]> {
  checkSource(source)
  const items: T[] = []
  for await (const item of source) items.push(item)
  return items
}

/**
 * Reads a source to the end for its side effects, discarding the items.
 *
 * @throws whatever the source throws, after it has cleaned up.
 */
export async function drain(source: Source<unknown>): Promise<void> {
  checkSource(source)
  for await (const _ of source) {
    // Nothing to keep: the work happens upstream.
  }
}
