import type { WorkerContext } from '../src/workers/index.js'

/** A range of integers to search, `from` included, `to` excluded. */
export interface Range {
  readonly from: number
  readonly to: number
}

/** What every thread receives once: the primes below some bound, in order, to divide by. */
export interface Settings {
  readonly smallPrimes: readonly number[]
}

/** The primes below `bound`, by the sieve of Eratosthenes. */
export function primesBelow(bound: number): number[] {
  const composite = new Uint8Array(bound)
  const primes: number[] = []
  for (let n = 2; n < bound; n++) {
    if (composite[n]) continue
    primes.push(n)
    for (let multiple = n * n; multiple < bound; multiple += n) composite[multiple] = 1
  }
  return primes
}

function isPrime(n: number, smallPrimes: readonly number[]): boolean {
  if (n < 2) return false
  for (const p of smallPrimes) {
    if (p * p > n) return true
    if (n % p === 0) return n === p
  }
  // Past the table: odd divisors from its last prime on.
  for (let d = smallPrimes[smallPrimes.length - 1]! + 2; d * d <= n; d += 2) {
    if (n % d === 0) return false
  }
  return true
}

/**
 * The worker module of examples/workers.ts: counts the primes in a range by trial division, a
 * CPU-bound loop that never yields, dividing by the table of small primes that the main thread
 * computed once and every thread received as `workerData` (the `$using:` of runspaces). Reports
 * how far it has got, in tenths of the range, as a percentage (PowerShell's `Write-Progress`).
 */
export default function countPrimes({ from, to }: Range, { workerData, report }: WorkerContext<Settings>): number {
  const tenth = Math.max(1, Math.ceil((to - from) / 10))
  let count = 0
  for (let n = from; n < to; n++) {
    if (isPrime(n, workerData.smallPrimes)) count++
    if ((n - from + 1) % tenth === 0) report(Math.round((100 * (n - from + 1)) / (to - from)))
  }
  return count
}
