import { getEventListeners } from 'node:events'
import { Readable } from 'node:stream'
import { ReadableStream } from 'node:stream/web'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { collect, concurrencyLimit, parallelMap, parallelMapSettled, TimeoutError, type TaskContext } from '../../src/index.js'
import { SLICE } from '../../src/scheduler/run.js'
import {
  failOnUnhandledRejections,
  isSettled,
  naturals,
  ProbeSource,
  range,
  Tasks,
  tick,
  ticks,
} from '../helpers.js'
import { counting, double, rejection, take } from './helpers.js'

failOnUnhandledRejections()

afterEach(() => {
  vi.useRealTimers()
})

describe('1. concurrency cap', () => {
  it.each([1, 2, 3, 7])('runs exactly %i calls at once with a steady supply (ordered and not)', async (limit) => {
    for (const ordered of [true, false]) {
      const { state, fn } = counting()
      const out = await collect(parallelMap(fn, { concurrency: limit, ordered })(range(40)))
      expect(state.max).toBe(limit)
      expect(state.calls).toBe(40)
      expect(out.sort((a, b) => a - b)).toEqual(range(40))
    }
  })

  it('keeps the slots full: a finished call is replaced at once', async () => {
    const tasks = new Tasks<number>(true)
    const iterator = parallelMap(tasks.fn, { concurrency: 3, ordered: false })(naturals())
    const pending = iterator.next()
    await ticks()
    expect(tasks.items()).toEqual([0, 1, 2])
    tasks.call(1).resolve(1)
    expect(await pending).toEqual({ done: false, value: 1 })
    await ticks()
    expect(tasks.items()).toEqual([0, 1, 2, 3])
    expect(tasks.running).toBe(3)
    expect(tasks.maxRunning).toBe(3)
    await iterator.return!()
  })

  it('with concurrency Infinity starts every item at once', async () => {
    const { state, fn } = counting()
    await collect(parallelMap(fn, { concurrency: Infinity })(range(200)))
    expect(state.max).toBe(200)
  })

  it('defaults to 5', async () => {
    const { state, fn } = counting()
    await collect(parallelMap(fn)(range(30)))
    expect(state.max).toBe(5)
  })

  it('never exceeds the cap with an async source whose pulls take turns', async () => {
    const { state, fn } = counting()
    const source = new ProbeSource(range(50), tick)
    const out = await collect(parallelMap(fn, { concurrency: 4 })(source))
    expect(out).toEqual(range(50))
    expect(state.max).toBeLessThanOrEqual(4)
    expect(source.overlapped).toBe(false)
  })
})

describe('concurrency: Infinity that scales', () => {
  it('fills in slices: the first next() starts one slice and answers; the event loop runs between slices', async () => {
    let calls = 0
    const turns: number[] = []
    const iterator = parallelMap(
      async (x: number) => {
        calls++
        return x
      },
      { concurrency: Infinity, ordered: false },
    )(range(10 * SLICE))
    const first = iterator.next()
    expect(calls).toBe(SLICE)
    expect(await first).toEqual({ done: false, value: 0 })
    // A macrotask queued now runs before the run has started everything.
    setImmediate(() => turns.push(calls))
    const rest = await collect(iterator)
    expect(turns).toHaveLength(1)
    expect(turns[0]).toBeLessThan(10 * SLICE)
    expect([0, ...rest].sort((a, b) => a - b)).toEqual(range(10 * SLICE))
  })

  it('keeps the in-flight count bounded by what the slices let start, for a fast consumer', async () => {
    let running = 0
    let peak = 0
    const count = 20 * SLICE
    let received = 0
    for await (const _ of parallelMap(
      async (x: number) => {
        running++
        peak = Math.max(peak, running)
        await Promise.resolve()
        running--
        return x
      },
      { concurrency: Infinity },
    )(range(count))) {
      received++
    }
    expect(received).toBe(count)
    expect(peak).toBeLessThanOrEqual(2 * SLICE)
  })

  it('a run whose read-ahead is within a slice never waits for the event loop', async () => {
    const iterator = parallelMap((x: number) => x, { concurrency: 8 })(range(10 * SLICE))
    let turned = false
    setImmediate(() => (turned = true))
    for (let i = 0; i < 10 * SLICE; i++) await iterator.next()
    expect(turned).toBe(false)
  })

  it('nor does a run on a Limiter whose read-ahead (twice its limit) is within a slice', async () => {
    const iterator = parallelMap((x: number) => x, { concurrency: concurrencyLimit(8) })(range(10 * SLICE))
    let turned = false
    setImmediate(() => (turned = true))
    for (let i = 0; i < 10 * SLICE; i++) await iterator.next()
    expect(turned).toBe(false)
  })

  it('a run on a Limiter whose read-ahead exceeds a slice fills in slices', async () => {
    let calls = 0
    const iterator = parallelMap(
      async (x: number) => {
        calls++
        return x
      },
      { concurrency: concurrencyLimit(Infinity), ordered: false },
    )(range(10 * SLICE))
    const first = iterator.next()
    expect(calls).toBe(SLICE)
    expect(await first).toEqual({ done: false, value: 0 })
    await iterator.return?.()
  })
})

