import { describe, expect, expectTypeOf, it, vi } from 'vitest'
import { collect, parallelMap, pipe, timeout, TimeoutError } from '../src/index.js'
import { ManualSource, SleepyWork, flush, stateOf, ticking, tracked, useStrictTimers } from './stream-helpers.js'

useStrictTimers()

describe('timeout: validation', () => {
  it.each([
    [0, RangeError, 'Expected ms to be a finite number > 0, got 0'],
    [-1, RangeError, 'Expected ms to be a finite number > 0, got -1'],
    [NaN, RangeError, 'Expected ms to be a finite number > 0, got NaN'],
    [Infinity, RangeError, 'Expected ms to be a finite number > 0, got Infinity'],
    ['5', TypeError, 'Expected ms or options to be a number or an object, got "5" (string)'],
    [undefined, TypeError, 'Expected ms or options to be a number or an object, got undefined (undefined)'],
    [null, TypeError, 'Expected ms or options to be a number or an object, got null'],
    [[100], TypeError, 'Expected options to be an object, got an array'],
    [{}, TypeError, 'Expected options to set total or each, got neither'],
    [{ total: 0 }, RangeError, 'Expected total to be a finite number > 0, got 0'],
    [{ each: '1' }, TypeError, 'Expected each to be a finite number > 0, got "1" (string)'],
    [{ each: -1 }, RangeError, 'Expected each to be a finite number > 0, got -1'],
    [{ total: 1, onTimeout: 'stop' }, TypeError, `Expected onTimeout to be one of 'error', 'end', got "stop" (string)`],
    [{ total: 1, onTimeout: 1 }, TypeError, `Expected onTimeout to be one of 'error', 'end', got 1`],
  ])('timeout(%o) throws when created', (argument, Type, message) => {
    expect(() => timeout(argument as never)).toThrow(Type)
    expect(() => timeout(argument as never)).toThrow(message)
  })

  it('checks the source when applied', () => {
    expect(() => timeout(1)({} as never)).toThrow(TypeError)
  })
})

describe('timeout: the whole run', () => {
  it('starts its clock at the first next(), and rejects a pending next() at the deadline with TimeoutError', async () => {
    const source = new ManualSource<number>()
    const limited = timeout(250)(source)
    await vi.advanceTimersByTimeAsync(1_000)
    const first = limited.next()
    await vi.advanceTimersByTimeAsync(100)
    source.push(1)
    expect(await first).toEqual({ done: false, value: 1 })
    const second = limited.next()
    await vi.advanceTimersByTimeAsync(149)
    expect(await stateOf(second)).toBe('pending')
    expect(source.returned).toBe(false)
    await vi.advanceTimersByTimeAsync(1)
    const error = await second.catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TimeoutError)
    expect(error).toMatchObject({ name: 'TimeoutError', message: 'The run timed out after 250 ms' })
    expect(source.returned).toBe(true)
    expect(await limited.next()).toEqual({ done: true, value: undefined })
  })

  it('closes the source at the deadline even when no next() is pending; the next call rejects once', async () => {
    const source = new ManualSource<number>()
    const limited = timeout(100)(source)
    const first = limited.next()
    await flush()
    source.push(1)
    await first
    await vi.advanceTimersByTimeAsync(100)
    expect(source.returned).toBe(true)
    await expect(limited.next()).rejects.toThrow(TimeoutError)
    expect(await limited.next()).toEqual({ done: true, value: undefined })
    expect(source.pulls).toBe(1)
  })

  it('drops a timeout not handed out yet once the consumer has called return()', async () => {
    const limited = timeout(100)([1, 2])
    await limited.next()
    await vi.advanceTimersByTimeAsync(100)
    await limited.return!()
    expect(await limited.next()).toEqual({ done: true, value: undefined })
  })

  it("ends quietly with onTimeout: 'end'", async () => {
    const state = { closed: false }
    const reading = collect(timeout({ total: 250, onTimeout: 'end' })(ticking(100, state)))
    await vi.advanceTimersByTimeAsync(250)
    expect(await reading).toEqual([0, 1])
    // The generator was busy in its `await` at the deadline: its return() runs once that is over.
    expect(state.closed).toBe(false)
    await vi.advanceTimersByTimeAsync(50)
    expect(state.closed).toBe(true)
  })

  it('fires on time while an upstream async generator is busy in an await, which closes later', async () => {
    const state = { closed: false }
    const limited = timeout(150)(ticking(100, state))
    expect(await collectUntil(limited, 150)).toEqual({ items: [0], error: expect.any(TimeoutError) })
    expect(state.closed).toBe(false)
    await vi.advanceTimersByTimeAsync(50)
    expect(state.closed).toBe(true)
  })

  it('answers overlapping next() calls: the first pending one rejects, the others end', async () => {
    const source = new ManualSource<number>()
    const limited = timeout(10)(source)
    const calls = [limited.next(), limited.next(), limited.next()].map((p) => p.catch((e: unknown) => e))
    await vi.advanceTimersByTimeAsync(10)
    expect(await Promise.all(calls)).toEqual([expect.any(TimeoutError), { done: true, value: undefined }, { done: true, value: undefined }])
    expect(source.overlapped).toBe(false)
  })

  it('clears its timer when the source ends first, on break, and on an error of the source', async () => {
    expect(await collect(timeout(1_000)([1, 2]))).toEqual([1, 2])
    expect(vi.getTimerCount()).toBe(0)

    const source = tracked([1, 2, 3])
    for await (const item of timeout(1_000)(source)) if (item === 1) break
    expect(source.state.closed).toBe(true)
    expect(vi.getTimerCount()).toBe(0)

    async function* failing(): AsyncGenerator<number> {
      yield 1
      throw new Error('boom')
    }
    await expect(collect(timeout({ total: 1_000, each: 100 })(failing()))).rejects.toThrow('boom')
    expect(vi.getTimerCount()).toBe(0)
  })

  it('return() while a next() is pending answers it done at once and clears the timer', async () => {
    const source = new ManualSource<number>()
    const limited = timeout(1_000)(source)
    const pending = limited.next()
    await flush()
    await limited.return!()
    expect(await pending).toEqual({ done: true, value: undefined })
    expect(source.returned).toBe(true)
    expect(vi.getTimerCount()).toBe(0)
  })
})

