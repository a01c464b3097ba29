import { pMapIterable } from 'p-map'
import pTimeout from 'p-timeout'
import { concurrencyLimit, parallelMap, parallelMapSettled, type ParallelMapOptions, type TaskContext } from '../src/index.js'
import type { Fn } from './adapters.js'

/**
 * The option sets of `npm run bench:options` and `npm run bench:instructions`: how
 * foreach-parallel runs with each, the closest peer composition, and the least the set has to do
 * per item (its floor).
 */

/** Items of a pass, and the concurrency of every set. */
export const ITEMS = 100_000
export const CONCURRENCY = 8
const TIMEOUT = 60_000
/** Runs one pass over the items; the output's values are checked against `item + 1`. */
export type Pass = (items: readonly number[], fn: Fn) => AsyncIterable<unknown>

export const fns: Record<string, Fn> = {
  sync: (x) => x + 1,
  async: async (x) => x + 1,
}

const noop = (): void => {}

/** `fn` as a caller that honours its signal writes it. */
function readingSignal(fn: Fn): (item: number, context: TaskContext) => number | Promise<number> {
  return (item, { signal }) => {
    if (signal.aborted) throw signal.reason
    return fn(item)
  }
}

/** `fn` with the signal a peer has to make itself: an `AbortController` per item. */
function withController(fn: Fn): Fn {
  return (item) => {
    const { signal } = new AbortController()
    if (signal.aborted) throw signal.reason
    return fn(item)
  }
}

/**
 * The least an option set has to do per item besides the baseline's work: make the
 * `AbortController` that `fn` reads, read the clock (`performance.now()`: once per progress
 * snapshot, twice per settled record).
 */
export function withFloor(fn: Fn, { readsSignal = false, clockReads = 0 }: Floor): Fn {
  const inner = readsSignal ? withController(fn) : fn
  return (item) => {
    for (let i = 0; i < clockReads; i++) if (performance.now() < 0) throw new Error('the clock went back')
    return inner(item)
  }
}

/** The per-item timeout p-map users compose: p-timeout around every call. */
function withPTimeout(fn: Fn): Fn {
  return (item) => pTimeout(Promise.resolve(fn(item)), { milliseconds: TIMEOUT })
}

/** `parallelMapSettled`'s records, as a p-map user would build them. */
function settledRecords(fn: Fn): (item: number) => Promise<PromiseSettledResult<number>> {
  return (item) =>
    Promise.resolve()
      .then(() => fn(item))
      .then(
        (value): PromiseSettledResult<number> => ({ status: 'fulfilled', value }),
        (reason: unknown): PromiseSettledResult<number> => ({ status: 'rejected', reason }),
      )
}

const ours =
  (options: () => ParallelMapOptions<number>): Pass =>
  (items, fn) =>
    parallelMap(fn, options())(items)

const peer: Pass = (items, fn) => pMapIterable(items, fn, { concurrency: CONCURRENCY })

/** One option set: how foreach-parallel runs with it, and the closest peer composition. */
export interface OptionSet {
  readonly name: string
  readonly ours: Pass
  readonly peerName: string
  readonly peer: Pass
  /** What the set costs at least per item: its process also times the baseline with that added. */
  readonly floor?: Floor
}

export interface Floor {
  /** `fn` reads `signal`: one `AbortController` per item. */
  readonly readsSignal?: boolean
  /** Clock readings per item. */
  readonly clockReads?: number
}

export const optionSets: readonly OptionSet[] = [
  { name: 'none', ours: ours(() => ({ concurrency: CONCURRENCY })), peerName: 'pMapIterable', peer },
  {
    name: 'onProgress',
    ours: ours(() => ({ concurrency: CONCURRENCY, onProgress: noop })),
    floor: { clockReads: 1 },
    peerName: 'pMapIterable',
    peer,
  },
  {
    name: 'parallelMapSettled',
    ours: (items, fn) => parallelMapSettled(fn, { concurrency: CONCURRENCY })(items),
    floor: { clockReads: 2 },
    peerName: 'pMapIterable + records',
    peer: (items, fn) => pMapIterable(items, settledRecords(fn), { concurrency: CONCURRENCY }),
  },
  {
    name: `timeout: ${TIMEOUT}`,
    ours: ours(() => ({ concurrency: CONCURRENCY, timeout: TIMEOUT })),
    peerName: 'pMapIterable + p-timeout',
    peer: (items, fn) => peer(items, withPTimeout(fn)),
  },
  {
    name: 'retry: { retries: 2 }',
    ours: ours(() => ({ concurrency: CONCURRENCY, retry: { retries: 2 } })),
    peerName: 'pMapIterable',
    peer,
  },
  {
    name: 'fn reads signal',
    ours: (items, fn) => parallelMap(readingSignal(fn), { concurrency: CONCURRENCY })(items),
    peerName: 'pMapIterable + AbortController',
    floor: { readsSignal: true },
    peer: (items, fn) => peer(items, withController(fn)),
  },
  {
    name: 'concurrencyLimit(8)',
    ours: ours(() => ({ concurrency: concurrencyLimit(CONCURRENCY) })),
    peerName: 'pMapIterable',
    peer,
  },
  {
    name: 'all of them',
    ours: (items, fn) =>
      parallelMapSettled(readingSignal(fn), {
        concurrency: concurrencyLimit(CONCURRENCY),
        onProgress: noop,
        timeout: TIMEOUT,
        retry: { retries: 2 },
      })(items),
    peerName: 'pMapIterable + p-timeout + AbortController + records',
    floor: { readsSignal: true, clockReads: 3 },
    peer: (items, fn) => pMapIterable(items, settledRecords(withPTimeout(withController(fn))), { concurrency: CONCURRENCY }),
  },
]

/**
 * The sets of the mixed process: all but those whose `fn` reads `signal`, whose 100k
 * `AbortController`s a pass are collected during whichever pass comes next.
 */
export const mixableSets: readonly OptionSet[] = optionSets.filter((set) => set.floor?.readsSignal !== true)

/** What a pass yields for an item: the value itself, or a settled record's `value`. */
export function valueOf(output: unknown): unknown {
  return typeof output === 'object' && output !== null && 'value' in output ? output.value : output
}
