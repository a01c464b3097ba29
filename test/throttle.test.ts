import { getEventListeners } from 'node:events'
import fc from 'fast-check'
import { describe, expect, expectTypeOf, it, vi } from 'vitest'
import { batch, collect, parallelMap, pipe, take, throttle } from '../src/index.js'
import { ManualSource, SleepyWork, flush, stateOf, tracked, useStrictTimers } from './stream-helpers.js'

useStrictTimers()

/** Reads the whole source, noting the fake time at which each item came out. */
async function timesOf<T>(iterator: AsyncIterable<T>): Promise<{ items: T[]; times: number[] }> {
  const items: T[] = []
  const times: number[] = []
  const start = performance.now()
  const reading = (async () => {
    for await (const item of iterator) {
      items.push(item)
      times.push(performance.now() - start)
    }
  })()
  await vi.runAllTimersAsync()
  await reading
  return { items, times }
}

describe('throttle: validation', () => {
  it.each([
    [{ limit: 0, interval: 100 }, RangeError, 'Expected limit to be an integer >= 1, got 0'],
    [{ limit: 1.5, interval: 100 }, RangeError, 'Expected limit to be an integer >= 1, got 1.5'],
    [{ limit: NaN, interval: 100 }, RangeError, 'Expected limit to be an integer >= 1, got NaN'],
    [{ limit: '2', interval: 100 }, TypeError, 'Expected limit to be an integer >= 1, got "2" (string)'],
    [{ interval: 100 }, TypeError, 'Expected limit to be an integer >= 1, got undefined (undefined)'],
    [{ limit: 1, interval: 0 }, RangeError, 'Expected interval to be a finite number > 0, got 0'],
    [{ limit: 1, interval: -5 }, RangeError, 'Expected interval to be a finite number > 0, got -5'],
    [{ limit: 1, interval: Infinity }, RangeError, 'Expected interval to be a finite number > 0, got Infinity'],
    [{ limit: 1, interval: '100' }, TypeError, 'Expected interval to be a finite number > 0, got "100" (string)'],
    [{ limit: 1, interval: 100, signal: {} }, TypeError, 'Expected signal to be an AbortSignal, got an object'],
    [5, TypeError, 'Expected options to be an object, got 5'],
    [undefined, TypeError, 'Expected limit to be an integer >= 1, got undefined (undefined)'],
  ])('throttle(%o) throws when created', (options, Type, message) => {
    expect(() => throttle(options as never)).toThrow(Type)
    expect(() => throttle(options as never)).toThrow(message)
  })

  it('checks the source when applied', () => {
    expect(() => throttle({ limit: 1, interval: 1 })(null as never)).toThrow(
      'Expected source to be an iterable or async iterable (not a string), got null',
    )
  })
})