describe('2. backpressure', () => {
  it('pulls nothing before the first next()', async () => {
    const source = new ProbeSource(naturals())
    const tasks = new Tasks<number>()
    const iterator = parallelMap(tasks.fn)(source)
    await ticks()
    expect(source.pulled).toBe(0)
    expect(tasks.calls).toHaveLength(0)
    await iterator.return!()
  })

  it.each([
    { concurrency: 2, readAhead: 5, ordered: true },
    { concurrency: 2, readAhead: 5, ordered: false },
    { concurrency: 3, readAhead: 3, ordered: true },
    { concurrency: 1, readAhead: 1, ordered: false },
  ])('a paused consumer stops the pulling at readAhead: %o', async (options) => {
    const source = new ProbeSource(naturals())
    const iterator = parallelMap(double, options)(source)
    const got = await take(iterator, 4)
    expect(options.ordered ? got : got.sort((a, b) => a - b)).toEqual([0, 2, 4, 6])
    await ticks(10)
    expect(source.pulled - got.length).toBe(options.readAhead)
    await ticks(10)
    expect(source.pulled - got.length).toBe(options.readAhead)
    expect(source.overlapped).toBe(false)
    await iterator.return!()
    expect(source.returned).toBe(true)
  })

  it('defaults readAhead to 2 * concurrency', async () => {
    const source = new ProbeSource(naturals())
    const iterator = parallelMap(double, { concurrency: 3 })(source)
    await take(iterator, 2)
    await ticks(10)
    expect(source.pulled).toBe(2 + 6)
    await iterator.return!()
  })

  it('counts results waiting for a slow head against readAhead, and pulls again once one is handed out', async () => {
    const tasks = new Tasks<number>(true)
    const source = new ProbeSource(naturals())
    const iterator = parallelMap(tasks.fn, { concurrency: 2, readAhead: 4 })(source)
    const first = iterator.next()
    await ticks()
    expect(tasks.items()).toEqual([0, 1])
    // Item 0 stays running; the others finish as soon as they start.
    for (let i = 1; i < 10; i++) {
      const call = tasks.calls.find((c) => c.item === i)
      if (call) call.resolve(i)
      await ticks()
    }
    expect(source.pulled).toBe(4)
    expect(tasks.items()).toEqual([0, 1, 2, 3])
    tasks.call(0).resolve(0)
    expect(await first).toEqual({ done: false, value: 0 })
    // The consumer has not called next() again, but 0 is out: there is room for one more.
    await ticks()
    expect(source.pulled).toBe(5)
    expect(tasks.running).toBe(1)
    await iterator.return!()
  })

  it('never calls the source next() concurrently, even with overlapping next() calls', async () => {
    const source = new ProbeSource(range(30), () => ticks(2))
    const iterator = parallelMap(double, { concurrency: 10, ordered: false })(source)
    const pending = range(35).map(() => iterator.next())
    const results = await Promise.all(pending)
    expect(results.filter((r) => !r.done).map((r) => r.value).sort((a, b) => a - b)).toEqual(range(30).map(double))
    expect(results.slice(30).every((r) => r.done)).toBe(true)
    expect(source.overlapped).toBe(false)
  })

  it('bounds the pulling from an endless source for a consumer that reads 2000 items', async () => {
    const source = new ProbeSource(naturals())
    const iterator = parallelMap(async (x: number) => x, { concurrency: 4, readAhead: 8, ordered: false })(source)
    let received = 0
    let worst = 0
    for await (const _ of iterator) {
      received++
      worst = Math.max(worst, source.pulled - received)
      if (received === 2000) break
    }
    expect(worst).toBeLessThanOrEqual(8)
    expect(source.returned).toBe(true)
  })
})

