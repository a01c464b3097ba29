import { describe, expect, it, vi } from 'vitest'
import {
  batch,
  drop,
  merge,
  parallelMap,
  pipe,
  slice,
  take,
  throttle,
  timeout,
  TimeoutError,
  type Source,
  type TaskContext,
} from '../src/index.js'
import { naturals } from './helpers.js'
import { ManualSource, flush, stateOf, useStrictTimers } from './stream-helpers.js'

// Guarantee 5 through a pipeline: every operator composed with a parallelMap whose calls take a
// while, left every way; when the consumer's loop has exited, no call is running and no timer is
// left. Aborted calls take a few (fake) ms to settle, so an operator that does not wait shows.
useStrictTimers()

/** Calls that take `ms`, fail for `failAt`, and settle `cleanupMs` after their signal aborts. */
class SlowWork {
  running = 0
  started = 0

  constructor(readonly failAt?: number) {}

  readonly fn = (item: number, { signal }: TaskContext): Promise<number> => {
    this.running++
    this.started++
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => (item === this.failAt ? reject(new Error(`item ${item} failed`)) : resolve(item)), 20)
      signal.addEventListener(
        'abort',
        () => {
          clearTimeout(timer)
          setTimeout(reject, 5, signal.reason)
        },
        { once: true },
      )
    }).finally(() => this.running--)
  }
}

type Pipeline = AsyncIterableIterator<unknown> & AsyncDisposable
type Stage = (source: AsyncIterable<number>) => Pipeline

/** Each one-source operator, and a chain of them. */
const oneSourceStages: [string, Stage][] = [
  ['take', take(5)],
  ['slice', slice(1, 6)],
  ['drop', drop(1)],
  ['batch', batch(2)],
  ['batch with maxWait', batch(3, { maxWait: 15 })],
  ['throttle', throttle({ limit: 1, interval: 30 })],
  ['timeout', timeout({ total: 10_000, each: 1_000 })],
  ['a chain of them', (source) => pipe(source, throttle({ limit: 3, interval: 10 }), batch(2), drop(1), take(4))],
]

/**
 * Each operator over parallelMaps of a given concurrency (merge: of two of them), over an endless
 * source: `mapped(concurrency)` makes one.
 */
type Middle = (mapped: (concurrency: number) => AsyncIterableIterator<number>) => Pipeline
const middles: [string, Middle][] = oneSourceStages.map(([name, stage]) => [name, (mapped) => stage(mapped(4))] as const)
middles.push(['merge', (mapped) => merge(mapped(3), mapped(2))])

/** Each operator after a parallelMap (merge: of two of them). */
const operators: [string, (work: SlowWork, signal?: AbortSignal) => Pipeline][] = middles.map(([name, middle]) => [
  name,
  (work, signal) => middle((concurrency) => parallelMap(work.fn, { concurrency, signal })(naturals())),
])

/** Moves the fake clock 1 ms at a time until `promise` settles. */
async function drive<T>(promise: Promise<T>): Promise<T> {
  let settled = false
  promise.then(
    () => (settled = true),
    () => (settled = true),
  )
  for (let ms = 0; !settled; ms++) {
    if (ms > 10_000) throw new Error('the pipeline never settled')
    await vi.advanceTimersByTimeAsync(1)
  }
  return promise
}

/** What was running, and how many timers were left, when the loop had exited; and what ended it. */
interface Exit {
  running: number
  timers: number
  error: unknown
}

async function leave(work: SlowWork, iterator: Pipeline, how: 'break' | 'throw'): Promise<Exit> {
  let error: unknown
  try {
    let seen = 0
    for await (const _ of iterator) {
      if (++seen < 2) continue
      if (how === 'break') break
      throw new Error('consumer failed')
    }
  } catch (thrown) {
    error = thrown
  }
  return { running: work.running, timers: vi.getTimerCount(), error }
}