describe('timeout: each item', () => {
  it('bounds the wait for every item, counted from when it is asked of the source', async () => {
    async function* source(): AsyncGenerator<number> {
      for (const gap of [50, 90, 90, 200]) {
        await new Promise((resolve) => setTimeout(resolve, gap))
        yield gap
      }
    }
    const limited = timeout({ each: 100 })(source())
    const result = collectUntil(limited, 1_000)
    expect(await result).toEqual({ items: [50, 90, 90], error: expect.any(TimeoutError) })
    expect((await result).error).toMatchObject({ message: 'No item came within 100 ms' })
  })

  it("with onTimeout: 'end' and a total, stops at whichever comes first", async () => {
    const limited = timeout({ each: 100, total: 250, onTimeout: 'end' })(ticking(90))
    const reading = collect(limited)
    await vi.advanceTimersByTimeAsync(300)
    expect(await reading).toEqual([0, 1])
  })

  it('does not count the time the consumer takes', async () => {
    const limited = timeout({ each: 100 })(ticking(50))
    const first = limited.next()
    await vi.advanceTimersByTimeAsync(50)
    expect(await first).toEqual({ done: false, value: 0 })
    await vi.advanceTimersByTimeAsync(500)
    const second = limited.next()
    await vi.advanceTimersByTimeAsync(50)
    expect(await second).toEqual({ done: false, value: 1 })
    await limited.return!()
    await vi.advanceTimersByTimeAsync(50)
  })
})

describe('timeout after parallelMap', () => {
  it('aborts the in-flight work at the deadline, which settles', async () => {
    const work = new SleepyWork((item) => 100 * (item + 1))
    const reading = collectUntil(pipe([0, 1, 2, 3, 4, 5], parallelMap(work.fn, { concurrency: 3 }), timeout(250)), 250)
    expect(await reading).toEqual({ items: [0, 1], error: expect.any(TimeoutError) })
    await flush()
    expect(work.aborted.sort()).toEqual([2, 3, 4])
    expect(work.settled.sort()).toEqual([0, 1, 2, 3, 4])
  })

  it('each: items parallelMap has ready need no deadline; the first one it waits for gets one', async () => {
    // 0 to 2 are ready at once, 3 takes 100 ms: its wait counts from when it was asked.
    const fn = (item: number): number | Promise<number> =>
      item < 3 ? item : new Promise((resolve) => setTimeout(resolve, 100, item))
    const mapped = parallelMap(fn, { concurrency: 4 })([0, 1, 2, 3])
    expect(await mapped.next()).toEqual({ done: false, value: 0 })
    await flush()
    const limited = timeout({ each: 30 })(mapped)
    const now = vi.spyOn(performance, 'now')
    expect(await limited.next()).toEqual({ done: false, value: 1 })
    expect(await limited.next()).toEqual({ done: false, value: 2 })
    expect(now).not.toHaveBeenCalled()
    const waiting = limited.next().catch((error: unknown) => error)
    await vi.advanceTimersByTimeAsync(29)
    expect(await stateOf(waiting)).toBe('pending')
    await vi.advanceTimersByTimeAsync(1)
    expect(await waiting).toEqual(new TimeoutError('No item came within 30 ms'))
    now.mockRestore()
    // Item 3's call ignores its signal: the close waits for it.
    await vi.advanceTimersByTimeAsync(70)
    await limited.return!()
  })

  it('abandons nothing: an upstream that honours its signal has settled by the time the clock moves on', async () => {
    const calls: AbortSignal[] = []
    const fn = (_item: number, { signal }: { signal: AbortSignal }): Promise<never> =>
      new Promise((_resolve, reject) => {
        calls.push(signal)
        signal.addEventListener('abort', () => reject(signal.reason))
      })
    const limited = pipe([1, 2, 3], parallelMap(fn, { concurrency: 2 }), timeout({ each: 50, onTimeout: 'end' }))
    const reading = collect(limited)
    await vi.advanceTimersByTimeAsync(50)
    expect(await reading).toEqual([])
    expect(calls.map((signal) => signal.aborted)).toEqual([true, true])
  })
})

describe('types', () => {
  it('keeps the item type through pipe', () => {
    const run = () => pipe([1], parallelMap(async (n: number) => [n]), timeout(10), collect)
    expectTypeOf(run).returns.toEqualTypeOf<Promise<number[][]>>()
  })
})

/** Reads until the iteration ends or fails, advancing the fake clock by `ms` meanwhile. */
async function collectUntil<T>(iterator: AsyncIterator<T>, ms: number): Promise<{ items: T[]; error?: unknown }> {
  const items: T[] = []
  const reading = (async () => {
    for (;;) {
      const result = await iterator.next()
      if (result.done) return { items }
      items.push(result.value)
    }
  })().catch((error: unknown) => ({ items, error }))
  await vi.advanceTimersByTimeAsync(ms)
  return reading
}
