import type { WorkerContext } from '../src/workers/index.js'

/** A range of integers to search, `from` included, `to` excluded. */
export interface Range {
  readonly from: number
  readonly to: number
}

/**
 * The worker module of examples/workers.ts: counts the primes in a range by trial division, a
 * deliberately CPU-bound loop that never yields. `workerData.step` is how far apart odd divisors
 * are tried (2), shared by every thread once.
 */
export default function countPrimes({ from, to }: Range, { workerData }: WorkerContext<{ step: number }>): number {
  let count = from <= 2 && to > 2 ? 1 : 0
  for (let n = Math.max(3, from | 1); n < to; n += 2) {
    let prime = true
    for (let d = 3; d * d <= n; d += workerData.step) {
      if (n % d === 0) {
        prime = false
        break
      }
    }
    if (prime) count++
  }
  return count
}