describe.each(operators)('%s after parallelMap: nothing running once the loop has exited', (_, make) => {
  it('by break', async () => {
    const work = new SlowWork()
    const exit = await drive(leave(work, make(work), 'break'))
    expect(exit).toEqual({ running: 0, timers: 0, error: undefined })
    expect(work.started).toBeGreaterThan(2)
  })

  it('by an error in the loop body', async () => {
    const work = new SlowWork()
    const exit = await drive(leave(work, make(work), 'throw'))
    expect(exit).toEqual({ running: 0, timers: 0, error: new Error('consumer failed') })
  })

  it('by an error of an item, passed down', async () => {
    const work = new SlowWork(3)
    const exit = await drive(leave(work, make(work), 'break'))
    // Some operators hand out two results before item 3 fails; the others fail first.
    if (exit.error !== undefined) expect(exit.error).toEqual(new Error('item 3 failed'))
    expect(exit).toMatchObject({ running: 0, timers: 0 })
    const failing = new SlowWork(0)
    expect(await drive(leave(failing, make(failing), 'break'))).toEqual({
      running: 0,
      timers: 0,
      error: new Error('item 0 failed'),
    })
  })

  it('by return() while a next() is pending', async () => {
    const work = new SlowWork()
    const iterator = make(work)
    await drive(iterator.next())
    let pending = iterator.next()
    while ((await stateOf(pending)) !== 'pending') pending = iterator.next()
    const exit = await drive(iterator.return!().then(() => ({ running: work.running, timers: vi.getTimerCount() })))
    expect(exit).toEqual({ running: 0, timers: 0 })
    expect(await pending).toEqual({ done: true, value: undefined })
    expect(await iterator.next()).toEqual({ done: true, value: undefined })
  })

  it('by a timeout() after it: the loop exits at the deadline, await using then waits for the calls', async () => {
    const work = new SlowWork()
    let thrownAt = -1
    let runningAtDeadline = -1
    const start = Date.now()
    const run = async (): Promise<void> => {
      await using iterator = timeout(30)(make(work))
      try {
        for await (const _ of iterator) {
          // Read on until the deadline.
        }
      } catch (error) {
        expect(error).toBeInstanceOf(TimeoutError)
        thrownAt = Date.now() - start
        runningAtDeadline = work.running
      }
    }
    await drive(run())
    expect(thrownAt).toBe(30)
    expect(runningAtDeadline).toBeGreaterThan(0)
    expect({ running: work.running, timers: vi.getTimerCount() }).toEqual({ running: 0, timers: 0 })
  })

  it("by an abort of parallelMap's signal: await using waits for the aborted calls", async () => {
    const work = new SlowWork()
    const controller = new AbortController()
    setTimeout(() => controller.abort(new Error('stopped')), 30)
    let caught: unknown
    const run = async (): Promise<void> => {
      await using iterator = make(work, controller.signal)
      try {
        for await (const _ of iterator) {
          // Read on until the abort.
        }
      } catch (error) {
        caught = error
      }
    }
    await drive(run())
    expect(caught).toEqual(new Error('stopped'))
    expect({ running: work.running, timers: vi.getTimerCount() }).toEqual({ running: 0, timers: 0 })
  })
})

/** The inner and the outer calls of a nested pipeline. */
class Nested {
  readonly inner: SlowWork
  readonly outer = new SlowWork()

  constructor(
    readonly middle: Middle,
    innerFailAt?: number,
  ) {
    this.inner = new SlowWork(innerFailAt)
  }

  get running(): number {
    return this.inner.running + this.outer.running
  }

  /** parallelMap over the stage over parallelMap; `outer` adds options to the outer one. */
  make(outer: { timeout?: number; signal?: AbortSignal } = {}): Pipeline {
    const mapped = (concurrency: number): AsyncIterableIterator<number> =>
      parallelMap(this.inner.fn, { concurrency, signal: outer.signal })(naturals())
    const middle = this.middle(mapped)
    const outerFn = this.outer.fn as (item: unknown, context: TaskContext) => Promise<number>
    // parallelMap's iterator has [Symbol.asyncDispose]; the Operator type does not say so.
    return parallelMap(outerFn, { concurrency: 3, ...outer })(middle) as Pipeline
  }
}

