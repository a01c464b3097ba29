import fc from 'fast-check'
import { describe, expect, expectTypeOf, it, vi } from 'vitest'
import { batch, collect, parallelMap, pipe, take } from '../src/index.js'
import { ManualSource, SleepyWork, flush, stateOf, ticking, tracked, useStrictTimers } from './stream-helpers.js'

useStrictTimers()

describe('batch: validation', () => {
  it.each([
    [0, undefined, RangeError, 'Expected size to be an integer >= 1, got 0'],
    [1.5, undefined, RangeError, 'Expected size to be an integer >= 1, got 1.5'],
    [NaN, undefined, RangeError, 'Expected size to be an integer >= 1, got NaN'],
    [Infinity, undefined, RangeError, 'Expected size to be an integer >= 1, got Infinity'],
    ['2', undefined, TypeError, 'Expected size to be an integer >= 1, got "2" (string)'],
    [2, 100, TypeError, 'Expected options to be an object, got 100'],
    [2, { maxWait: 0 }, RangeError, 'Expected maxWait to be a finite number > 0, got 0'],
    [2, { maxWait: -1 }, RangeError, 'Expected maxWait to be a finite number > 0, got -1'],
    [2, { maxWait: Infinity }, RangeError, 'Expected maxWait to be a finite number > 0, got Infinity'],
    [2, { maxWait: '10' }, TypeError, 'Expected maxWait to be a finite number > 0, got "10" (string)'],
  ])('batch(%o, %o) throws when created', (size, options, Type, message) => {
    expect(() => batch(size as never, options as never)).toThrow(Type)
    expect(() => batch(size as never, options as never)).toThrow(message)
  })

  it('checks the source when applied', () => {
    expect(() => batch(2)(undefined as never)).toThrow(TypeError)
  })
})

describe('batch: sizes', () => {
  it('groups items into arrays of size, the last one partial and never empty', async () => {
    expect(await collect(batch(3)([1, 2, 3, 4, 5, 6, 7]))).toEqual([[1, 2, 3], [4, 5, 6], [7]])
    expect(await collect(batch(2)([1, 2, 3, 4]))).toEqual([[1, 2], [3, 4]])
    expect(await collect(batch(2)([]))).toEqual([])
    expect(await collect(batch(1)(tracked(['a', 'b'])))).toEqual([['a'], ['b']])
  })

  it('for any items and size: full batches, then one partial, that flatten back to the items', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.string(), { maxLength: 30 }), fc.integer({ min: 1, max: 8 }), async (items, size) => {
        const batches = await collect(batch(size)(items))
        expect(batches.flat()).toEqual(items)
        expect(batches.slice(0, -1).every((b) => b.length === size)).toBe(true)
        expect(batches.every((b) => b.length > 0)).toBe(true)
      }),
    )
  })

  it('pulls only for the batch asked for', async () => {
    const source = tracked([1, 2, 3, 4, 5, 6])
    const batches = batch(2)(source)
    expect(await batches.next()).toEqual({ done: false, value: [1, 2] })
    expect(source.state.pulled).toBe(2)
    await batches.return!()
    expect(source.state.closed).toBe(true)
  })

  it('sends the partial batch out before an error of the source, then throws it', async () => {
    async function* failing(): AsyncGenerator<number> {
      yield 1
      yield 2
      yield 3
      throw new Error('boom')
    }
    const batches = batch(2)(failing())
    expect(await batches.next()).toEqual({ done: false, value: [1, 2] })
    expect(await batches.next()).toEqual({ done: false, value: [3] })
    await expect(batches.next()).rejects.toThrow('boom')
    expect(await batches.next()).toEqual({ done: true, value: undefined })
  })

  it('throws an error of the source at once when no batch is started', async () => {
    async function* failing(): AsyncGenerator<number> {
      yield 1
      throw new Error('boom')
    }
    const batches = batch(1)(failing())
    await batches.next()
    await expect(batches.next()).rejects.toThrow('boom')
  })
})

describe('batch: over an operator with its items ready', () => {
  it('takes a long run of ready items without a stack as deep as the run', async () => {
    const count = 50_000
    const mapped = parallelMap((x: number) => x, { concurrency: count, readAhead: count })(
      Array.from({ length: count }, (_, i) => i),
    )
    expect(await mapped.next()).toEqual({ done: false, value: 0 })
    // The other results are all ready: the batch takes them in one step, 64 at a time.
    await vi.runAllTimersAsync()
    const batches = batch(count)(mapped)
    const first = await batches.next()
    expect(first.value).toHaveLength(count - 1)
    expect(first.value?.at(-1)).toBe(count - 1)
  })
})

