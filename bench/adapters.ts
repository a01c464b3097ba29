import { Readable } from 'node:stream'
import itParallel from 'it-parallel'
import { pMapIterable } from 'p-map'
import { parallelMap as siParallelMap, transform as siTransform } from 'streaming-iterables'
import { parallelMap } from '../src/index.js'

/** The function every library maps over the items. */
export type Fn = (item: number) => number | Promise<number>

/** Maps `fn` over `items`, at most `concurrency` calls at a time, through one library. */
export type Run = (items: readonly number[], fn: Fn, concurrency: number) => AsyncIterable<number>

/** One library under test, through its own public API and its defaults besides `concurrency`. */
export interface Adapter {
  readonly name: string
  /** Results in input order. */
  readonly ordered: Run
  /** Results in completion order; a string says why the library has no such mode. */
  readonly asCompleted: Run | string
  /** The floor that every stage pays: measured on the trivial workloads only. */
  readonly baseline?: boolean
}

export const OURS = 'foreach-parallel'

/**
 * The least any async-iterator stage can cost: `next()` calls `fn` on the next source item and
 * returns one promise per item, one item at a time. In input order, so it serves both orders.
 */
export function baseline(items: readonly number[], fn: Fn): AsyncIterableIterator<number> {
  const source = items[Symbol.iterator]()
  return {
    [Symbol.asyncIterator]() {
      return this
    },
    next() {
      const item = source.next()
      if (item.done) return Promise.resolve({ done: true, value: undefined })
      const result = fn(item.value)
      return result instanceof Promise
        ? result.then((value) => ({ done: false, value }))
        : Promise.resolve({ done: false, value: result })
    },
  }
}

/** it-parallel takes task functions: making them is part of using it. */
function tasks(items: readonly number[], fn: Fn): (() => Promise<number>)[] {
  return items.map((item) => async () => fn(item))
}

export const adapters: readonly Adapter[] = [
  {
    name: OURS,
    ordered: (items, fn, concurrency) => parallelMap(fn, { concurrency })(items),
    asCompleted: (items, fn, concurrency) => parallelMap(fn, { concurrency, ordered: false })(items),
  },
  {
    name: 'it-parallel',
    ordered: (items, fn, concurrency) => itParallel(tasks(items, fn), { concurrency, ordered: true }),
    asCompleted: (items, fn, concurrency) => itParallel(tasks(items, fn), { concurrency, ordered: false }),
  },
  {
    name: 'p-map pMapIterable',
    ordered: (items, fn, concurrency) => pMapIterable(items, fn, { concurrency }),
    asCompleted: (items, fn, concurrency) => pMapIterable(items, fn, { concurrency, preserveOrder: false }),
  },
  {
    name: 'streaming-iterables',
    ordered: (items, fn, concurrency) => siParallelMap(concurrency, fn, items),
    asCompleted: (items, fn, concurrency) => siTransform(concurrency, fn, items),
  },
  {
    name: 'Readable.map',
    ordered: (items, fn, concurrency) => Readable.from(items).map(fn, { concurrency }),
    asCompleted: 'node:stream has no unordered map',
  },
  {
    name: 'baseline',
    ordered: baseline,
    asCompleted: baseline,
    baseline: true,
  },
]