describe.each(middles)('parallelMap after %s after parallelMap: no inner or outer call running at loop exit', (_, middle) => {
  const exitOf = async (nested: Nested, iterator: Pipeline, how: 'break' | 'throw'): Promise<Exit> => {
    const exit = await drive(leave(nested.outer, iterator, how))
    return { ...exit, running: nested.running }
  }

  it('by break', async () => {
    const nested = new Nested(middle)
    expect(await exitOf(nested, nested.make(), 'break')).toEqual({ running: 0, timers: 0, error: undefined })
    expect(nested.inner.started).toBeGreaterThan(2)
    expect(nested.outer.started).toBeGreaterThan(1)
  })

  it('by an error in the loop body', async () => {
    const nested = new Nested(middle)
    expect(await exitOf(nested, nested.make(), 'throw')).toEqual({ running: 0, timers: 0, error: new Error('consumer failed') })
  })

  it('by an error of an inner item, passed down', async () => {
    const nested = new Nested(middle, 0)
    expect(await exitOf(nested, nested.make(), 'break')).toEqual({ running: 0, timers: 0, error: new Error('item 0 failed') })
  })

  it("by the outer parallelMap's per-item timeout", async () => {
    const nested = new Nested(middle)
    const exit = await exitOf(nested, nested.make({ timeout: 10 }), 'break')
    expect(exit).toMatchObject({ running: 0, timers: 0 })
    expect(exit.error).toBeInstanceOf(TimeoutError)
  })

  it('by return() while a next() is pending', async () => {
    const nested = new Nested(middle)
    const iterator = nested.make()
    await drive(iterator.next())
    let pending = iterator.next()
    while ((await stateOf(pending)) !== 'pending') pending = iterator.next()
    const exit = await drive(iterator.return!().then(() => ({ running: nested.running, timers: vi.getTimerCount() })))
    expect(exit).toEqual({ running: 0, timers: 0 })
    expect(await pending).toEqual({ done: true, value: undefined })
  })

  it('by a timeout() after it or an abort of the signal: await using then waits for every call', async () => {
    for (const deadline of ['timeout', 'signal'] as const) {
      const nested = new Nested(middle)
      const controller = new AbortController()
      setTimeout(() => controller.abort(new Error('stopped')), 30)
      let caught: unknown
      const run = async (): Promise<void> => {
        await using iterator =
          deadline === 'timeout' ? timeout(30)(nested.make()) : nested.make({ signal: controller.signal })
        try {
          for await (const _ of iterator) {
            // Read on until the deadline.
          }
        } catch (error) {
          caught = error
        }
      }
      await drive(run())
      expect(caught).toEqual(deadline === 'timeout' ? expect.any(TimeoutError) : new Error('stopped'))
      expect({ running: nested.running, timers: vi.getTimerCount() }).toEqual({ running: 0, timers: 0 })
    }
  })
})

describe('an early end passed down waits too', () => {
  it.each([
    ['take', take(3)],
    ['slice', slice(2, 4)],
  ])('%s: the loop ends once the calls read ahead have settled', async (_, stage) => {
    const work = new SlowWork()
    const run = async (): Promise<Exit> => {
      for await (const _ of stage(parallelMap(work.fn, { concurrency: 4 })(naturals()))) {
        // Read to the end.
      }
      return { running: work.running, timers: vi.getTimerCount(), error: undefined }
    }
    const exit = await drive(run())
    expect(exit).toEqual({ running: 0, timers: 0, error: undefined })
    expect(work.started).toBeGreaterThan(4)
  })
})

