import { afterEach, describe, expect, it, vi } from 'vitest'
import type { ParallelMapOptions } from '../../src/index.js'
import { configure, type Config } from '../../src/scheduler/options.js'
import { ParallelIterator } from '../../src/scheduler/run.js'
import type { AttemptSample, Gate, Queued, StartQueue, StartQueueFactory } from '../../src/scheduler/seams.js'
import { failOnUnhandledRejections, naturals, ProbeSource, range, Tasks, ticks } from '../helpers.js'
import { take } from './helpers.js'

failOnUnhandledRejections()

afterEach(() => {
  vi.useRealTimers()
})

/**
 * A stand-in for the `Limiter` of the limits issue, built only on the seam: one limit shared by
 * every run that got a gate from it, live, pausable, and recording what the runs tell it.
 */
class FakeLimiter {
  running = 0
  paused = false
  readonly samples: AttemptSample[] = []
  attached = 0
  readonly #wakes = new Set<() => void>()

  constructor(public limit: number) {}

  gate = (): Gate => {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const limiter = this
    let wake: (() => void) | undefined
    return {
      get limit() {
        return limiter.limit
      },
      mayStart: () => !this.paused && this.running < this.limit,
      started: () => {
        this.running++
      },
      ended: () => {
        this.running--
        this.#wakeAll()
      },
      observe: (sample) => this.samples.push(sample),
      attach: (w) => {
        wake = w
        this.attached++
        this.#wakes.add(w)
      },
      detach: () => {
        this.attached--
        this.#wakes.delete(wake!)
      },
    }
  }

  set(limit: number): void {
    this.limit = limit
    this.#wakeAll()
  }

  resume(): void {
    this.paused = false
    this.#wakeAll()
  }

