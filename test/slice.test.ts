import fc from 'fast-check'
import { describe, expect, expectTypeOf, it, vi } from 'vitest'
import { collect, drop, parallelMap, pipe, slice, take } from '../src/index.js'
import { ManualSource, SleepyWork, flush, stateOf, tracked, useStrictTimers } from './stream-helpers.js'

useStrictTimers()

describe('slice, take, drop: validation', () => {
  it.each([
    [() => slice(-1), RangeError, 'Expected start to be an integer >= 0, got -1'],
    [() => slice(1.5), RangeError, 'Expected start to be an integer >= 0, got 1.5'],
    [() => slice(NaN), RangeError, 'Expected start to be an integer >= 0, got NaN'],
    [() => slice(Infinity), RangeError, 'Expected start to be an integer >= 0, got Infinity'],
    [() => slice('1' as never), TypeError, 'Expected start to be an integer >= 0, got "1" (string)'],
    [() => slice(0, -1), RangeError, 'Expected end to be an integer >= 0 or Infinity, got -1'],
    [() => slice(0, 2.5), RangeError, 'Expected end to be an integer >= 0 or Infinity, got 2.5'],
    [() => slice(0, null as never), TypeError, 'Expected end to be an integer >= 0 or Infinity, got null'],
    [() => slice(3, 2), RangeError, 'Expected end to be an integer >= start (3) or Infinity, got 2'],
    [() => take(-1), RangeError, 'Expected n to be an integer >= 0 or Infinity, got -1'],
    [() => take(NaN), RangeError, 'Expected n to be an integer >= 0 or Infinity, got NaN'],
    [() => take('3' as never), TypeError, 'Expected n to be an integer >= 0 or Infinity, got "3" (string)'],
    [() => drop(1.5), RangeError, 'Expected n to be an integer >= 0, got 1.5'],
    [() => drop(Infinity), RangeError, 'Expected n to be an integer >= 0, got Infinity'],
    [() => drop(undefined as never), TypeError, 'Expected n to be an integer >= 0, got undefined (undefined)'],
  ])('%s throws when created', (create, Type, message) => {
    expect(create).toThrow(Type)
    expect(create).toThrow(message)
  })

  it('checks the source when applied, before any next()', () => {
    expect(() => take(1)(42 as never)).toThrow(TypeError)
    expect(() => drop(1)('abc' as never)).toThrow('Expected source to be an iterable or async iterable (not a string), got "abc" (string)')
  })
})

describe('slice, take, drop: array semantics', () => {
  it('matches Array.prototype.slice on non-negative indexes', async () => {
    const items = [0, 1, 2, 3, 4, 5]
    for (const [start, end] of [[0, 0], [0, 3], [2, 4], [2, 2], [4, 100], [6, 6], [7, 9], [3, Infinity]] as const) {
      expect(await collect(slice(start, end)(items)), `${start}, ${end}`).toEqual(items.slice(start, end))
    }
    expect(await collect(slice(2)(items))).toEqual([2, 3, 4, 5])
    expect(await collect(take(2)(items))).toEqual([0, 1])
    expect(await collect(take(Infinity)(items))).toEqual(items)
    expect(await collect(take(10)(items))).toEqual(items)
    expect(await collect(drop(4)(items))).toEqual([4, 5])
    expect(await collect(drop(10)(items))).toEqual([])
  })

  it('matches Array.prototype.slice for any array and indexes, pulling no item past end', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer(), { maxLength: 20 }), fc.nat(25), fc.nat(25), async (items, a, b) => {
        const [start, end] = a <= b ? [a, b] : [b, a]
        const source = tracked(items)
        expect(await collect(slice(start, end)(source))).toEqual(items.slice(start, end))
        // Items are pulled up to the last wanted one, and none at all when none is wanted.
        expect(source.state.pulled).toBe(start === end ? 0 : Math.min(items.length, end))
      }),
    )
  })

  it('reads sync iterables and awaits promises among their items, like for await', async () => {
    function* numbers(): Generator<number | Promise<number>> {
      yield 1
      yield Promise.resolve(2)
      yield 3
    }
    expect(await collect(take(2)(numbers()))).toEqual([1, 2])
  })
})

