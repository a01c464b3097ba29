import type { Fn } from './adapters.js'

/** What every library is run on; items are `0 … items - 1` and every `fn` returns `item + 1`. */
export interface Workload {
  readonly name: string
  readonly items: number
  readonly concurrency: number
  readonly ordered: boolean
  /** Makes a fresh `fn` for one run, with its own peak-concurrency probe when `probe` is set. */
  readonly fn: (probe?: Probe) => Fn
  /** Trivial work: the baseline is measured and the peak concurrency is not. */
  readonly trivial: boolean
  readonly warmups: number
  readonly runs: number
}

/** Counts the `fn` calls in flight and keeps the most seen at once. */
export class Probe {
  running = 0
  peak = 0

  track(promise: Promise<number>): Promise<number> {
    if (++this.running > this.peak) this.peak = this.running
    return promise.finally(() => this.running--)
  }
}

function sleep(ms: number, value: number): Promise<number> {
  return new Promise((resolve) => setTimeout(resolve, ms, value))
}

/** Timer work: each item waits `delayOf(item)` ms, then returns `item + 1`. */
function timers(delayOf: (item: number) => number): Workload['fn'] {
  return (probe) => (item) => {
    const promise = sleep(delayOf(item), item + 1)
    return probe ? probe.track(promise) : promise
  }
}

/** mulberry32: a small seeded generator, so every library waits the same delays. */
function randomDelays(count: number, max: number, seed: number): Uint8Array {
  const delays = new Uint8Array(count)
  let state = seed
  for (let i = 0; i < count; i++) {
    state = (state + 0x6d2b79f5) | 0
    let t = Math.imul(state ^ (state >>> 15), 1 | state)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    const random = ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
    delays[i] = Math.floor(random * (max + 1))
  }
  return delays
}

const RANDOM_ITEMS = 20_000
const delays = randomDelays(RANDOM_ITEMS, 6, 0x5eed)

const syncFn: Fn = (x) => x + 1
const asyncFn: Fn = async (x) => x + 1

function bothOrders(workload: Omit<Workload, 'ordered' | 'name'>, name: string): Workload[] {
  return [
    { ...workload, name: `${name}, ordered`, ordered: true },
    { ...workload, name: `${name}, as-completed`, ordered: false },
  ]
}

const trivial = { items: 100_000, concurrency: 8, trivial: true, warmups: 6, runs: 15 }
const timed = { trivial: false, warmups: 2, runs: 9 }

export const workloads: readonly Workload[] = [
  ...bothOrders({ ...trivial, fn: () => syncFn }, 'sync x => x + 1'),
  ...bothOrders({ ...trivial, fn: () => asyncFn }, 'async x => x + 1'),
  ...bothOrders({ ...timed, items: 2_000, concurrency: 64, fn: timers(() => 1) }, '1 ms timers'),
  {
    ...timed,
    name: '0–6 ms timers, as-completed',
    items: RANDOM_ITEMS,
    concurrency: 2_000,
    ordered: false,
    fn: timers((item) => delays[item]!),
  },
]
