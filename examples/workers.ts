// Counts primes on worker threads, like ForEach-Object -Parallel over runspaces (Start-ThreadJob):
// the ranges are searched on every core at once, the counts come back in input order, and a
// runaway range is stopped by its per-item timeout although its loop never yields. On a terminal,
// a status line shows the ranges done and how far each thread has got inside its range. Ctrl+C
// stops the threads, busy loops included.
// Run: node --import tsx examples/workers.ts [--size 1000000 --timeout 3000]
import { availableParallelism } from 'node:os'
import { TimeoutError, type ItemReport, type Progress } from '../src/index.js'
import { workerMap } from '../src/workers/index.js'
import { integerArg, parseExampleArgs, runExample } from './args.js'
import { primesBelow, type Range } from './count-primes.js'

const USAGE = `Usage: node --import tsx examples/workers.ts [--size N] [--timeout MS]
  --size N       how many integers each of the 8 ranges holds (default 1000000)
  --timeout MS   the time limit of each range, which a ninth, runaway range reaches (default 3000)`

const { values } = parseExampleArgs(USAGE, { size: { type: 'string' }, timeout: { type: 'string' } })
const size = integerArg(USAGE, 'size', values.size, 1) ?? 1_000_000
const timeout = integerArg(USAGE, 'timeout', values.timeout, 1) ?? 3000
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

async function main(signal: AbortSignal): Promise<void> {
  const countPrimes = workerMap<Range, number>(new URL('count-primes.ts', import.meta.url), {
    workerData: { smallPrimes: primesBelow(10_000) },
    timeout,
    onError: 'continue',
    onProgress: showProgress,
    onReport: showReport,
    total: ranges.length,
    signal,
  })

  console.log(`Counting primes in ${ranges.length} ranges on ${availableParallelism()} threads`)
  const started = performance.now()
  let primes = 0
  try {
    for await (const count of countPrimes(ranges)) primes += count
  } catch (error) {
    if (!(error instanceof AggregateError)) throw error
    for (const reason of error.errors) {
      console.log(reason instanceof TimeoutError ? `stopped: ${reason.message}` : `failed: ${String(reason)}`)
    }
  } finally {
    // Ends the status line, so that what follows starts on a line of its own.
    if (process.stderr.isTTY) process.stderr.write('\n')
  }
  console.log(`${primes} primes below ${8 * size}, in ${Math.round(performance.now() - started)} ms`)
}

await runExample('workers', main)
