import fc from 'fast-check'
import { describe, expect, expectTypeOf, it, vi } from 'vitest'
import { collect, merge, parallelMap, pipe, take } from '../src/index.js'
import { ManualSource, SleepyWork, flush, stateOf, ticking, tracked, useStrictTimers } from './stream-helpers.js'

useStrictTimers()

describe('merge: validation', () => {
  it('checks every source when called, naming it', () => {
    expect(() => merge(1 as never)).toThrow(TypeError)
    expect(() => merge([1], 'ab' as never)).toThrow(
      'Expected sources[1] to be an iterable or async iterable (not a string), got "ab" (string)',
    )
  })
})

describe('merge: interleaving', () => {
  it('yields every item of every source, each source in its own order', async () => {
    const items = await collect(merge([1, 2, 3], tracked(['a', 'b']), new Set([true])))
    expect(items).toHaveLength(6)
    expect(items.filter((x) => typeof x === 'number')).toEqual([1, 2, 3])
    expect(items.filter((x) => typeof x === 'string')).toEqual(['a', 'b'])
  })

  it('ends at once with no sources', async () => {
    expect(await merge().next()).toEqual({ done: true, value: undefined })
  })

  it('yields items as they arrive', async () => {
    async function* at(times: number[], tag: string): AsyncGenerator<string> {
      let now = 0
      for (const time of times) {
        await new Promise((resolve) => setTimeout(resolve, time - now))
        now = time
        yield `${tag}${time}`
      }
    }
    const reading = collect(merge(at([10, 40, 50], 'a'), at([20, 30, 60], 'b')))
    await vi.advanceTimersByTimeAsync(60)
    expect(await reading).toEqual(['a10', 'b20', 'b30', 'a40', 'a50', 'b60'])
  })

  it('opens nothing before the first next(), then keeps one pull pending per source', async () => {
    const a = new ManualSource<string>()
    const b = new ManualSource<string>()
    const merged = merge(a, b)
    expect(a.pulls + b.pulls).toBe(0)
    const first = merged.next()
    await flush()
    expect([a.pulls, b.pulls]).toEqual([1, 1])
    b.push('b1')
    expect(await first).toEqual({ done: false, value: 'b1' })
    await flush()
    expect([a.pulls, b.pulls]).toEqual([1, 2])
    // An item nobody asked for yet is held, and its source is not pulled again until it is taken.
    b.push('b2')
    await flush()
    expect(b.pulls).toBe(2)
    expect(await merged.next()).toEqual({ done: false, value: 'b2' })
    await flush()
    expect(b.pulls).toBe(3)
    expect(a.overlapped || b.overlapped).toBe(false)
    await merged.return!()
  })

  it('answers overlapping next() calls in call order', async () => {
    const a = new ManualSource<number>()
    const b = new ManualSource<number>()
    const merged = merge(a, b)
    const calls = [merged.next(), merged.next(), merged.next()]
    await flush()
    a.push(1)
    b.push(2)
    await flush()
    a.end()
    await flush()
    b.end()
    expect(await Promise.all(calls)).toEqual([
      { done: false, value: 1 },
      { done: false, value: 2 },
      { done: true, value: undefined },
    ])
  })
})

/** A source whose answers arrive in an order fast-check's scheduler picks. */
class ScheduledSource implements AsyncIterableIterator<string> {
  pending = 0
  overlapped = false
  returned = false
  ended = false
  #index = 0

  constructor(
    readonly items: string[],
    readonly scheduler: fc.Scheduler,
  ) {}

  [Symbol.asyncIterator](): this {
    return this
  }

  next(): Promise<IteratorResult<string>> {
    if (this.pending > 0) this.overlapped = true
    this.pending++
    const index = this.#index++
    const result: IteratorResult<string> =
      index < this.items.length ? { done: false, value: this.items[index]! } : { done: true, value: undefined }
    return this.scheduler.schedule(Promise.resolve(result)).finally(() => {
      this.pending--
      if (result.done) this.ended = true
    })
  }

  async return(): Promise<IteratorResult<string>> {
    this.returned = true
    return { done: true, value: undefined }
  }
}

describe('merge: any interleaving', () => {
  it('yields every item once, in its source order, never pulls a source twice at once, and closes the rest on break', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 4 }),
        fc.integer({ min: 0, max: 12 }),
        async (scheduler, lengths, stopAfter) => {
          const sources = lengths.map(
            (length, s) => new ScheduledSource(Array.from({ length }, (_, i) => `${s}:${i}`), scheduler),
          )
          const out: string[] = []
          const reading = (async () => {
            for await (const item of merge(...sources)) {
              out.push(item)
              if (out.length === stopAfter) break
            }
          })()
          await scheduler.waitFor(reading)
          const total = lengths.reduce((a, b) => a + b, 0)
          expect(out).toHaveLength(stopAfter > 0 ? Math.min(stopAfter, total) : total)
          for (const source of sources) {
            const fromSource = out.filter((item) => source.items.includes(item))
            expect(fromSource).toEqual(source.items.slice(0, fromSource.length))
            expect(source.overlapped).toBe(false)
            if (!source.ended) expect(source.returned).toBe(true)
          }
        },
      ),
    )
  })
})

