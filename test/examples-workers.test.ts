import { tmpdir } from 'node:os'
import { describe, expect, it } from 'vitest'
import countPrimes, { primesBelow } from '../examples/count-primes.js'
import { expectHelp, expectUsageError, interrupt, outcome, run } from './examples-helpers.js'

const context = (smallPrimes: readonly number[], report = (_value: unknown) => {}) => ({
  index: 0,
  attempt: 1,
  workerData: { smallPrimes },
  report,
})

describe('examples/count-primes.ts', () => {
  it('sieves the small primes and counts the primes in a range', () => {
    expect(primesBelow(30)).toEqual([2, 3, 5, 7, 11, 13, 17, 19, 23, 29])
    expect(countPrimes({ from: 0, to: 100 }, context(primesBelow(100)))).toBe(25)
    expect(countPrimes({ from: 90, to: 110 }, context(primesBelow(100)))).toBe(5)
  })

  it('reports how far it has got, in tenths of the range', () => {
    const reports: unknown[] = []
    countPrimes({ from: 0, to: 95 }, context(primesBelow(100), (value) => reports.push(value)))
    expect(reports).toEqual([11, 21, 32, 42, 53, 63, 74, 84, 95])
  })

  it('goes on past the end of its table of small primes', () => {
    const range = { from: 1_000_000, to: 1_001_000 }
    expect(countPrimes(range, context(primesBelow(20)))).toBe(countPrimes(range, context(primesBelow(1_001))))
  })
})

describe('examples/workers.ts', () => {
  it('counts the primes on worker threads and stops the runaway range at its timeout', async () => {
    const { stdout } = await run('workers', '--size', '100000', '--timeout', '2000')
    expect(stdout).toMatch(/^Counting primes in 9 ranges on \d+ threads\n/)
    expect(stdout).toContain('stopped: Item 4 timed out after 2000 ms\n')
    expect(stdout).toMatch(/\n63951 primes below 800000, in \d+ ms\n$/)
  })

  it('answers --help with the usage, and a bad argument with the problem and the usage', async () => {
    const [help, size, timeout, unknown] = await Promise.all([
      outcome(tmpdir(), 'workers', '-h'),
      outcome(tmpdir(), 'workers', '--size', '1e6x'),
      outcome(tmpdir(), 'workers', '--timeout', '0'),
      outcome(tmpdir(), 'workers', '--threads', '2'),
    ])
    expectHelp(help, 'Usage: node --import tsx examples/workers.ts [--size N] [--timeout MS]')
    expectUsageError(size, 'workers', /^Option '--size' expects a whole number >= 1, got '1e6x'$/)
    expectUsageError(timeout, 'workers', /^Option '--timeout' expects a whole number >= 1, got '0'$/)
    expectUsageError(unknown, 'workers', /^Unknown option '--threads'$/)
  })

  it('stops its threads on Ctrl+C, the runaway range included, and exits', async () => {
    const stopped = await interrupt(tmpdir(), 'Counting primes', 'workers', ['--timeout', '600000'])
    expect(stopped).toEqual({ code: 130, stdout: expect.stringMatching(/^Counting primes in 9 ranges/), stderr: 'workers: interrupted\n' })
  })
})
