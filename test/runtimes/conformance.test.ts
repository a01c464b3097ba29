import { describe, expect, it } from 'vitest'
import * as api from '../../src/index.js'
import type { Source } from '../../src/index.js'
import { cases, runConformance, uncovered, type MainEntry } from './conformance.js'

describe('the runtime conformance subset, on Node against src/', () => {
  for (const { name, run } of cases) it(name, () => run(api))

  it('covers every function and class the main entry exports', () => {
    expect(uncovered(api)).toEqual([])
  })
})

describe('the conformance subset fails where a guarantee is broken', () => {
  /** The failures of a run against `broken`, by case name. */
  async function failures(broken: Partial<MainEntry> & Record<string, unknown>): Promise<Record<string, string | undefined>> {
    const results = await runConformance({ ...api, ...broken } as MainEntry)
    return Object.fromEntries(results.filter((r) => !r.passed).map((r) => [r.name, r.error]))
  }

  it('a parallelMap that runs one call too many', async () => {
    const parallelMap: MainEntry['parallelMap'] = (fn, options) =>
      api.parallelMap(fn, { ...options, concurrency: ((options?.concurrency as number | undefined) ?? 5) + 1 })
    expect(await failures({ parallelMap })).toMatchObject({
      'parallelMap keeps the concurrency cap, reaches it, and keeps input order': 'ConformanceError: most calls running at once: expected 3, got 4',
    })
  })

  it('a take that leaves its source open', async () => {
    const take =
      (n: number) =>
      <T>(source: Source<T>): AsyncIterableIterator<T> & AsyncDisposable =>
        (async function* () {
          const iterator = (source as AsyncIterable<T>)[Symbol.asyncIterator]()
          for (let i = 0; i < n; i++) {
            const result = await iterator.next()
            if (result.done) return
            yield result.value
          }
        })()
    // It has no [Symbol.asyncDispose] either, which another case catches.
    expect(await failures({ take: take as unknown as MainEntry['take'] })).toMatchObject({
      'take, drop and slice: array semantics, and the source is closed once the last item is out':
        'ConformanceError: take(3) did not close its source',
    })
  })

  it('an export that no case covers', async () => {
    expect(await failures({ newOperator: () => {} })).toEqual({
      'every export of the main entry is covered by a case': 'not covered: newOperator (add a case to test/runtimes/conformance.ts)',
    })
  })
})