describe('iterator protocol', () => {
  it('[Symbol.asyncDispose] is return(): await using stops the run and waits for its calls', async () => {
    const tasks = new Tasks<number>(true)
    const source = new ProbeSource(naturals())
    {
      // The Operator type does not promise asyncDispose yet (not every operator has it).
      await using iterator = parallelMap(tasks.fn, { concurrency: 2 })(source) as AsyncIterableIterator<number> & AsyncDisposable
      const first = iterator.next()
      await ticks()
      tasks.call(0).resolve(0)
      expect(await first).toEqual({ done: false, value: 0 })
    }
    expect(tasks.running).toBe(0)
    expect(tasks.aborted()).toEqual([1, 2])
    expect(source.returned).toBe(true)
  })

  it('answers overlapping next() calls in call order', async () => {
    const tasks = new Tasks<number>()
    const iterator = parallelMap(tasks.fn, { concurrency: 3, ordered: false })(range(3))
    const order: number[] = []
    const calls = range(4).map((i) =>
      iterator.next().then((result) => {
        order.push(i)
        return result
      }),
    )
    await ticks()
    tasks.call(2).resolve(2)
    await ticks()
    expect(order).toEqual([0])
    tasks.call(0).resolve(0)
    tasks.call(1).resolve(1)
    const results = await Promise.all(calls)
    expect(order).toEqual([0, 1, 2, 3])
    expect(results).toEqual([
      { done: false, value: 2 },
      { done: false, value: 0 },
      { done: false, value: 1 },
      { done: true, value: undefined },
    ])
  })

  it('return() resolves pending next() calls with done at once, then waits for the running calls', async () => {
    const tasks = new Tasks<number>()
    const source = new ProbeSource(naturals())
    const iterator = parallelMap(tasks.fn, { concurrency: 2 })(source)
    const a = iterator.next()
    const b = iterator.next()
    await ticks()
    const returned = iterator.return!('bye')
    expect(await a).toEqual({ done: true, value: undefined })
    expect(await b).toEqual({ done: true, value: undefined })
    expect(await isSettled(returned)).toBe(false)
    expect(tasks.aborted()).toEqual([0, 1])
    tasks.call(0).resolve(0)
    tasks.call(1).resolve(1)
    expect(await returned).toEqual({ done: true, value: 'bye' })
    expect(source.returned).toBe(true)
    expect(await iterator.next()).toEqual({ done: true, value: undefined })
  })

  it('is its own async iterator and ends with done forever', async () => {
    const iterator = parallelMap(double)([1])
    expect(iterator[Symbol.asyncIterator]()).toBe(iterator)
    expect(await take(iterator, 5)).toEqual([2])
    expect(await iterator.next()).toEqual({ done: true, value: undefined })
    expect(await iterator.return!()).toEqual({ done: true, value: undefined })
  })

  it('return() before the first next() touches neither the source nor fn', async () => {
    const source = new ProbeSource(naturals())
    const fn = vi.fn(double)
    const iterator = parallelMap(fn)(source)
    expect(await iterator.return!()).toEqual({ done: true, value: undefined })
    expect(await iterator.next()).toEqual({ done: true, value: undefined })
    expect(source.pulled).toBe(0)
    expect(fn).not.toHaveBeenCalled()
  })

  it('handles an empty source', async () => {
    expect(await collect(parallelMap(double)([]))).toEqual([])
    expect(await collect(parallelMap(double, { ordered: false })(new ProbeSource([])))).toEqual([])
  })
})

describe('4 and 5. cancellation and structured concurrency', () => {
  it('break aborts the in-flight calls, waits for them, and closes the source', async () => {
    const tasks = new Tasks<number>()
    const source = new ProbeSource(naturals())
    const seen: number[] = []
    const loop = (async () => {
      for await (const value of parallelMap(tasks.fn, { concurrency: 3 })(source)) {
        seen.push(value)
        break
      }
    })()
    await ticks()
    tasks.call(0).resolve(0)
    await ticks()
    expect(seen).toEqual([0])
    // The loop has asked to stop but 1, 2 and 3 ignore their signals: it must not exit yet.
    expect(await isSettled(loop)).toBe(false)
    expect(tasks.aborted()).toEqual([1, 2, 3])
    const reason = tasks.call(1).context.signal.reason as Error
    expect(reason.name).toBe('AbortError')
    expect(source.returned).toBe(true)
    for (const i of [1, 2, 3]) tasks.call(i).resolve(i)
    await loop
    expect(tasks.calls.every((c) => c.settled)).toBe(true)
    expect(tasks.calls).toHaveLength(4)
  })

  it('break with calls that honour the signal exits once they have rejected, without an error', async () => {
    const tasks = new Tasks<number>(true)
    const iterator = parallelMap(tasks.fn, { concurrency: 4, ordered: false })(naturals())
    const first = iterator.next()
    await ticks()
    tasks.call(2).resolve(2)
    expect(await first).toEqual({ done: false, value: 2 })
    expect(await iterator.return!()).toEqual({ done: true, value: undefined })
    expect(tasks.running).toBe(0)
    expect(tasks.aborted()).toEqual([0, 1, 3, 4])
  })

  it('closes a sync generator source on break', async () => {
    let closed = false
    function* source() {
      try {
        yield* naturals()
      } finally {
        closed = true
      }
    }
    for await (const value of parallelMap(double)(source())) {
      if (value === 10) break
    }
    expect(closed).toBe(true)
  })

  it('closes an async generator source on break', async () => {
    let closed = false
    async function* source() {
      try {
        for (let i = 0; ; i++) {
          await tick()
          yield i
        }
      } finally {
        closed = true
      }
    }
    for await (const value of parallelMap(double, { concurrency: 2 })(source())) {
      if (value === 6) break
    }
    // The generator runs its finally once the pull it was busy with has settled.
    await ticks()
    expect(closed).toBe(true)
  })

  it('calls the return() of an async generator stuck in an await without waiting for it', async () => {
    // An async generator queues return() behind its pending pull, which here never settles.
    let finished = false
    async function* stuck(): AsyncGenerator<number> {
      try {
        yield 1
        await new Promise<never>(() => {})
      } finally {
        finished = true
      }
    }
    const source = stuck()
    const returned = vi.spyOn(source, 'return')
    const iterator = parallelMap(double)(source)
    expect(await iterator.next()).toEqual({ done: false, value: 2 })
    await ticks()
    const closing = iterator.return!()
    expect(await isSettled(closing)).toBe(true)
    expect(await closing).toEqual({ done: true, value: undefined })
    expect(returned).toHaveBeenCalledTimes(1)
    expect(finished).toBe(false)
  })

  it('awaits the source return() while a pull is pending, when the source acts on return() at once', async () => {
    // Like an operator over another parallelMap: return() answers the pending pull, then settles later.
    let finish!: () => void
    let answerPull!: (result: IteratorResult<number>) => void
    let pulls = 0
    const source: AsyncIterableIterator<number> = {
      [Symbol.asyncIterator]() {
        return this
      },
      next() {
        pulls++
        if (pulls === 1) return Promise.resolve({ done: false, value: 1 })
        return new Promise((resolve) => (answerPull = resolve))
      },
      return() {
        answerPull({ done: true, value: undefined })
        return new Promise((resolve) => (finish = () => resolve({ done: true, value: undefined })))
      },
    }
    const iterator = parallelMap(double)(source)
    expect(await iterator.next()).toEqual({ done: false, value: 2 })
    await ticks()
    expect(pulls).toBe(2)
    const closing = iterator.return!()
    expect(await isSettled(closing)).toBe(false)
    finish()
    expect(await closing).toEqual({ done: true, value: undefined })
  })

  it('awaits the source return() when no pull is pending', async () => {
    let finish!: () => void
    const source = new ProbeSource(naturals())
    source.return = () => new Promise((resolve) => (finish = () => resolve({ done: true, value: undefined })))
    const iterator = parallelMap(double, { concurrency: 1, readAhead: 1 })(source)
    await iterator.next()
    await ticks()
    const closing = iterator.return!()
    expect(await isSettled(closing)).toBe(false)
    finish()
    expect(await closing).toEqual({ done: true, value: undefined })
  })

  it('closes the source once when it ends normally, and not after it reported done', async () => {
    const source = new ProbeSource(range(3))
    expect(await collect(parallelMap(double)(source))).toEqual([0, 2, 4])
    expect(source.returned).toBe(false)
  })
})