  #wakeAll(): void {
    for (const wake of [...this.#wakes]) wake()
  }
}

function withGate(limiter: FakeLimiter, options: ParallelMapOptions = {}): Config {
  return { ...configure(options, false), gate: limiter.gate, readAhead: options.readAhead }
}

function run<T, R>(fn: (item: T, context: never) => R, config: Config, source: Iterable<T> | AsyncIterable<T>) {
  return new ParallelIterator<T, Awaited<R>>(fn as never, config, source)
}

describe('the concurrency seam: a Gate', () => {
  it('caps the sum of the running calls of every run that shares it, exactly', async () => {
    const limiter = new FakeLimiter(3)
    const a = new Tasks<number>(true)
    const b = new Tasks<number>(true)
    let peak = 0
    const track = (tasks: Tasks<number>) => (x: number, context: never) => {
      const result = tasks.fn(x, context)
      peak = Math.max(peak, a.running + b.running)
      return result
    }
    const first = run(track(a), withGate(limiter), naturals())
    const second = run(track(b), withGate(limiter), naturals())
    const pending = [first.next(), second.next()]
    await ticks()
    expect(a.running + b.running).toBe(3)
    a.calls[0]!.resolve(0)
    await ticks()
    expect(a.running + b.running).toBe(3)
    expect(await pending[0]).toEqual({ done: false, value: 0 })
    expect(peak).toBe(3)
    await Promise.all([first.return(), second.return()])
    expect(limiter.running).toBe(0)
    expect(limiter.attached).toBe(0)
  })

  it('is live: a raised limit starts more at once, a lowered one starts nothing until running < limit', async () => {
    const limiter = new FakeLimiter(1)
    const tasks = new Tasks<number>(true)
    const iterator = run(tasks.fn, withGate(limiter, { readAhead: 100 }), naturals())
    const pending = iterator.next()
    await ticks()
    expect(tasks.running).toBe(1)
    limiter.set(3)
    await ticks()
    expect(tasks.running).toBe(3)
    limiter.set(1)
    for (const i of [1, 2]) {
      tasks.call(i).resolve(i)
      await ticks()
      expect(tasks.items()).toEqual([0, 1, 2])
    }
    tasks.call(0).resolve(0)
    await ticks()
    expect(tasks.items()).toEqual([0, 1, 2, 3])
    expect(await pending).toEqual({ done: false, value: 0 })
    limiter.paused = true
    tasks.call(3).resolve(3)
    await ticks()
    expect(tasks.items()).toEqual([0, 1, 2, 3])
    limiter.resume()
    await ticks()
    expect(tasks.items()).toEqual([0, 1, 2, 3, 4])
    await iterator.return()
  })

  it('without a readAhead option, the read-ahead follows the limit: 2 × limit at every moment', async () => {
    const limiter = new FakeLimiter(2)
    const source = new ProbeSource(naturals())
    const iterator = run((x: number) => x, withGate(limiter), source)
    expect(await iterator.next()).toEqual({ done: false, value: 0 })
    await ticks()
    expect(source.pulled).toBe(1 + 4)
    limiter.set(5)
    await iterator.next()
    await ticks()
    expect(source.pulled).toBe(2 + 10)
    await iterator.return()
  })

  it('tells an observing gate how each attempt went, and whether the consumer was waiting', async () => {
    vi.useFakeTimers()
    const limiter = new FakeLimiter(4)
    const tasks = new Tasks<string>()
    const iterator = run(tasks.fn, withGate(limiter, { timeout: 100, onError: 'continue', ordered: false }), [
      'ok',
      'error',
      'timeout',
    ])
    const next = iterator.next()
    await vi.advanceTimersByTimeAsync(10)
    tasks.call('ok').resolve('ok')
    await vi.advanceTimersByTimeAsync(10)
    tasks.call('error').reject(new Error('bad'))
    await vi.advanceTimersByTimeAsync(100)
    expect(await next).toEqual({ done: false, value: 'ok' })
    expect(limiter.samples.map(({ outcome, consumerWaiting, running }) => ({ outcome, consumerWaiting, running }))).toEqual([
      { outcome: 'ok', consumerWaiting: true, running: 3 },
      { outcome: 'error', consumerWaiting: false, running: 2 },
      { outcome: 'timeout', consumerWaiting: false, running: 1 },
    ])
    expect(limiter.samples.map((s) => s.endedAt - s.startedAt)).toEqual([10, 20, 100])
    expect((limiter.samples[1]!.error as Error).message).toBe('bad')
    expect(limiter.samples[2]!.error).toBeInstanceOf(Error)
    await expect(iterator.next()).rejects.toBeInstanceOf(AggregateError)

    const aborted = new Tasks<number>()
    const stopped = run(aborted.fn, withGate(limiter), [1])
    const pending = stopped.next()
    await vi.advanceTimersByTimeAsync(0)
    const returned = stopped.return()
    aborted.call(1).resolve(1)
    await returned
    expect(await pending).toEqual({ done: true, value: undefined })
    expect(limiter.samples.at(-1)).toMatchObject({ outcome: 'aborted', error: undefined })
  })
})

/** A per-key cap built only on the seam: at most `perKey` running items per `keyOf(item)`. */
function keyedQueue<T>(keyOf: (item: T) => string, perKey: number): StartQueueFactory & { busiest: number } {
  const factory = (<Q extends Queued<unknown>>(): StartQueue<Q> => {
    let waiting: Q[] = []
    const busy = new Map<string, number>()
    const key = (queued: Q) => keyOf(queued.item as T)
    return {
      get length() {
        return waiting.length
      },
      add(queued) {
        key(queued)
        waiting.push(queued)
      },
      next() {
        const at = waiting.findIndex((queued) => (busy.get(key(queued)) ?? 0) < perKey)
        if (at === -1) return undefined
        const [queued] = waiting.splice(at, 1)
        const running = (busy.get(key(queued!)) ?? 0) + 1
        busy.set(key(queued!), running)
        factory.busiest = Math.max(factory.busiest, running)
        return queued
      },
      ended(queued) {
        busy.set(key(queued), busy.get(key(queued))! - 1)
      },
      drop(from) {
        const dropped = waiting.filter((queued) => queued.index >= from)
        waiting = waiting.filter((queued) => queued.index < from)
        return dropped
      },
    }
  }) as StartQueueFactory & { busiest: number }
  factory.busiest = 0
  return factory
}

/** An order-only queue that records what passed through it. */
function fifoQueue(): StartQueueFactory & { added: number[] } {
  const factory = (<Q extends Queued<unknown>>(): StartQueue<Q> => {
    const waiting: Q[] = []
    return {
      fifo: true,
      get length() {
        return waiting.length
      },
      add(queued) {
        factory.added.push(queued.index)
        waiting.push(queued)
      },
      next: () => waiting.shift(),
      ended() {},
      drop: (from) => waiting.splice(waiting.findIndex((queued) => queued.index >= from) >>> 0),
    }
  }) as StartQueueFactory & { added: number[] }
  factory.added = []
  return factory
}

describe('the start-order seam: a StartQueue', () => {
  const hostOf = (url: string) => url.split('/')[0]!

  it('a FIFO queue is passed by while it is empty and a call may start, and used when the gate closed during a pull', async () => {
    const limiter = new FakeLimiter(2)
    const queue = fifoQueue()
    const tasks = new Tasks<number>()
    let arrive: (() => void) | undefined
    async function* source() {
      yield 0
      yield 1
      // The pull of 2 is under way while the limiter pauses: 2 arrives when it may not start.
      await new Promise<void>((resolve) => (arrive = resolve))
      yield 2
    }
    const iterator = run(tasks.fn, { ...withGate(limiter, { concurrency: 2, readAhead: 4 }), queue }, source())
    const results = range(3).map(() => iterator.next())
    await ticks()
    expect(tasks.items()).toEqual([0, 1])
    expect(queue.added).toEqual([])
    tasks.call(0).resolve(10)
    await ticks()
    limiter.paused = true
    arrive!()
    await ticks()
    expect(queue.added).toEqual([2])
    expect(tasks.items()).toEqual([0, 1])
    limiter.resume()
    expect(tasks.items()).toEqual([0, 1, 2])
    tasks.call(1).resolve(11)
    tasks.call(2).resolve(12)
    expect((await Promise.all(results)).map((r) => r.value)).toEqual([10, 11, 12])
    expect(limiter.running).toBe(0)
  })

  it('lets an item whose key is busy wait without holding up other keys; output stays in input order', async () => {
    const queue = keyedQueue(hostOf, 1)
    const tasks = new Tasks<string>()
    const urls = ['a/1', 'a/2', 'a/3', 'b/1', 'c/1']
    const iterator = run(tasks.fn, { ...configure({ concurrency: 3, readAhead: 5 }, false), queue }, urls)
    const results = urls.map(() => iterator.next())
    await ticks()
    expect(tasks.items()).toEqual(['a/1', 'b/1', 'c/1'])
    tasks.call('b/1').resolve('B1')
    await ticks()
    // b's slot is free, but only a-items wait, and a is busy.
    expect(tasks.items()).toEqual(['a/1', 'b/1', 'c/1'])
    tasks.call('a/1').resolve('A1')
    await ticks()
    expect(tasks.items()).toEqual(['a/1', 'b/1', 'c/1', 'a/2'])
    for (const url of ['c/1', 'a/2']) {
      tasks.call(url).resolve(url.toUpperCase().replace('/', ''))
      await ticks()
    }
    tasks.call('a/3').resolve('A3')
    expect((await Promise.all(results)).map((r) => r.value)).toEqual(['A1', 'A2', 'A3', 'B1', 'C1'])
    expect(queue.busiest).toBe(1)
  })

  it('fails an item whose key throws, as a throw of fn would, and runs the others', async () => {
    const broken = new Error('no key')
    const queue = keyedQueue((url: string) => {
      if (url === 'bad') throw broken
      return hostOf(url)
    }, 1)
    const iterator = run((url: string) => url, { ...configure({ onError: 'continue' }, false), queue }, ['a/1', 'bad', 'b/1'])
    expect(await take(iterator, 2)).toEqual(['a/1', 'b/1'])
    const error = await iterator.next().catch((thrown: unknown) => thrown)
    expect((error as AggregateError).errors).toEqual([broken])
  })

  it('drops the waiting items on return(), and on a failure from its index on', async () => {
    const tasks = new Tasks<string>(true)
    const iterator = run(tasks.fn, { ...configure({ concurrency: 2 }, false), queue: keyedQueue(hostOf, 1) }, [
      'a/1',
      'a/2',
      'b/1',
      'a/3',
    ])
    const first = iterator.next()
    await ticks()
    expect(tasks.items()).toEqual(['a/1', 'b/1'])
    tasks.call('a/1').resolve('A1')
    expect(await first).toEqual({ done: false, value: 'A1' })
    await ticks()
    expect(tasks.items()).toEqual(['a/1', 'b/1', 'a/2'])
    await iterator.return()
    expect(tasks.running).toBe(0)
    expect(tasks.items()).toEqual(['a/1', 'b/1', 'a/2'])

    const failing = new Tasks<string>(true)
    const second = run(failing.fn, { ...configure({ concurrency: 2 }, false), queue: keyedQueue(hostOf, 1) }, [
      'a/1',
      'b/1',
      'a/2',
      'b/2',
    ])
    const results = range(3).map(() => second.next())
    await ticks()
    failing.call('b/1').reject(new Error('b failed'))
    await ticks()
    failing.call('a/1').resolve('A1')
    expect(await results[0]).toEqual({ done: false, value: 'A1' })
    await expect(results[1]).rejects.toThrow('b failed')
    expect(await results[2]).toEqual({ done: true, value: undefined })
    // a/2 (index 2) came after the failure at index 1: it never ran.
    expect(failing.items()).toEqual(['a/1', 'b/1'])
  })
})
