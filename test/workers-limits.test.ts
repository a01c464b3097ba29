import { availableParallelism } from 'node:os'
import { Piscina } from 'piscina'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { collect, concurrencyLimit, merge } from '../src/index.js'
import { workerMap } from '../src/workers/index.js'
import { failOnUnhandledRejections, range } from './helpers.js'

// workerMap takes the concurrency values parallelMap takes (issue 16): a Limiter, 'auto', key +
// keyConcurrency.

const stray = new URL('fixtures/stray.mjs', import.meta.url)

interface Span {
  readonly name: string
  readonly ms: number
  readonly start: number
  readonly end: number
}

/** The most spans that overlap at one moment. */
function mostAtOnce(spans: readonly Span[]): number {
  const edges = spans.flatMap(({ start, end }) => [
    [start, 1],
    [end, -1],
  ])
  // An end and a start at the same moment do not overlap.
  edges.sort(([a, da], [b, db]) => a! - b! || da! - db!)
  let running = 0
  let most = 0
  for (const [, delta] of edges) most = Math.max(most, (running += delta!))
  return most
}

failOnUnhandledRejections()

afterEach(() => {
  vi.restoreAllMocks()
})

describe('workerMap: concurrency as parallelMap takes it', () => {
  it('shares a Limiter with another run: together they run no more than its limit', async () => {
    const limiter = concurrencyLimit(2)
    const run = (name: string) =>
      workerMap<{ name: string; ms: number }, Span>(stray, { exportName: 'span', concurrency: limiter })(
        range(4).map(() => ({ name, ms: 40 })),
      )
    const spans = await collect(merge(run('a'), run('b')))
    expect(new Set(spans.map(({ name }) => name))).toEqual(new Set(['a', 'b']))
    // Without the shared limit, the two runs would run four items at once, two each.
    expect(mostAtOnce(spans)).toBeLessThanOrEqual(2)
    expect(limiter.running).toBe(0)
  })

  it("takes 'auto', with a pool that may grow but starts a thread per core", async () => {
    const run = vi.spyOn(Piscina.prototype, 'run')
    const double = new URL('fixtures/double.mjs', import.meta.url)
    for await (const result of workerMap<number, number>(double, { concurrency: 'auto' })([21])) {
      expect(result).toBe(42)
      const piscina = run.mock.contexts[0] as Piscina
      expect(piscina.maxThreads).toBe(Math.max(256, 4 * availableParallelism()))
      expect(piscina.threads).toHaveLength(availableParallelism())
    }
  })

  it('keeps at most keyConcurrency items of one key running at once', async () => {
    const items = ['a', 'b', 'a', 'b', 'a', 'b'].map((name) => ({ name, ms: 40 }))
    const run = workerMap<{ name: string; ms: number }, Span>(stray, {
      exportName: 'span',
      concurrency: 4,
      key: (item) => (item as { name: string }).name,
      keyConcurrency: 1,
    })
    const spans = await collect(run(items))
    expect(mostAtOnce(spans.filter(({ name }) => name === 'a'))).toBe(1)
    expect(mostAtOnce(spans.filter(({ name }) => name === 'b'))).toBe(1)
  })

  it('checks concurrency at creation', () => {
    const double = new URL('fixtures/double.mjs', import.meta.url)
    expect(() => workerMap(double, { concurrency: 'fast' as never })).toThrow(
      new TypeError(`Expected concurrency to be an integer >= 1, Infinity, 'auto' or a Limiter, got "fast" (string)`),
    )
    expect(() => workerMap(double, { keyConcurrency: 2 })).toThrow(TypeError)
  })
})