describe("onError: 'abort'", () => {
  it('ordered: aborts only the items after the failed one; earlier ones are yielded, then the error', async () => {
    const tasks = new Tasks<number>()
    const source = new ProbeSource(naturals())
    const iterator = parallelMap(tasks.fn, { concurrency: 5 })(source)
    const results = range(3).map(() => iterator.next())
    await ticks()
    const boom = new Error('boom')
    tasks.call(2).reject(boom)
    await ticks()
    expect(tasks.aborted()).toEqual([3, 4])
    expect(source.returned).toBe(true)
    const pulledAtFailure = source.pulled
    tasks.call(0).resolve(0)
    tasks.call(1).resolve(1)
    expect(await results[0]).toEqual({ done: false, value: 0 })
    expect(await results[1]).toEqual({ done: false, value: 1 })
    // 3 and 4 ignore their signals: the error waits for them to settle.
    expect(await isSettled(results[2]!)).toBe(false)
    tasks.call(3).resolve(3)
    expect(await isSettled(results[2]!)).toBe(false)
    tasks.call(4).resolve(4)
    expect(await rejection(results[2]!)).toBe(boom)
    expect(tasks.running).toBe(0)
    expect(source.pulled).toBe(pulledAtFailure)
    expect(await iterator.next()).toEqual({ done: true, value: undefined })
  })

  it('ordered: an earlier item failing later wins, and its error is the one thrown', async () => {
    const tasks = new Tasks<number>(true)
    const iterator = parallelMap(tasks.fn, { concurrency: 4 })(range(10))
    const results = range(2).map(() => iterator.next())
    await ticks()
    const late = new Error('item 3')
    const early = new Error('item 1')
    tasks.call(3).reject(late)
    await ticks()
    tasks.call(1).reject(early)
    tasks.call(0).resolve(0)
    expect(await results[0]).toEqual({ done: false, value: 0 })
    expect(await rejection(results[1]!)).toBe(early)
    expect(tasks.aborted()).toEqual([2])
  })

  it('as-completed: aborts every other in-flight item, drops unread results, throws at the next pull', async () => {
    const tasks = new Tasks<number>()
    const iterator = parallelMap(tasks.fn, { concurrency: 4, ordered: false })(naturals())
    const first = iterator.next()
    await ticks()
    tasks.call(1).resolve(1)
    expect(await first).toEqual({ done: false, value: 1 })
    await ticks()
    tasks.call(0).resolve(0) // finished, but nobody has asked for it yet
    await ticks()
    expect(tasks.items()).toEqual([0, 1, 2, 3, 4, 5])
    const boom = new Error('boom')
    tasks.call(3).reject(boom)
    await ticks()
    expect(tasks.aborted()).toEqual([2, 4, 5])
    const next = iterator.next()
    expect(await isSettled(next)).toBe(false)
    tasks.call(2).resolve(2)
    tasks.call(4).resolve(4)
    expect(await isSettled(next)).toBe(false)
    tasks.call(5).resolve(5)
    expect(await rejection(next)).toBe(boom)
    expect(await iterator.next()).toEqual({ done: true, value: undefined })
  })

  it('does not start an item whose pull was pending when the run failed', async () => {
    for (const ordered of [true, false]) {
      const gates: (() => void)[] = []
      const source = new ProbeSource(naturals(), () => new Promise<void>((resolve) => gates.push(resolve)))
      const tasks = new Tasks<number>()
      const iterator = parallelMap(tasks.fn, { concurrency: 3, ordered })(source)
      const first = rejection(iterator.next())
      for (let i = 0; i < 2; i++) {
        gates[i]!()
        await ticks()
      }
      expect(tasks.items()).toEqual([0, 1])
      expect(gates).toHaveLength(3) // the pull of item 2 waits
      const boom = new Error('boom')
      tasks.call(0).reject(boom)
      await ticks()
      expect(source.returned).toBe(true)
      // Item 1 ignores its abort, so the run is still winding down when the pull answers.
      gates[2]!()
      await ticks()
      expect(tasks.items()).toEqual([0, 1])
      tasks.call(1).resolve(1)
      expect(await first).toBe(boom)
    }
  })

  it('throws the task error unchanged, whatever it is', async () => {
    for (const thrown of ['a string', 42, undefined, { code: 'E' }]) {
      const iterator = parallelMap(async () => {
        throw thrown
      })([1])
      expect(await rejection(iterator.next())).toBe(thrown)
    }
  })

  it('pulls nothing more after the first failure', async () => {
    const source = new ProbeSource(naturals())
    const iterator = parallelMap(
      async (x: number) => {
        if (x === 3) throw new Error('three')
        await ticks(3)
        return x
      },
      { concurrency: 2, readAhead: 2 },
    )(source)
    await expect(collect(iterator)).rejects.toThrow('three')
    // 0 and 1, then 2 and 3 as 0 and 1 are handed out; 3 fails at once.
    expect(source.pulled).toBe(4)
    expect(source.returned).toBe(true)
  })
})