describe('merge: closing', () => {
  it('closes every source on break, including one with a pull pending', async () => {
    const fast = tracked([1, 2, 3])
    const stalled = new ManualSource<number>()
    for await (const item of merge(fast, stalled)) if (item === 1) break
    expect(fast.state.closed).toBe(true)
    expect(stalled.returned).toBe(true)
  })

  it('return() answers a pending next() done at once', async () => {
    const source = new ManualSource<number>()
    const merged = merge(source)
    const pending = merged.next()
    await flush()
    await merged.return!()
    expect(await pending).toEqual({ done: true, value: undefined })
    expect(source.returned).toBe(true)
  })

  it('an error in one source closes them all, drops their waiting items and is thrown once they are closed', async () => {
    const a = new ManualSource<number>()
    const b = new ManualSource<number>()
    const c = new ManualSource<number>()
    const merged = merge(a, b, c)
    const first = merged.next()
    await flush()
    a.push(1)
    expect(await first).toEqual({ done: false, value: 1 })
    c.push(3)
    await flush()
    b.fail(new Error('boom'))
    await flush()
    // The failed one too: a no-op for a finished iterator, a wait for an aborted parallelMap.
    expect(a.returned && b.returned && c.returned).toBe(true)
    await expect(merged.next()).rejects.toThrow('boom')
    expect(await merged.next()).toEqual({ done: true, value: undefined })
  })

  it('a return() while an error closes the others resolves once they are closed', async () => {
    let finish!: () => void
    const slow = new ManualSource<number>()
    slow.return = () => new Promise((resolve) => (finish = () => resolve({ done: true, value: undefined })))
    const failing = new ManualSource<number>()
    const merged = merge(failing, slow)
    const pending = merged.next()
    await flush()
    failing.fail(new Error('boom'))
    await flush()
    const returned = merged.return!()
    expect(await stateOf(pending)).toBe('fulfilled')
    expect(await stateOf(returned)).toBe('pending')
    finish()
    expect(await returned).toEqual({ done: true, value: undefined })
  })

  it('rejects the first next() when a source cannot be opened, closing those already opened', async () => {
    const opened = new ManualSource<number>()
    const locked = {
      [Symbol.asyncIterator](): AsyncIterator<number> {
        throw new Error('locked')
      },
    }
    const merged = merge(opened, locked)
    await expect(merged.next()).rejects.toThrow('locked')
    expect(opened.pulls).toBe(0)
    expect(opened.returned).toBe(true)
    expect(await merged.next()).toEqual({ done: true, value: undefined })
  })

  it('rejects a pending next() at once on an error', async () => {
    const a = new ManualSource<number>()
    const merged = merge(a, ticking(100))
    const pending = merged.next()
    await flush()
    a.fail(new Error('boom'))
    expect(await stateOf(pending)).toBe('rejected')
    await expect(pending).rejects.toThrow('boom')
    // The generator was busy in its await; its return() runs once that timer is over.
    await vi.advanceTimersByTimeAsync(100)
  })

  it('closes upstream parallelMaps on early exit, aborting their in-flight calls', async () => {
    const fast = new SleepyWork(() => 10)
    const slow = new SleepyWork(() => 1_000)
    const reading = pipe(
      merge(parallelMap(fast.fn, { concurrency: 2 })([1, 2, 3]), parallelMap(slow.fn)([10, 20])),
      take(2),
      collect,
    )
    await vi.advanceTimersByTimeAsync(10)
    expect(await reading).toEqual([1, 2])
    expect(fast.aborted).toEqual([3])
    expect(slow.aborted.sort((a, b) => a - b)).toEqual([10, 20])
    await flush()
    expect(fast.settled.length + slow.settled.length).toBe(5)
  })
})

describe('types', () => {
  it('yields the union of the item types', () => {
    expectTypeOf(merge([1], ['a'])).toEqualTypeOf<AsyncIterableIterator<number | string> & AsyncDisposable>()
    const run = () => pipe(merge([1], tracked([true])), take(1), collect)
    expectTypeOf(run).returns.toEqualTypeOf<Promise<(number | boolean)[]>>()
  })
})
