import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  collect,
  parallelMap,
  parallelMapSettled,
  TimeoutError,
  type Settled,
  type TaskContext,
} from '../../src/index.js'
import { failOnUnhandledRejections, isSettled, range, Tasks, ticks } from '../helpers.js'
import { PassClock } from '../../src/scheduler/clock.js'
import { ErrorList, SettledRecords } from '../../src/scheduler/outcome.js'
import { Task } from '../../src/scheduler/task.js'
import { double, rejection } from './helpers.js'
failOnUnhandledRejections()

describe('ErrorList', () => {
  it('keeps the errors only, and gives them in input order whatever order they came in', () => {
    const list = new ErrorList()
    expect(list.length).toBe(0)
    for (const index of [4, 1, 7, 0]) list.add(index, `e${index}`)
    expect(list.length).toBe(4)
    const error = list.aggregate(9)
    expect(error).toBeInstanceOf(AggregateError)
    expect(error.message).toBe('4 of 9 items failed')
    expect(error.errors).toEqual(['e0', 'e1', 'e4', 'e7'])
    const inOrder = new ErrorList()
    for (const index of [2, 3]) inOrder.add(index, index)
    expect(inOrder.aggregate(4).errors).toEqual([2, 3])
  })
})

describe('SettledRecords', () => {
  it('builds both shapes, with the start on the wall clock and the duration on the monotonic one', () => {
    vi.useFakeTimers({ now: 1_000_000 })
    const clock = new PassClock()
    const records = new SettledRecords(clock)
    const task = new Task('item', 3, undefined)
    vi.advanceTimersByTime(5)
    records.started(task)
    clock.passEnded()
    vi.advanceTimersByTime(20)
    expect(records.record(task, true, 'v', 2)).toEqual({
      status: 'fulfilled',
      value: 'v',
      item: 'item',
      index: 3,
      attempts: 2,
      startedAt: 1_000_005,
      duration: 20,
    })
    const error = new Error('no')
    expect(records.record(task, false, error, 1)).toEqual({
      status: 'rejected',
      reason: error,
      item: 'item',
      index: 3,
      attempts: 1,
      startedAt: 1_000_005,
      duration: 20,
    })
  })
})

afterEach(() => {
  vi.useRealTimers()
})

describe("onError: 'continue'", () => {
  it('leaves failed items out, processes all others, then throws an AggregateError in input order', async () => {
    const errors = new Map([3, 7, 8].map((i) => [i, new Error(`item ${i}`)]))
    for (const ordered of [true, false]) {
      const processed: number[] = []
      const iterator = parallelMap(
        async (x: number) => {
          // Later items fail first, so that completion order differs from input order.
          await ticks(10 - x)
          processed.push(x)
          const error = errors.get(x)
          if (error) throw error
          return x
        },
        { concurrency: 4, ordered, onError: 'continue' },
      )(range(10))
      const out: number[] = []
      const error = await rejection(
        (async () => {
          for await (const value of iterator) out.push(value)
        })(),
      )
      expect(error).toBeInstanceOf(AggregateError)
      expect((error as AggregateError).errors).toEqual([errors.get(3), errors.get(7), errors.get(8)])
      expect((error as AggregateError).errors[0]).toBe(errors.get(3))
      expect(processed.sort((a, b) => a - b)).toEqual(range(10))
      const expected = [0, 1, 2, 4, 5, 6, 9]
      expect(ordered ? out : out.sort((a, b) => a - b)).toEqual(expected)
    }
  })

  it('lists the failures in input order even when they happen in reverse', async () => {
    const tasks = new Tasks<number>()
    const iterator = parallelMap(tasks.fn, { concurrency: 3, onError: 'continue' })(range(3))
    const result = rejection(iterator.next())
    await ticks()
    const errors = range(3).map((i) => new Error(`item ${i}`))
    for (const i of [2, 1, 0]) {
      tasks.call(i).reject(errors[i])
      await ticks()
    }
    const error = (await result) as AggregateError
    expect(error.errors).toHaveLength(3)
    error.errors.forEach((e, i) => expect(e).toBe(errors[i]))
  })

  it('does not abort siblings when an item fails', async () => {
    const tasks = new Tasks<number>()
    const iterator = parallelMap(tasks.fn, { concurrency: 3, onError: 'continue' })(range(3))
    const first = iterator.next()
    await ticks()
    tasks.call(0).reject(new Error('zero'))
    await ticks()
    expect(tasks.aborted()).toEqual([])
    tasks.call(1).resolve(1)
    expect(await first).toEqual({ done: false, value: 1 })
    tasks.call(2).resolve(2)
    expect(await iterator.next()).toEqual({ done: false, value: 2 })
    const error = await rejection(iterator.next())
    expect((error as AggregateError).errors).toEqual([new Error('zero')])
  })

  it('ordered: failed items at the head free their read-ahead room (no stall)', async () => {
    for (const concurrency of [1, 2]) {
      const fn = (x: number) => {
        if (x < 2 * concurrency) throw new Error(`${x}`)
        return x
      }
      // Default readAhead (2 * concurrency): the first read-ahead window fails entirely.
      const run = rejection(collect(parallelMap(fn, { concurrency, onError: 'continue' })(range(6))))
      expect(await isSettled(run)).toBe(true)
      expect(((await run) as AggregateError).errors).toHaveLength(2 * concurrency)
    }
    const failsAtOnce = async (x: number) => {
      if (x % 2 === 0) throw new Error(`${x}`)
      return x
    }
    const out: number[] = []
    const run = rejection(
      (async () => {
        for await (const x of parallelMap(failsAtOnce, { concurrency: 1, readAhead: 1, onError: 'continue' })(range(6))) {
          out.push(x)
        }
      })(),
    )
    expect(await isSettled(run)).toBe(true)
    expect(out).toEqual([1, 3, 5])
  })

  it('ends normally when nothing failed', async () => {
    expect(await collect(parallelMap(double, { onError: 'continue' })(range(4)))).toEqual([0, 2, 4, 6])
  })
})