describe('throttle: rate', () => {
  it('hands out at most limit items per interval, delaying the rest and dropping none', async () => {
    const { items, times } = await timesOf(throttle({ limit: 2, interval: 100 })([0, 1, 2, 3, 4, 5, 6]))
    expect(items).toEqual([0, 1, 2, 3, 4, 5, 6])
    expect(times).toEqual([0, 0, 100, 100, 200, 200, 300])
  })

  it('never lets a timer that fires early, as measured by performance.now(), open a slot too soon', async () => {
    // The clock the throttle reads runs 1 % behind the timers: every timer fires a little early.
    const now = performance.now.bind(performance)
    const start = now()
    vi.spyOn(performance, 'now').mockImplementation(() => start + (now() - start) * 0.99)
    const { times } = await timesOf(throttle({ limit: 1, interval: 100 })([0, 1, 2, 3]))
    vi.restoreAllMocks()
    const gaps = times.slice(1).map((at, i) => at - times[i]!)
    expect(gaps).toHaveLength(3)
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(100)
  })

  it('counts any window, not fixed ones: a slot frees interval ms after its item went out', async () => {
    async function* source(): AsyncGenerator<string> {
      yield 'a'
      await new Promise((resolve) => setTimeout(resolve, 60))
      yield 'b'
      yield 'c'
      yield 'd'
    }
    const { times } = await timesOf(throttle({ limit: 2, interval: 100 })(source()))
    expect(times).toEqual([0, 60, 100, 160])
  })

  it('hands each item out at the earliest moment the window allows, for any source timing', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 12 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 100 }),
        async (gaps, limit, interval) => {
          // Each item takes `gap` ms to come once it is asked for.
          async function* source(): AsyncGenerator<number> {
            for (const gap of gaps) {
              if (gap > 0) await new Promise((resolve) => setTimeout(resolve, gap))
              yield gap
            }
          }
          const { items, times } = await timesOf(throttle({ limit, interval })(source()))
          expect(items).toEqual(gaps)
          const expected: number[] = []
          gaps.forEach((gap, i) => {
            const asked = i === 0 ? 0 : expected[i - 1]!
            const slot = i < limit ? 0 : expected[i - limit]! + interval
            expected.push(Math.max(asked + gap, slot))
          })
          expect(times).toEqual(expected)
        },
      ),
      { numRuns: 50 },
    )
  })

  it('holds a slow consumer to nothing: a late next() is answered at once', async () => {
    const throttled = throttle({ limit: 1, interval: 100 })([1, 2])
    expect(await throttled.next()).toEqual({ done: false, value: 1 })
    await vi.advanceTimersByTimeAsync(250)
    const second = throttled.next()
    expect(await stateOf(second)).toBe('fulfilled')
    // The end of the source takes no slot: it goes out at once.
    expect(await stateOf(throttled.next())).toBe('fulfilled')
  })

  it('pulls one item at a time, only when asked', async () => {
    const source = new ManualSource<number>()
    const throttled = throttle({ limit: 1, interval: 100 })(source)
    expect(source.pulls).toBe(0)
    const first = throttled.next()
    await flush()
    expect(source.pulls).toBe(1)
    source.push(1)
    expect(await first).toEqual({ done: false, value: 1 })
    await vi.advanceTimersByTimeAsync(500)
    expect(source.pulls).toBe(1)
    await throttled.return!()
  })

  it('holds a pulled item until a slot is free, and pulls the next only after it went out', async () => {
    const source = new ManualSource<number>()
    const throttled = throttle({ limit: 1, interval: 100 })(source)
    const first = throttled.next()
    await flush()
    source.push(1)
    await first
    const second = throttled.next()
    const third = throttled.next()
    await flush()
    expect(source.pulls).toBe(2)
    source.push(2)
    await vi.advanceTimersByTimeAsync(99)
    expect(await stateOf(second)).toBe('pending')
    expect(source.pulls).toBe(2)
    await vi.advanceTimersByTimeAsync(1)
    expect(await second).toEqual({ done: false, value: 2 })
    await flush()
    expect(source.pulls).toBe(3)
    source.end()
    expect(await third).toEqual({ done: true, value: undefined })
    expect(source.overlapped).toBe(false)
  })

  it('holds an upstream generator to the rate: parallelMap after throttle starts calls at the rate', async () => {
    const startedAt: number[] = []
    const fn = async (item: number): Promise<number> => {
      startedAt.push(performance.now())
      return item
    }
    const reading = pipe([0, 1, 2, 3, 4], throttle({ limit: 2, interval: 1_000 }), parallelMap(fn, { concurrency: 5 }), collect)
    await vi.runAllTimersAsync()
    expect(await reading).toEqual([0, 1, 2, 3, 4])
    expect(startedAt).toEqual([0, 0, 1_000, 1_000, 2_000])
  })
})

describe('throttle: in a pipeline that takes items in runs', () => {
  it('keeps the rate exactly when a batch after it takes several items at once', async () => {
    // parallelMap has its results ready: the batch takes them from the throttle in runs, and the
    // throttle reads the clock once per run.
    const cases: [number, number, number[][], number[]][] = [
      [2, 7, [[0, 1, 2], [3, 4, 5], [6]], [100, 200, 300]],
      [4, 10, [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]], [0, 100, 200, 200]],
    ]
    for (const [limit, count, batches, at] of cases) {
      const items = Array.from({ length: count }, (_, i) => i)
      const piped = pipe(items, parallelMap((x: number) => x, { concurrency: 8 }), throttle({ limit, interval: 100 }), batch(3))
      expect(await timesOf(piped)).toEqual({ items: batches, times: at })
    }
  })
})

/** At most this many items go out between two reads of the clock (see `mostUnstamped` in throttle.ts). */
const mostUnstamped = (limit: number): number => Math.min(32, Math.floor(limit / 16))