describe('source errors', () => {
  function failingSource(items: number[], error: unknown): AsyncIterable<number> {
    return {
      async *[Symbol.asyncIterator]() {
        yield* items
        throw error
      },
    }
  }

  it("'abort', ordered: the in-flight items finish and are yielded first, as a loop would have done them", async () => {
    const tasks = new Tasks<number>()
    const broken = new Error('source broke')
    const iterator = parallelMap(tasks.fn, { concurrency: 5 })(failingSource([0, 1, 2], broken))
    const results = range(4).map(() => iterator.next())
    await ticks()
    expect(tasks.items()).toEqual([0, 1, 2])
    expect(tasks.aborted()).toEqual([])
    for (const i of [2, 0]) tasks.call(i).resolve(i)
    expect(await results[0]).toEqual({ done: false, value: 0 })
    expect(await isSettled(results[1]!)).toBe(false)
    tasks.call(1).resolve(1)
    expect(await Promise.all(results.slice(1, 3))).toEqual([1, 2].map((value) => ({ done: false, value })))
    expect(await rejection(results[3]!)).toBe(broken)
  })

  it("'abort', ordered: an in-flight item that fails afterwards is the error thrown, as in a loop", async () => {
    const tasks = new Tasks<number>()
    const broken = new Error('source broke')
    const itemError = new Error('item 1')
    const iterator = parallelMap(tasks.fn, { concurrency: 5 })(failingSource([0, 1, 2], broken))
    const results = range(3).map(() => iterator.next())
    await ticks()
    tasks.call(0).resolve(0)
    tasks.call(1).reject(itemError)
    expect(await results[0]).toEqual({ done: false, value: 0 })
    await ticks()
    expect(tasks.aborted()).toEqual([2])
    tasks.call(2).resolve(2)
    expect(await rejection(results[1]!)).toBe(itemError)
    expect(await results[2]).toEqual({ done: true, value: undefined })
  })

  it("'abort', as-completed: aborts every in-flight item, waits for them, then throws the source error as is", async () => {
    const tasks = new Tasks<number>()
    const broken = new Error('source broke')
    const iterator = parallelMap(tasks.fn, { concurrency: 5, ordered: false })(failingSource([0, 1, 2], broken))
    const first = rejection(iterator.next())
    await ticks()
    expect(tasks.items()).toEqual([0, 1, 2])
    expect(tasks.aborted()).toEqual([0, 1, 2])
    for (const i of [2, 0]) tasks.call(i).resolve(i)
    expect(await isSettled(first)).toBe(false)
    tasks.call(1).resolve(1)
    expect(await first).toBe(broken)
  })

  it("'abort', as-completed: results finished before the source failed are yielded first", async () => {
    const tasks = new Tasks<number>()
    const broken = new Error('source broke')
    const gate = { open: Promise.resolve() }
    let release!: () => void
    gate.open = new Promise((resolve) => (release = resolve))
    const source = {
      async *[Symbol.asyncIterator]() {
        yield 0
        yield 1
        await gate.open
        throw broken
      },
    }
    const iterator = parallelMap(tasks.fn, { concurrency: 5, ordered: false })(source)
    const results = range(2).map(() => iterator.next())
    await ticks()
    tasks.call(0).resolve(0)
    await ticks()
    release()
    await ticks()
    expect(tasks.aborted()).toEqual([1])
    expect(await results[0]).toEqual({ done: false, value: 0 })
    expect(await isSettled(results[1]!)).toBe(false)
    tasks.call(1).resolve(1)
    expect(await rejection(results[1]!)).toBe(broken)
  })

  it("'continue': in-flight items finish and are yielded, then the source error is thrown as is", async () => {
    const tasks = new Tasks<number>()
    const broken = new Error('source broke')
    const iterator = parallelMap(tasks.fn, { concurrency: 5, onError: 'continue' })(failingSource([0, 1, 2], broken))
    const results = range(4).map(() => iterator.next())
    await ticks()
    expect(tasks.aborted()).toEqual([])
    tasks.call(2).resolve(2)
    tasks.call(0).resolve(0)
    tasks.call(1).resolve(1)
    expect(await Promise.all(results.slice(0, 3))).toEqual([0, 1, 2].map((value) => ({ done: false, value })))
    expect(await rejection(results[3]!)).toBe(broken)
  })

  it('treats a sync generator that throws, and a next() that throws synchronously, the same way', async () => {
    const broken = new Error('broken')
    function* generator() {
      yield 1
      throw broken
    }
    for (const onError of ['abort', 'continue'] as const) {
      await expect(collect(parallelMap(double, { onError })(generator()))).rejects.toBe(broken)
      const throwing: AsyncIterable<number> = {
        [Symbol.asyncIterator]: () => ({
          next() {
            throw broken
          },
        }),
      }
      await expect(collect(parallelMap(double, { onError })(throwing))).rejects.toBe(broken)
    }
  })

  it('yields the results that finished before a sync source failed', async () => {
    function* generator() {
      yield 1
      yield 2
      throw new Error('late')
    }
    const out: number[] = []
    const error = await rejection(
      (async () => {
        for await (const value of parallelMap(double, { onError: 'continue' })(generator())) out.push(value)
      })(),
    )
    expect(out).toEqual([2, 4])
    expect(error).toEqual(new Error('late'))
  })
})

