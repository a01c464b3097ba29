// Counts primes on worker threads, like ForEach-Object -Parallel over runspaces (Start-ThreadJob):
// the ranges are searched on every core at once, the counts come back in input order, and a
// runaway range is stopped by its per-item timeout although its loop never yields. On a terminal,
// a status line shows the ranges done and how far each thread has got inside its range.
// Run: node --import tsx examples/workers.ts [--size 1000000 --timeout 3000]
import { availableParallelism } from 'node:os'
import { parseArgs } from 'node:util'
import { TimeoutError, type ItemReport, type Progress } from '../src/index.js'
import { workerMap } from '../src/workers/index.js'
import { primesBelow, type Range } from './count-primes.js'

const { values } = parseArgs({
  options: { size: { type: 'string', default: '1000000' }, timeout: { type: 'string', default: '3000' } },
})
const size = Number(values.size)
const ranges: Range[] = Array.from({ length: 8 }, (_, i) => ({ from: i * size, to: (i + 1) * size }))
// A range far too large to finish in time: the timeout terminates its thread, and the pool starts a
// fresh one for the ranges after it.
ranges.splice(4, 0, { from: 0, to: 1e12 })

/** Overwrites the status line on a terminal. */
function show(status: string): void {
  if (process.stderr.isTTY) process.stderr.write(`\r${status.padEnd(40)}`)
}

function showProgress({ done, total, running }: Progress): void {
  show(`${done}/${total} ranges done, ${running} running`)
}

/** What a worker thread reports from inside its range. */
function showReport({ index, value }: ItemReport): void {
  show(`range ${index}: ${String(value)}% searched`)
}

const countPrimes = workerMap<Range, number>(new URL('count-primes.ts', import.meta.url), {
  workerData: { smallPrimes: primesBelow(10_000) },
  timeout: Number(values.timeout),
  onError: 'continue',
  onProgress: showProgress,
  onReport: showReport,
  total: ranges.length,
})

console.log(`Counting primes in ${ranges.length} ranges on ${availableParallelism()} threads`)
const started = performance.now()
let primes = 0
try {
  for await (const count of countPrimes(ranges)) primes += count
} catch (error) {
  if (!(error instanceof AggregateError)) throw error
  if (process.stderr.isTTY) process.stderr.write('\n')
  for (const reason of error.errors) {
    console.log(reason instanceof TimeoutError ? `stopped: ${reason.message}` : `failed: ${String(reason)}`)
  }
}
console.log(`${primes} primes below ${8 * size}, in ${Math.round(performance.now() - started)} ms`)