describe('take: closing the source', () => {
  it('closes the source as soon as the last wanted item is out, without pulling the next', async () => {
    const source = new ManualSource<number>()
    const taken = take(2)(source)
    const first = taken.next()
    await flush()
    source.push(0)
    expect(await first).toEqual({ done: false, value: 0 })
    const second = taken.next()
    await flush()
    source.push(1)
    expect(await second).toEqual({ done: false, value: 1 })
    expect(source.returned).toBe(true)
    expect(source.pulls).toBe(2)
    expect(await taken.next()).toEqual({ done: true, value: undefined })
    expect(source.pulls).toBe(2)
  })

  it('slice(n, n) pulls nothing: no item is wanted, so none is skipped either', async () => {
    const source = new ManualSource<number>()
    const sliced = slice(3, 3)(source)
    expect(await sliced.next()).toEqual({ done: true, value: undefined })
    expect(source.pulls).toBe(0)
    expect(source.returned).toBe(true)
  })

  it('take(0) pulls nothing, but closes the source when iterated', async () => {
    const source = new ManualSource<number>()
    const taken = take(0)(source)
    expect(source.returned).toBe(false)
    expect(await taken.next()).toEqual({ done: true, value: undefined })
    expect(source.pulls).toBe(0)
    expect(source.returned).toBe(true)
  })

  it('closes the source on break, and leaves it alone when never iterated', async () => {
    const source = tracked([1, 2, 3, 4])
    for await (const item of take(3)(source)) {
      if (item === 2) break
    }
    expect(source.state).toEqual({ pulled: 2, closed: true })
    const untouched = tracked([1])
    await take(1)(untouched).return!()
    expect(untouched.state).toEqual({ pulled: 0, closed: false })
  })

  it('passes on an error of the source, then ends', async () => {
    async function* failing(): AsyncGenerator<number> {
      yield 1
      throw new Error('boom')
    }
    const taken = take(5)(failing())
    expect(await taken.next()).toEqual({ done: false, value: 1 })
    await expect(taken.next()).rejects.toThrow('boom')
    expect(await taken.next()).toEqual({ done: true, value: undefined })
  })

  it('rejects the first next() when the source cannot be opened', async () => {
    const locked = {
      [Symbol.asyncIterator](): AsyncIterator<number> {
        throw new Error('locked')
      },
    }
    const taken = take(1)(locked)
    await expect(taken.next()).rejects.toThrow('locked')
    expect(await taken.next()).toEqual({ done: true, value: undefined })
  })

  it('answers overlapping next() calls in order, pulling one at a time', async () => {
    const source = new ManualSource<string>()
    const taken = take(2)(source)
    const calls = [taken.next(), taken.next(), taken.next(), taken.next()]
    await flush()
    expect(source.pending).toBe(1)
    source.push('a')
    await flush()
    source.push('b')
    expect(await Promise.all(calls)).toEqual([
      { done: false, value: 'a' },
      { done: false, value: 'b' },
      { done: true, value: undefined },
      { done: true, value: undefined },
    ])
    expect(source.overlapped).toBe(false)
    expect(source.pulls).toBe(2)
  })

  it('return() takes effect at once while a pull is pending', async () => {
    const source = new ManualSource<number>()
    const taken = take(5)(source)
    const pending = taken.next()
    await flush()
    expect(await taken.return!()).toEqual({ done: true, value: undefined })
    expect(await pending).toEqual({ done: true, value: undefined })
    expect(source.returned).toBe(true)
    source.push(1)
    expect(await taken.next()).toEqual({ done: true, value: undefined })
  })

  it('return() does not wait for an async generator stuck in an await', async () => {
    async function* stuck(): AsyncGenerator<number> {
      await new Promise(() => {})
      yield 1
    }
    const taken = take(5)(stuck())
    const pending = taken.next()
    await flush()
    expect(await stateOf(taken.return!())).toBe('fulfilled')
    expect(await pending).toEqual({ done: true, value: undefined })
  })

  it('after parallelMap, closes it: its in-flight calls are aborted and settled before the loop ends', async () => {
    const work = new SleepyWork((item) => (item % 2 === 0 ? 10 : 1_000))
    const result = pipe(
      tracked([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]),
      parallelMap(work.fn, { concurrency: 5, ordered: false }),
      take(3),
      collect,
    )
    await vi.advanceTimersByTimeAsync(10)
    expect(await result).toEqual([0, 2, 4])
    // Every call started and not handed out was aborted (how many started depends on how soon
    // take closed the run), and all had settled.
    expect(work.aborted.sort()).toEqual(work.started.filter((item) => ![0, 2, 4].includes(item)).sort())
    expect(work.aborted).toContain(1)
    expect(work.settled.sort()).toEqual(work.started.sort())
  })
})

describe('drop and slice', () => {
  it('drop pulls and discards the first n, then passes the rest', async () => {
    const source = tracked([1, 2, 3, 4])
    const dropped = drop(3)(source)
    expect(await dropped.next()).toEqual({ done: false, value: 4 })
    expect(source.state.pulled).toBe(4)
    expect(await dropped.next()).toEqual({ done: true, value: undefined })
  })

  it('slice closes the source after the item before end, and ends on a short source', async () => {
    const source = tracked([0, 1, 2, 3, 4, 5])
    expect(await collect(slice(1, 3)(source))).toEqual([1, 2])
    expect(source.state).toEqual({ pulled: 3, closed: true })
    expect(await collect(slice(1, 3)([0]))).toEqual([])
  })
})

describe('types', () => {
  it('keep the item type through pipe', () => {
    const run = () => pipe([1, 2, 3], parallelMap(async (n: number) => String(n)), take(2), collect)
    expectTypeOf(run).returns.toEqualTypeOf<Promise<string[]>>()
    expectTypeOf(pipe([1, 2], drop(1), slice(0, 1))).toEqualTypeOf<AsyncIterableIterator<number> & AsyncDisposable>()
    expectTypeOf(take(1)).toEqualTypeOf<<T>(source: AsyncIterable<T> | Iterable<T>) => AsyncIterableIterator<T> & AsyncDisposable>()
  })
})