describe('6. options.signal', () => {
  it('rejects a pending next() at once with signal.reason, and later next() calls too', async () => {
    const tasks = new Tasks<number>()
    const controller = new AbortController()
    const source = new ProbeSource(naturals())
    const iterator = parallelMap(tasks.fn, { concurrency: 2, signal: controller.signal })(source)
    const pending = [iterator.next(), iterator.next()]
    await ticks()
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1)
    const reason = new Error('stop')
    controller.abort(reason)
    // The calls ignore their signals and are still running: the rejection must not wait for them.
    expect(await rejection(pending[0]!)).toBe(reason)
    expect(await rejection(pending[1]!)).toBe(reason)
    expect(tasks.running).toBe(2)
    expect(await rejection(iterator.next())).toBe(reason)
    expect(tasks.aborted()).toEqual([0, 1])
    expect(tasks.calls.map((c) => c.context.signal.reason)).toEqual([reason, reason])
    expect(source.returned).toBe(true)
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0)
    // A later return() resolves once the aborted calls have settled.
    const returned = iterator.return!()
    expect(await isSettled(returned)).toBe(false)
    tasks.call(0).resolve(0)
    tasks.call(1).resolve(1)
    expect(await returned).toEqual({ done: true, value: undefined })
    expect(await rejection(iterator.next())).toBe(reason)
  })

  it('lets calls that honour the signal settle before the loop exits (guarantee 5 under abort)', async () => {
    const controller = new AbortController()
    let running = 0
    // A signal-aware wait a few promise layers deep, like fetch or timers/promises.
    const wait = (signal: AbortSignal) =>
      new Promise<never>((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason)))
        .finally(() => undefined)
        .then((x) => x)
    const iterator = parallelMap(
      async (_: number, { signal }: TaskContext) => {
        running++
        try {
          await wait(signal)
        } finally {
          running--
        }
      },
      { concurrency: 3, signal: controller.signal },
    )(naturals())
    const reason = new Error('stop')
    const loop = (async () => {
      for await (const _ of iterator) expect.unreachable()
    })()
    await ticks()
    expect(running).toBe(3)
    controller.abort(reason)
    expect(await rejection(loop)).toBe(reason)
    expect(running).toBe(0)
  })

  it('rejects at the first next() when the signal is already aborted, without touching the source', async () => {
    const controller = new AbortController()
    const reason = new Error('already')
    controller.abort(reason)
    const source = new ProbeSource(naturals())
    const fn = vi.fn(double)
    const iterator = parallelMap(fn, { signal: controller.signal })(source)
    expect(await rejection(iterator.next())).toBe(reason)
    expect(await rejection(iterator.next())).toBe(reason)
    expect(source.pulled).toBe(0)
    expect(fn).not.toHaveBeenCalled()
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0)
  })

  it('rejects with the default AbortError reason of abort()', async () => {
    const controller = new AbortController()
    const iterator = parallelMap(() => new Promise(() => {}), { signal: controller.signal, timeout: 1000 })([1])
    const next = iterator.next()
    controller.abort()
    const error = await rejection(next)
    expect(error).toBe(controller.signal.reason)
    expect((error as Error).name).toBe('AbortError')
  })

  it('works with AbortSignal.timeout under fake timers', async () => {
    vi.useFakeTimers()
    const signal = AbortSignal.timeout(100)
    const iterator = parallelMap((_: number, { signal }: TaskContext) => {
      return new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason)))
    }, { signal })([1, 2, 3])
    const next = rejection(iterator.next())
    await vi.advanceTimersByTimeAsync(100)
    expect(((await next) as Error).name).toBe('TimeoutError')
  })

  it.each([
    ['a normal end', async (it: AsyncIterator<number>) => expect(await take(it, 100)).toEqual([0, 1, 2])],
    ['a break', async (it: AsyncIterator<number>) => void (await it.next(), await it.return!())],
    ['an error', async (it: AsyncIterator<number>) => expect(await rejection(take(it, 100))).toEqual(new Error('3'))],
  ])('removes its listener from options.signal after %s', async (name, run) => {
    const controller = new AbortController()
    const iterator = parallelMap(
      (x: number) => {
        if (x === 3) throw new Error('3')
        return x
      },
      { signal: controller.signal },
    )(range(name === 'a normal end' ? 3 : 5))
    await run(iterator)
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0)
  })
})