describe('batch: maxWait', () => {
  it('sends a partial batch at maxWait over a parallelMap that had some results ready and waits for the next', async () => {
    const slowFrom2 = (x: number): number | Promise<number> =>
      x < 2 ? x : new Promise((resolve) => setTimeout(resolve, 100, x))
    const mapped = parallelMap(slowFrom2, { concurrency: 4 })([-1, 0, 1, 2])
    expect(await mapped.next()).toEqual({ done: false, value: -1 })
    await flush()
    // 0 and 1 are ready: the batch takes them at once, then waits for 2.
    const batches = batch(3, { maxWait: 10 })(mapped)
    const first = batches.next()
    await vi.advanceTimersByTimeAsync(10)
    expect(await stateOf(first)).toBe('fulfilled')
    expect(await first).toEqual({ done: false, value: [0, 1] })
    const second = batches.next()
    await vi.advanceTimersByTimeAsync(100)
    expect(await second).toEqual({ done: false, value: [2] })
    expect(await batches.next()).toEqual({ done: true, value: undefined })
  })

  it('sends a partial batch once its first item has waited maxWait, while the source is stalled', async () => {
    const source = new ManualSource<number>()
    const batches = batch(3, { maxWait: 100 })(source)
    const first = batches.next()
    await vi.advanceTimersByTimeAsync(500)
    expect(await stateOf(first)).toBe('pending')
    source.push(1)
    await vi.advanceTimersByTimeAsync(30)
    source.push(2)
    await vi.advanceTimersByTimeAsync(69)
    expect(await stateOf(first)).toBe('pending')
    await vi.advanceTimersByTimeAsync(1)
    expect(await first).toEqual({ done: false, value: [1, 2] })
    // The pull left pending carries over: the source is never asked twice at once.
    expect(source.pending).toBe(1)
    const second = batches.next()
    await flush()
    expect(source.pulls).toBe(3)
    source.push(3)
    await vi.advanceTimersByTimeAsync(100)
    expect(await second).toEqual({ done: false, value: [3] })
    const third = batches.next()
    source.end()
    expect(await third).toEqual({ done: true, value: undefined })
    expect(source.overlapped).toBe(false)
  })

  it('an item that came while no batch was asked for starts the next batch', async () => {
    const source = new ManualSource<number>()
    const batches = batch(2, { maxWait: 50 })(source)
    const first = batches.next()
    await flush()
    source.push(1)
    await vi.advanceTimersByTimeAsync(50)
    expect(await first).toEqual({ done: false, value: [1] })
    source.push(2)
    await vi.advanceTimersByTimeAsync(49)
    // Its wait counts from when it came in: asked for within maxWait, the batch waits for more.
    const second = batches.next()
    await flush()
    source.push(3)
    expect(await second).toEqual({ done: false, value: [2, 3] })
    // Asked for after maxWait, it goes out at once, without pulling.
    const third = batches.next()
    await flush()
    source.push(4)
    await vi.advanceTimersByTimeAsync(50)
    expect(await third).toEqual({ done: false, value: [4] })
    source.push(5)
    await vi.advanceTimersByTimeAsync(1_000)
    const pulls = source.pulls
    expect(await batches.next()).toEqual({ done: false, value: [5] })
    expect(source.pulls).toBe(pulls)
    await batches.return!()
  })

  it('sends full batches without waiting, on a steady source', async () => {
    const reading = collect(pipe(ticking(10), take(7), batch(3, { maxWait: 25 })))
    await vi.advanceTimersByTimeAsync(100)
    expect(await reading).toEqual([[0, 1, 2], [3, 4, 5], [6]])
  })

  it('answers overlapping next() calls in call order, one batch each', async () => {
    const source = new ManualSource<number>()
    const batches = batch(2, { maxWait: 100 })(source)
    const calls = [batches.next(), batches.next(), batches.next()]
    for (const item of [1, 2, 3]) {
      await flush()
      source.push(item)
    }
    await vi.advanceTimersByTimeAsync(100)
    source.end()
    expect(await Promise.all(calls)).toEqual([
      { done: false, value: [1, 2] },
      { done: false, value: [3] },
      { done: true, value: undefined },
    ])
    expect(source.overlapped).toBe(false)
  })

  it('return() while a pull and a timer are pending answers done at once and clears the timer', async () => {
    const source = new ManualSource<number>()
    const batches = batch(3, { maxWait: 100 })(source)
    const pending = batches.next()
    await flush()
    source.push(1)
    await vi.advanceTimersByTimeAsync(10)
    expect(vi.getTimerCount()).toBe(1)
    await batches.return!()
    expect(await pending).toEqual({ done: true, value: undefined })
    expect(source.returned).toBe(true)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('an error of the source after a batch went out on time is thrown by the next call', async () => {
    const source = new ManualSource<number>()
    const batches = batch(3, { maxWait: 100 })(source)
    const first = batches.next()
    await flush()
    source.push(1)
    await vi.advanceTimersByTimeAsync(100)
    expect(await first).toEqual({ done: false, value: [1] })
    source.fail(new Error('late'))
    await flush()
    await expect(batches.next()).rejects.toThrow('late')
  })
})

describe('batch with parallelMap', () => {
  it('hands each call a slice (Invoke-Parallel -SliceSize)', async () => {
    const sums = pipe(
      [1, 2, 3, 4, 5],
      batch(2),
      parallelMap(async (slice: number[]) => slice.reduce((a, b) => a + b, 0), { concurrency: 2 }),
      collect,
    )
    expect(await sums).toEqual([3, 7, 5])
  })

  it('closes an upstream parallelMap on early exit, aborting its in-flight calls', async () => {
    const work = new SleepyWork((item) => (item < 2 ? 10 : 1_000))
    const reading = pipe([0, 1, 2, 3, 4], parallelMap(work.fn, { concurrency: 3 }), batch(2), take(1), collect)
    await vi.advanceTimersByTimeAsync(10)
    expect(await reading).toEqual([[0, 1]])
    expect(work.aborted.sort()).toEqual([2, 3, 4])
    expect(work.settled.sort()).toEqual(work.started.sort())
  })
})

describe('types', () => {
  it('turns items into arrays of them, through pipe', () => {
    const run = () => pipe(['a'], parallelMap(async (s: string) => s.length), batch(2), collect)
    expectTypeOf(run).returns.toEqualTypeOf<Promise<number[][]>>()
  })
})