/**
 * 0, 1, … `count - 1` at once, then pulls that wait until `return()`, which answers them done and
 * settles after `closeMs` (fake) ms, as a well-made iterator acts on `return()` at once.
 */
class StallingSource implements AsyncIterableIterator<number> {
  closed = false
  #index = 0
  readonly #stalled: ((result: IteratorResult<number>) => void)[] = []

  constructor(
    readonly count: number,
    readonly closeMs = 0,
  ) {}

  [Symbol.asyncIterator](): this {
    return this
  }

  next(): Promise<IteratorResult<number>> {
    if (this.closed) return Promise.resolve({ done: true, value: undefined })
    if (this.#index < this.count) return Promise.resolve({ done: false, value: this.#index++ })
    return new Promise((resolve) => this.#stalled.push(resolve))
  }

  async return(): Promise<IteratorResult<number>> {
    for (const resolve of this.#stalled.splice(0)) resolve({ done: true, value: undefined })
    if (this.closeMs > 0) await new Promise((resolve) => setTimeout(resolve, this.closeMs))
    this.closed = true
    return { done: true, value: undefined }
  }
}

/** Every operator, applied to one source (merge: alongside an empty one). */
const stages: [string, (source: Source<number>) => AsyncIterableIterator<unknown> & AsyncDisposable][] = [
  ['take', take(5)],
  ['slice', slice(1, 5)],
  ['drop', drop(1)],
  ['batch', batch(2)],
  ['batch with maxWait', batch(2, { maxWait: 10 })],
  ['throttle', throttle({ limit: 1, interval: 10 })],
  ['timeout', timeout({ total: 100, each: 50 })],
  ['merge', (source) => merge(source, [])],
]

/**
 * Each stage as it is, and over another operator: one of this package's iterators, whose answer
 * a stage may hand on chained instead of parking the call (StepIterator's hot path).
 */
const placements: [string, (source: Source<number>) => Source<number>][] = [
  ['directly', (source) => source],
  ['over another operator', (source) => take(Infinity)(source)],
]
const contractCases = stages.flatMap(([name, stage]) =>
  placements.map(([where, place]) => [`${name}, ${where}`, (source: Source<number>) => stage(place(source))] as const),
)

describe.each(contractCases)('%s keeps the iterator contract', (name, stage) => {
  it.each([
    [
      'a next() that resolves 42',
      { [Symbol.asyncIterator]: () => ({ next: () => Promise.resolve(42) }) },
      "Expected the source's next() to resolve to an iterator result object, got 42",
    ],
    [
      'a next() that returns null',
      { [Symbol.asyncIterator]: () => ({ next: () => null }) },
      "Expected the source's next() to resolve to an iterator result object, got null",
    ],
    [
      'a sync next() that returns 5',
      { [Symbol.iterator]: () => ({ next: () => 5 }) },
      "Expected the source's next() to return an iterator result object, got 5",
    ],
    [
      'a [Symbol.asyncIterator]() that returns 42',
      { [Symbol.asyncIterator]: () => 42 },
      "Expected the source's [Symbol.asyncIterator]() to return an iterator, got 42",
    ],
    [
      'a [Symbol.iterator]() that returns nothing',
      { [Symbol.iterator]: () => undefined },
      "Expected the source's [Symbol.iterator]() to return an iterator, got undefined (undefined)",
    ],
  ])('rejects with a TypeError for a source that breaks the protocol: %s', async (_, source, message) => {
    const iterator = stage(source as never)
    const error: unknown = await iterator.next().catch((thrown: unknown) => thrown)
    expect(error).toBeInstanceOf(TypeError)
    expect(error).toHaveProperty('message', message)
    expect(await iterator.next()).toEqual({ done: true, value: undefined })
  })

  it('await using closes the source, and the scope ends once its return() has settled', async () => {
    const source = new StallingSource(3, 10)
    const run = async (): Promise<boolean> => {
      await using iterator = stage(source)
      await iterator.next()
      return source.closed
    }
    const reading = run()
    await vi.advanceTimersByTimeAsync(9)
    expect(await stateOf(reading)).toBe('pending')
    await vi.advanceTimersByTimeAsync(1)
    expect(await reading).toBe(false)
    expect(source.closed).toBe(true)
  })

  it('answers misuse as an async generator would: next() after return(), overlapping return()s', async () => {
    const source = new ManualSource<number>()
    const iterator = stage(source)
    const pending = iterator.next()
    await flush()
    const returns = [iterator.return!('a'), iterator.return!('b'), iterator[Symbol.asyncDispose]()]
    expect(await Promise.all(returns)).toEqual([
      { done: true, value: 'a' },
      { done: true, value: 'b' },
      undefined,
    ])
    expect(await pending).toEqual({ done: true, value: undefined })
    expect(await iterator.next()).toEqual({ done: true, value: undefined })
    expect(source.returned).toBe(true)
    // The pull that was pending answers late: its item is dropped, and starts no timer.
    const setTimeoutSpy = vi.spyOn(globalThis, 'setTimeout')
    source.push(1)
    await flush()
    expect(setTimeoutSpy).not.toHaveBeenCalled()
    setTimeoutSpy.mockRestore()
  })

  it('has no timer left when return() resolves, whatever it was waiting for', async () => {
    const source = new StallingSource(3)
    const iterator = stage(source)
    let pending = iterator.next()
    for (let calls = 1; (await stateOf(pending)) !== 'pending'; calls++) {
      expect(calls).toBeLessThan(5)
      pending = iterator.next()
    }
    const timersBefore = vi.getTimerCount()
    const returned = iterator.return!().then(() => vi.getTimerCount())
    expect(await returned).toBe(0)
    expect(await pending).toEqual({ done: true, value: undefined })
    // Timers were there to clear in some operators: the test would see them left.
    if (/maxWait|throttle|timeout/.test(name)) expect(timersBefore).toBeGreaterThan(0)
  })
})

describe('over another of our operators, a call is answered by its pull, chained', () => {
  it('answers overlapping next() calls in call order', async () => {
    const source = new ManualSource<number>()
    const iterator = drop(0)(take(Infinity)(source))
    const calls = [iterator.next(), iterator.next(), iterator.next()]
    for (const item of [1, 2]) {
      await flush()
      source.push(item)
    }
    await flush()
    source.end()
    expect(await Promise.all(calls)).toEqual([
      { done: false, value: 1 },
      { done: false, value: 2 },
      { done: true, value: undefined },
    ])
    expect(source.overlapped).toBe(false)
  })

  it('a deadline rejects the oldest pending call at once, and ends the others', async () => {
    const source = new ManualSource<number>()
    const limited = timeout(10)(take(Infinity)(source))
    const calls = [limited.next(), limited.next(), limited.next()].map((call) => call.catch((error: unknown) => error))
    await vi.advanceTimersByTimeAsync(10)
    expect(await stateOf(calls[0]!)).toBe('fulfilled')
    expect(await Promise.all(calls)).toEqual([
      expect.any(TimeoutError),
      { done: true, value: undefined },
      { done: true, value: undefined },
    ])
    expect(source.returned).toBe(true)
  })

  it('return() answers a pending call done at once, and resolves once the source has closed', async () => {
    const source = new StallingSource(1, 10)
    const iterator = drop(0)(take(Infinity)(source))
    expect(await iterator.next()).toEqual({ done: false, value: 0 })
    const pending = iterator.next()
    await flush()
    const returned = iterator.return!()
    expect(await stateOf(pending)).toBe('fulfilled')
    expect(await pending).toEqual({ done: true, value: undefined })
    expect(await stateOf(returned)).toBe('pending')
    await vi.advanceTimersByTimeAsync(10)
    expect(await returned).toEqual({ done: true, value: undefined })
    expect(source.closed).toBe(true)
  })
})