describe('7. no unhandled rejections, no timers left', () => {
  it('many failures, abandoned iterator, overlapping next() calls: nothing goes unhandled', async () => {
    for (const ordered of [true, false]) {
      const iterator = parallelMap(
        async (x: number) => {
          await ticks(x % 3)
          throw new Error(`fail ${x}`)
        },
        { concurrency: 10, ordered },
      )(range(50))
      const pending = range(5).map(() => iterator.next().catch((error: unknown) => error))
      await Promise.all(pending)
    }
    // Items that are promises: every one the scheduler took is handled, even after the run failed.
    const items = range(5).map((i) => Promise.reject(new Error(`item ${i}`)))
    await rejection(collect(parallelMap(double, { concurrency: 5 })(items)))
    await ticks(5)
  })

  it('leaves no fake timer behind after timeouts, retries, breaks and aborts', async () => {
    vi.useFakeTimers()
    const slow = (x: number, { signal }: TaskContext) =>
      new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => resolve(x), 1000)
        signal.addEventListener('abort', () => {
          clearTimeout(timer)
          reject(signal.reason)
        })
      })
    // A break while items wait for their timeout.
    const broken = parallelMap(slow, { timeout: 500 })(naturals())
    void broken.next()
    await vi.advanceTimersByTimeAsync(10)
    await broken.return!()
    expect(vi.getTimerCount()).toBe(0)
    // An abort during a retry backoff.
    const controller = new AbortController()
    const retried = parallelMap(
      () => {
        throw new Error('again')
      },
      { signal: controller.signal, retry: { retries: 5, minDelay: 1000 } },
    )([1])
    const next = retried.next()
    await vi.advanceTimersByTimeAsync(10)
    expect(vi.getTimerCount()).toBe(1)
    controller.abort()
    await rejection(next)
    await retried.return!()
    expect(vi.getTimerCount()).toBe(0)
    // A run that times out items and retries them to the end.
    const all = rejection(collect(parallelMap(slow, { timeout: 100, retry: { retries: 2, minDelay: 10 } })(range(3))))
    await vi.advanceTimersByTimeAsync(5000)
    expect(await all).toBeInstanceOf(TimeoutError)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('leaves no real timer behind, so a finished process exits at once', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length
    const before = timers()
    await collect(parallelMap(async (x: number) => x, { timeout: 60_000, retry: { retries: 3 } })(range(20)))
    const iterator = parallelMap(
      (_: number, { signal }: TaskContext) => new Promise((_resolve, reject) => signal.addEventListener('abort', reject)),
      { timeout: 60_000 },
    )(range(5))
    void iterator.next()
    await tick()
    await iterator.return!()
    await tick()
    expect(timers()).toBe(before)
  })
})