/**
 * Asks for each item of `gaps` after waiting its gap (ms) since the one before went out, noting the
 * fake times of each ask and each hand-out. `viaParallelMap`: through a parallelMap first, whose
 * ready results the throttle takes at once.
 */
async function askedAndOut(
  gaps: readonly number[],
  options: { limit: number; interval: number },
  viaParallelMap: boolean,
): Promise<{ asked: number[]; out: number[] }> {
  const source = viaParallelMap ? parallelMap((x: number) => x, { concurrency: 4 })(gaps) : gaps
  const throttled = throttle(options)(source)
  const start = performance.now()
  const asked: number[] = []
  const out: number[] = []
  const reading = (async () => {
    for (const gap of gaps) {
      if (gap > 0) await new Promise((resolve) => setTimeout(resolve, gap))
      asked.push(performance.now() - start)
      expect(await throttled.next()).toEqual({ done: false, value: gap })
      out.push(performance.now() - start)
    }
    await throttled.return!()
  })()
  await vi.runAllTimersAsync()
  await reading
  return { asked, out }
}

/** `count` items asked for at once after a pause of `gap` ms, as gaps: `gap` then zeros. */
const burst = ({ gap, count }: { gap: number; count: number }): number[] => [gap, ...Array<number>(count - 1).fill(0)]

describe('throttle: reading the clock less than once per item', () => {
  it('lets at most 32 items out between two reads while the limit is far from binding', async () => {
    const read = vi.spyOn(performance, 'now')
    const items = Array.from({ length: 3_200 }, (_, i) => i)
    const throttled = throttle({ limit: 1_000_000, interval: 1_000 })(parallelMap((x: number) => x, { concurrency: 8 })(items))
    expect(await collect(throttled)).toEqual(items)
    expect(read.mock.calls.length).toBeLessThanOrEqual(100)
    vi.restoreAllMocks()
  })

  it('reads it for every item below a limit of 16', async () => {
    const read = vi.spyOn(performance, 'now')
    const items = Array.from({ length: 100 }, (_, i) => i)
    const reading = collect(throttle({ limit: 15, interval: 1 })(items))
    await vi.runAllTimersAsync()
    expect(await reading).toEqual(items)
    expect(read.mock.calls.length).toBeGreaterThanOrEqual(100)
    vi.restoreAllMocks()
  })

  it('counts items read late from the read: for one interval, they may hold slots they had left', async () => {
    // Limit 32: up to 2 items go out unread. Two go out at 0 and are read at 1000 with the third,
    // so until 1100 they still count: 30 of a burst at 1000 go out at once, not 32.
    const gaps = [0, 0, ...burst({ gap: 1_000, count: 40 })]
    const { out } = await askedAndOut(gaps, { limit: 32, interval: 100 }, false)
    expect(out.slice(2)).toEqual([...Array<number>(30).fill(1_000), ...Array<number>(10).fill(1_100)])
  })

  it('never hands out more than limit items in any window, and holds an item back only while the window is nearly full', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.integer({ min: 1, max: 15 }), fc.integer({ min: 16, max: 80 })),
        fc.integer({ min: 1, max: 100 }),
        fc.array(fc.record({ gap: fc.integer({ min: 0, max: 250 }), count: fc.integer({ min: 1, max: 60 }) }), { maxLength: 8 }),
        fc.boolean(),
        async (limit, interval, bursts, viaParallelMap) => {
          const { asked, out } = await askedAndOut(bursts.flatMap(burst), { limit, interval }, viaParallelMap)
          // Any limit + 1 items span a whole interval.
          for (let i = limit; i < out.length; i++) expect(out[i]! - out[i - limit]!).toBeGreaterThanOrEqual(interval)
          // While an item is held, at least limit - mostUnstamped(limit) items went out in the last
          // interval (all limit when the clock is read for each item): checked when it is asked for
          // and whenever that count falls, an interval after an item went out.
          const full = limit - mostUnstamped(limit)
          out.forEach((at, i) => {
            if (at === asked[i]) return
            const before = out.slice(0, i)
            const falls = before.map((t) => t + interval).filter((s) => s > asked[i]! && s < at)
            for (const s of [asked[i]!, ...falls]) {
              expect(before.filter((t) => t > s - interval && t <= s).length).toBeGreaterThanOrEqual(full)
            }
          })
        },
      ),
      { numRuns: 100 },
    )
  })
})

