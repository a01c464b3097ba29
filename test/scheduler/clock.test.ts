import { afterEach, describe, expect, it, vi } from 'vitest'
import { collect, parallelMap, parallelMapSettled, type Progress } from '../../src/index.js'
import { PassClock } from '../../src/scheduler/clock.js'
import { failOnUnhandledRejections, range } from '../helpers.js'

failOnUnhandledRejections()

afterEach(() => {
  vi.useRealTimers()
  vi.restoreAllMocks()
})

/** Fake time from 1000 ms, with every reading of the clock counted. */
function countedClock() {
  vi.useFakeTimers({ now: 1000 })
  return vi.spyOn(performance, 'now')
}

describe('PassClock', () => {
  it('reads the clock once per pass for the ends and snapshots in it', () => {
    const reads = countedClock()
    const clock = new PassClock()
    const end = clock.end()
    vi.advanceTimersByTime(5)
    expect(clock.end()).toBe(end)
    expect(reads).toHaveBeenCalledTimes(1)
    clock.passEnded()
    expect(clock.end()).toBe(end + 5)
    expect(reads).toHaveBeenCalledTimes(2)
  })

  it("starts an item at the end of the one that settled before it in the pass, and no later start", () => {
    countedClock()
    const clock = new PassClock()
    const end = clock.end()
    vi.advanceTimersByTime(1)
    expect(clock.start()).toBe(end)
    // That item's fn has run since: the next start reads anew.
    vi.advanceTimersByTime(2)
    expect(clock.start()).toBe(end + 3)
  })

  it('ends a synchronous fn at its start (duration 0)', () => {
    countedClock()
    const clock = new PassClock()
    const start = clock.start()
    vi.advanceTimersByTime(7)
    expect(clock.end()).toBe(start)
  })

  it('reads anew for a start after a callback has run', () => {
    countedClock()
    const clock = new PassClock()
    const end = clock.end()
    clock.called()
    vi.advanceTimersByTime(4)
    expect(clock.start()).toBe(end + 4)
    expect(clock.end()).toBe(end + 4)
  })
})

describe('the clock of a run', () => {
  it('reads the clock about once per item, for settled records and progress snapshots together', async () => {
    const reads = countedClock()
    const progress: Progress[] = []
    const records = await collect(
      parallelMapSettled((x: number) => x, { concurrency: 4, onProgress: (p) => progress.push(p) })(range(100)),
    )
    expect(records).toHaveLength(100)
    expect(progress.length).toBeGreaterThanOrEqual(101)
    // One reading per item, and a few for the run (its epoch, the counter's start, the last snapshot).
    expect(reads.mock.calls.length).toBeLessThanOrEqual(100 + 5)
  })

  it("a synchronous fn: duration 0, and the next item's startedAt after the time it took", async () => {
    vi.useFakeTimers({ now: 1000 })
    const records = await collect(
      parallelMapSettled(
        (x: number) => {
          vi.advanceTimersByTime(5)
          return x
        },
        { concurrency: 2 },
      )(range(6)),
    )
    expect(records.map((r) => [r.startedAt, r.duration])).toEqual(range(6).map((i) => [1000 + 5 * i, 0]))
  })

  it('async items: startedAt in pull order, never after the end, and durations measured across passes', async () => {
    vi.useFakeTimers({ now: 0 })
    const all = collect(
      parallelMapSettled((x: number) => new Promise<number>((resolve) => setTimeout(() => resolve(x), 10 + 10 * (x % 3))), {
        concurrency: 3,
        ordered: false,
      })(range(9)),
    )
    await vi.advanceTimersByTimeAsync(1000)
    const records = (await all).sort((a, b) => a.index - b.index)
    for (const [i, r] of records.entries()) {
      expect(r.duration).toBe(10 + 10 * (i % 3))
      if (i > 0) expect(r.startedAt).toBeGreaterThanOrEqual(records[i - 1]!.startedAt)
    }
  })

  it('keeps no reading past its pass while the run closes', async () => {
    vi.useFakeTimers({ now: 0 })
    const progress: Progress[] = []
    // Calls that ignore their signal, ending 10 and 30 ms after the consumer leaves.
    const iterator = parallelMap((x: number) => new Promise<number>((resolve) => setTimeout(() => resolve(x), 10 + 20 * x)), {
      concurrency: 2,
      onProgress: (p) => progress.push(p),
    })(range(2))
    const next = iterator.next()
    await vi.advanceTimersByTimeAsync(0)
    const closed = iterator.return!()
    await vi.advanceTimersByTimeAsync(30)
    await closed
    await next
    expect(progress.map((p) => [p.done, p.elapsedMs])).toEqual([
      [1, 10],
      [2, 30],
      [2, 30],
    ])
  })
})