describe('10. sources', () => {
  const expected = [2, 4, 6]

  it('arrays, Sets and other iterables', async () => {
    expect(await collect(parallelMap(double)([1, 2, 3]))).toEqual(expected)
    expect(await collect(parallelMap(double)(new Set([1, 2, 3])))).toEqual(expected)
    expect(await collect(parallelMap(double)(new Map([[1, 1], [2, 2], [3, 3]]).keys()))).toEqual(expected)
  })

  it('sync and async generators', async () => {
    function* sync() {
      yield* [1, 2, 3]
    }
    async function* asynchronous() {
      for (const x of [1, 2, 3]) {
        await tick()
        yield x
      }
    }
    expect(await collect(parallelMap(double)(sync()))).toEqual(expected)
    expect(await collect(parallelMap(double)(asynchronous()))).toEqual(expected)
  })

  it('Node Readable streams in object mode, destroyed on an early exit', async () => {
    expect(await collect(parallelMap(double)(Readable.from([1, 2, 3])))).toEqual(expected)
    let i = 0
    const endless = new Readable({
      objectMode: true,
      read() {
        this.push(i++)
      },
    })
    for await (const value of parallelMap(double, { concurrency: 2 })(endless)) {
      if (value === 20) break
    }
    await ticks()
    expect(endless.destroyed).toBe(true)
  })

  it('web ReadableStreams, cancelled on an early exit', async () => {
    const fromArray = (items: number[]) =>
      new ReadableStream<number>({
        start(controller) {
          for (const x of items) controller.enqueue(x)
          controller.close()
        },
      })
    expect(await collect(parallelMap(double)(fromArray([1, 2, 3])))).toEqual(expected)
    let cancelled = false
    let i = 0
    const endless = new ReadableStream<number>({
      pull(controller) {
        controller.enqueue(i++)
      },
      cancel() {
        cancelled = true
      },
    })
    for await (const value of parallelMap(double, { concurrency: 2 })(endless)) {
      if (value === 20) break
    }
    await ticks()
    expect(cancelled).toBe(true)
  })

  it('a ReadableStream-like object with only getReader()', async () => {
    const stream = new ReadableStream<number>({
      start(controller) {
        for (const x of [1, 2, 3]) controller.enqueue(x)
        controller.close()
      },
    })
    const readerOnly = { getReader: () => stream.getReader() }
    expect(await collect(parallelMap(double)(readerOnly as never))).toEqual(expected)
  })
})

describe('a source that cannot be opened', () => {
  it('rejects the first next() with the error and ends, under either policy', async () => {
    for (const onError of ['abort', 'continue'] as const) {
      const locked = {
        [Symbol.asyncIterator](): AsyncIterator<number> {
          throw new Error('locked')
        },
      }
      const it = parallelMap(async (x: number) => x, { onError })(locked)
      await expect(it.next()).rejects.toThrow('locked')
      await expect(it.next()).resolves.toEqual({ done: true, value: undefined })
    }
  })
})

describe('11. a source that breaks the iterator protocol', () => {
  const broken: [string, () => Iterable<number> | AsyncIterable<number>][] = [
    ['[Symbol.iterator]() returns 5', () => ({ [Symbol.iterator]: () => 5 }) as never],
    ['a sync next() returns null', () => ({ [Symbol.iterator]: () => ({ next: () => null }) }) as never],
    ['an async next() resolves 42', () => ({ [Symbol.asyncIterator]: () => ({ next: async () => 42 }) }) as never],
    ['an async next() returns 42', () => ({ [Symbol.asyncIterator]: () => ({ next: () => 42 }) }) as never],
  ]
  it.each(broken)('%s: the first next() rejects with a TypeError, under every policy', async (_, source) => {
    for (const make of [
      () => parallelMap(double)(source()),
      () => parallelMap(double, { onError: 'continue' })(source()),
      () => parallelMapSettled(double)(source()),
    ]) {
      const iterator = make()
      let next: Promise<unknown> | undefined
      expect(() => (next = iterator.next())).not.toThrow()
      const error = await rejection(next!)
      expect(error).toBeInstanceOf(TypeError)
      expect((error as Error).message).toMatch(/^Expected the source's /)
      expect(await iterator.next()).toEqual({ done: true, value: undefined })
    }
  })

  it('yields the items before the violation first, as for a source error', async () => {
    let i = 0
    const source = { [Symbol.iterator]: () => ({ next: () => (i < 2 ? { done: false, value: i++ } : 7) }) } as never
    const out: number[] = []
    const error = await rejection(
      (async () => {
        for await (const value of parallelMap(double, { onError: 'continue' })(source as Iterable<number>)) out.push(value)
      })(),
    )
    expect(out).toEqual([0, 2])
    expect(error).toBeInstanceOf(TypeError)
  })
})

describe('review findings', () => {
  it('an abort from the loop body still lets calls that honour the signal settle before the loop exits', async () => {
    const controller = new AbortController()
    let running = 0
    const iterator = parallelMap(
      async (x: number, { signal }: TaskContext) => {
        running++
        try {
          if (x === 0) return 0
          // A signal-aware wait a few promise layers deep, like timers/promises.
          await new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason)))
            .finally(() => undefined)
            .then((value) => value)
            .then((value) => value)
        } finally {
          running--
        }
      },
      { concurrency: 3, signal: controller.signal },
    )([0, 1, 2])
    const reason = new Error('stop')
    const error = await rejection(
      (async () => {
        for await (const x of iterator) if (x === 0) controller.abort(reason)
      })(),
    )
    expect(error).toBe(reason)
    expect(running).toBe(0)
  })

})