describe('throttle: ending early', () => {
  it('an aborted signal ends the wait at once with its reason, closes the source and removes its listener', async () => {
    const controller = new AbortController()
    const source = tracked([1, 2, 3])
    const throttled = throttle({ limit: 1, interval: 1_000, signal: controller.signal })(source)
    expect(await throttled.next()).toEqual({ done: false, value: 1 })
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1)
    const waiting = throttled.next()
    await vi.advanceTimersByTimeAsync(10)
    const reason = new Error('stop')
    controller.abort(reason)
    await expect(waiting).rejects.toBe(reason)
    // The item held for a slot is dropped with the run.
    expect(source.state).toEqual({ pulled: 2, closed: true })
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0)
    expect(vi.getTimerCount()).toBe(0)
    expect(await throttled.next()).toEqual({ done: true, value: undefined })
  })

  it('an abort while no next() is pending rejects the next call', async () => {
    const controller = new AbortController()
    const throttled = throttle({ limit: 1, interval: 1_000, signal: controller.signal })([1, 2])
    await throttled.next()
    controller.abort()
    await expect(throttled.next()).rejects.toBe(controller.signal.reason)
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0)
  })

  it('an abort while a pull is pending rejects at once', async () => {
    const controller = new AbortController()
    const source = new ManualSource<number>()
    const throttled = throttle({ limit: 1, interval: 1_000, signal: controller.signal })(source)
    const pending = throttled.next()
    await flush()
    controller.abort(new Error('stop'))
    await expect(pending).rejects.toThrow('stop')
    expect(source.returned).toBe(true)
  })

  it('an already aborted signal rejects the first next() without pulling', async () => {
    const source = new ManualSource<number>()
    const throttled = throttle({ limit: 1, interval: 1_000, signal: AbortSignal.abort(new Error('late')) })(source)
    await expect(throttled.next()).rejects.toThrow('late')
    expect(source.pulls).toBe(0)
  })

  it('return() during a wait answers the pending next() done at once, clears the timer and closes the source', async () => {
    const controller = new AbortController()
    const source = tracked([1, 2, 3])
    const throttled = throttle({ limit: 1, interval: 1_000, signal: controller.signal })(source)
    await throttled.next()
    const waiting = throttled.next()
    await flush()
    expect(vi.getTimerCount()).toBe(1)
    await throttled.return!()
    expect(await waiting).toEqual({ done: true, value: undefined })
    expect(vi.getTimerCount()).toBe(0)
    expect(source.state.closed).toBe(true)
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0)
  })

  it('removes its listener when the source ends', async () => {
    const controller = new AbortController()
    expect(await timesOf(throttle({ limit: 5, interval: 10, signal: controller.signal })([1, 2]))).toEqual({
      items: [1, 2],
      times: [0, 0],
    })
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0)
  })

  it('passes on an error of the source', async () => {
    async function* failing(): AsyncGenerator<number> {
      yield 1
      throw new Error('boom')
    }
    const throttled = throttle({ limit: 1, interval: 10 })(failing())
    await throttled.next()
    const next = throttled.next()
    const failed = expect(next).rejects.toThrow('boom')
    await vi.advanceTimersByTimeAsync(10)
    await failed
  })

  it('closes an upstream parallelMap on break, aborting and settling its in-flight calls', async () => {
    const work = new SleepyWork((item) => (item === 0 ? 1 : 10_000))
    const reading = pipe(
      [0, 1, 2, 3],
      parallelMap(work.fn, { concurrency: 4, ordered: false }),
      throttle({ limit: 1, interval: 100 }),
      take(1),
      collect,
    )
    await vi.advanceTimersByTimeAsync(1)
    expect(await reading).toEqual([0])
    expect(work.aborted.sort()).toEqual([1, 2, 3])
    expect(work.settled.sort()).toEqual([0, 1, 2, 3])
  })
})

describe('types', () => {
  it('keeps the item type through pipe', () => {
    const run = () => pipe(['a'], parallelMap(async (s: string) => s.length), throttle({ limit: 1, interval: 1 }), collect)
    expectTypeOf(run).returns.toEqualTypeOf<Promise<number[]>>()
  })
})