describe('parallelMapSettled', () => {
  it('yields a record per item, in input order, and never throws for a task failure', async () => {
    vi.useFakeTimers({ now: 1_000_000 })
    const boom = new Error('boom')
    const iterator = parallelMapSettled(
      (x: string, { attempt }: TaskContext) =>
        new Promise<string>((resolve, reject) =>
          setTimeout(() => {
            if (x === 'b') reject(boom)
            else if (x === 'c' && attempt === 1) reject(new Error('flaky'))
            else resolve(x.toUpperCase())
          }, 10 * (x.charCodeAt(0) - 96)),
        ),
      { concurrency: 3, retry: { retries: 1, minDelay: 5, shouldRetry: (e) => e !== boom } },
    )(['a', 'b', 'c'])
    const all = collect(iterator)
    await vi.advanceTimersByTimeAsync(200)
    const records = await all
    expect(records).toEqual<Settled<string, string>[]>([
      { status: 'fulfilled', value: 'A', item: 'a', index: 0, attempts: 1, startedAt: 1_000_000, duration: 10 },
      { status: 'rejected', reason: boom, item: 'b', index: 1, attempts: 1, startedAt: 1_000_000, duration: 20 },
      { status: 'fulfilled', value: 'C', item: 'c', index: 2, attempts: 2, startedAt: 1_000_000, duration: 30 + 5 + 30 },
    ])
    expect(records[1]!.status === 'rejected' && records[1]!.reason).toBe(boom)
  })

  it('records a timeout as a rejected item with TimeoutError, and keeps going', async () => {
    vi.useFakeTimers()
    const all = collect(
      parallelMapSettled((x: number) => (x === 1 ? new Promise<number>(() => {}) : x), { timeout: 20 })(range(3)),
    )
    await vi.advanceTimersByTimeAsync(20)
    const records = await all
    expect(records.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    expect(records[1]!.status === 'rejected' && records[1]!.reason).toBeInstanceOf(TimeoutError)
    expect(records[1]!.duration).toBe(20)
  })

  it('as-completed, with the start time of each item', async () => {
    vi.useFakeTimers({ now: 0 })
    const all = collect(
      parallelMapSettled((x: number) => new Promise((resolve) => setTimeout(() => resolve(x), 100 - x * 10)), {
        concurrency: 1,
        ordered: false,
      })(range(3)),
    )
    await vi.advanceTimersByTimeAsync(1000)
    const records = await all
    expect(records.map((r) => [r.index, r.startedAt, r.duration])).toEqual([
      [0, 0, 100],
      [1, 100, 90],
      [2, 190, 80],
    ])
  })

  it('still throws a source error, and still honours the signal', async () => {
    const broken = new Error('source')
    async function* source() {
      yield 1
      throw broken
    }
    const iterator = parallelMapSettled(double)(source())
    expect(await iterator.next()).toMatchObject({ done: false, value: { status: 'fulfilled', value: 2 } })
    expect(await rejection(iterator.next())).toBe(broken)

    const controller = new AbortController()
    const reason = new Error('stop')
    const aborted = parallelMapSettled(() => new Promise(() => {}), { signal: controller.signal })([1])
    const next = aborted.next()
    controller.abort(reason)
    expect(await rejection(next)).toBe(reason)
  })
})
