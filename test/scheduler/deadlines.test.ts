import { afterEach, describe, expect, it, vi } from 'vitest'
import { collect, parallelMap, TimeoutError, type Progress, type TaskContext } from '../../src/index.js'
import { Context } from '../../src/scheduler/context.js'
import { Deadlines } from '../../src/scheduler/deadlines.js'
import { Task } from '../../src/scheduler/task.js'
import { failOnUnhandledRejections, isSettled, range, ticks } from '../helpers.js'
import { rejection } from './helpers.js'

failOnUnhandledRejections()

afterEach(() => {
  vi.useRealTimers()
})

function contexts(count: number): Context[] {
  return range(count).map((i) => new Context(new Task(i, i, undefined), 1))
}

describe('Deadlines', () => {
  it('keeps one timer for any number of deadlines and expires them oldest first, at their time', async () => {
    vi.useFakeTimers()
    const expired: number[] = []
    const deadlines = new Deadlines(100, (context) => expired.push(context.index))
    const [a, b, c] = contexts(3)
    deadlines.add(a!)
    await vi.advanceTimersByTimeAsync(30)
    deadlines.add(b!)
    deadlines.add(c!)
    // The timer, and the one clock reading to come that stamps b and c.
    expect(vi.getTimerCount()).toBe(2)
    await vi.advanceTimersByTimeAsync(69)
    expect(vi.getTimerCount()).toBe(1)
    expect(expired).toEqual([])
    await vi.advanceTimersByTimeAsync(1)
    expect(expired).toEqual([0])
    expect(vi.getTimerCount()).toBe(1)
    await vi.advanceTimersByTimeAsync(29)
    expect(expired).toEqual([0])
    await vi.advanceTimersByTimeAsync(1)
    expect(expired).toEqual([0, 1, 2])
    expect(vi.getTimerCount()).toBe(0)
  })

  it('stamps the deadlines added in a turn of the event loop with one clock reading at its end: late, never early', async () => {
    let now = 1000
    const reading = vi.spyOn(performance, 'now').mockImplementation(() => now)
    try {
      const deadlines = new Deadlines(100, () => {})
      const added = contexts(50).map((context) => deadlines.add(context))
      expect(added.every((deadline) => Number.isNaN(deadline.at))).toBe(true)
      // The turn that started the attempts goes on for 30 ms before it ends.
      now = 1030
      expect(reading).not.toHaveBeenCalled()
      await new Promise((resolve) => setImmediate(resolve))
      expect(reading).toHaveBeenCalledTimes(1)
      expect(added.map((deadline) => deadline.at)).toEqual(added.map(() => 1130))
      // A deadline removed before its stamp leaves the others to it.
      const [first, second] = contexts(2).map((context) => deadlines.add(context))
      deadlines.remove(first!)
      now = 1040
      await new Promise((resolve) => setImmediate(resolve))
      expect(reading).toHaveBeenCalledTimes(2)
      expect(first!.at).toBeNaN()
      expect(second!.at).toBe(1140)
      deadlines.clear()
    } finally {
      reading.mockRestore()
    }
  })

  it('sets no timer when every deadline left before its stamp', async () => {
    vi.useFakeTimers()
    const deadlines = new Deadlines(100, () => {})
    const [a, b] = contexts(2)
    deadlines.remove(deadlines.add(a!))
    deadlines.remove(deadlines.add(b!))
    expect(vi.getTimerCount()).toBe(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('clear() cancels a stamp to come: the clock is not read after the run', async () => {
    const reading = vi.spyOn(performance, 'now')
    try {
      const deadlines = new Deadlines(100, () => {})
      deadlines.add(contexts(1)[0]!)
      deadlines.clear()
      await new Promise((resolve) => setImmediate(resolve))
      expect(reading).not.toHaveBeenCalled()
    } finally {
      reading.mockRestore()
    }
  })

  it('forgets a removed deadline, moves the timer on when it fires for one, and clear() stops everything', async () => {
    vi.useFakeTimers()
    const expired: number[] = []
    const deadlines = new Deadlines(100, (context) => expired.push(context.index))
    const [a, b, c] = contexts(3)
    const first = deadlines.add(a!)
    await vi.advanceTimersByTimeAsync(50)
    const second = deadlines.add(b!)
    deadlines.remove(first)
    // The timer was set for the first deadline: it fires, finds nothing due, and waits for the second.
    await vi.advanceTimersByTimeAsync(50)
    expect(expired).toEqual([])
    expect(vi.getTimerCount()).toBe(1)
    deadlines.remove(second)
    deadlines.add(c!)
    deadlines.clear()
    expect(vi.getTimerCount()).toBe(0)
    await vi.advanceTimersByTimeAsync(1000)
    expect(expired).toEqual([])
  })

  it('an expiry that adds a deadline keeps the timer on the head; one that ends the run leaves no timer', async () => {
    vi.useFakeTimers()
    const expired: number[] = []
    const [a, b, c] = contexts(3)
    const deadlines: Deadlines = new Deadlines(10, (context) => {
      expired.push(context.index)
      if (context === a) deadlines.add(c!)
      else deadlines.clear()
    })
    deadlines.add(a!)
    await vi.advanceTimersByTimeAsync(5)
    deadlines.add(b!)
    await vi.advanceTimersByTimeAsync(5)
    expect(expired).toEqual([0])
    // The timer for b, and the reading that stamps c.
    expect(vi.getTimerCount()).toBe(2)
    // b is due at 15, before c (20): it expires on time, and its expiry clears everything.
    await vi.advanceTimersByTimeAsync(5)
    expect(expired).toEqual([0, 1])
    expect(vi.getTimerCount()).toBe(0)
  })
})

describe('per-item timeout', () => {
  it('runs one timer for the whole run, however many items are in flight, and none once it ends', async () => {
    vi.useFakeTimers()
    let resolveAll!: () => void
    const gate = new Promise<void>((resolve) => (resolveAll = resolve))
    const iterator = parallelMap(async (x: number) => (await gate, x), { concurrency: 50, timeout: 1000 })(range(200))
    const all = collect(iterator)
    await ticks()
    expect(vi.getTimerCount()).toBe(1)
    resolveAll()
    expect(await all).toEqual(range(200))
    expect(vi.getTimerCount()).toBe(0)
  })

  it('fails an item that ignores its signal with TimeoutError at the deadline, and frees its slot then', async () => {
    vi.useFakeTimers()
    const calls: { item: number; context: TaskContext }[] = []
    const iterator = parallelMap(
      (item: number, context: TaskContext) => {
        calls.push({ item, context })
        return item === 0 ? new Promise<number>(() => {}) : Promise.resolve(item)
      },
      { concurrency: 1, timeout: 100, onError: 'continue' },
    )(range(3))
    const results = [iterator.next(), iterator.next(), rejection(iterator.next())]
    await vi.advanceTimersByTimeAsync(99)
    expect(calls.map((c) => c.item)).toEqual([0])
    expect(calls[0]!.context.signal.aborted).toBe(false)
    await vi.advanceTimersByTimeAsync(1)
    expect(calls.map((c) => c.item)).toEqual([0, 1, 2])
    const reason = calls[0]!.context.signal.reason
    expect(reason).toBeInstanceOf(TimeoutError)
    expect(await results[0]).toEqual({ done: false, value: 1 })
    expect(await results[1]).toEqual({ done: false, value: 2 })
    const error = (await results[2]) as AggregateError
    expect(error.errors).toHaveLength(1)
    expect(error.errors[0]).toBe(reason)
    expect(vi.getTimerCount()).toBe(0)
  })

  it("under 'abort' rejects next() with the TimeoutError even though the call never settles", async () => {
    vi.useFakeTimers()
    const iterator = parallelMap(() => new Promise<never>(() => {}), { timeout: 50 })([1, 2])
    const next = rejection(iterator.next())
    await vi.advanceTimersByTimeAsync(49)
    expect(await isSettled(next)).toBe(false)
    await vi.advanceTimersByTimeAsync(1)
    const error = await next
    expect(error).toBeInstanceOf(TimeoutError)
    expect((error as Error).name).toBe('TimeoutError')
    expect(vi.getTimerCount()).toBe(0)
  })

  it('leaves a call that finishes in time alone and clears its timer', async () => {
    vi.useFakeTimers()
    const iterator = parallelMap(
      async (x: number, { signal }: TaskContext) => {
        await new Promise((resolve) => setTimeout(resolve, 99))
        expect(signal.aborted).toBe(false)
        return x
      },
      { timeout: 100 },
    )(range(3))
    const all = collect(iterator)
    await vi.advanceTimersByTimeAsync(99)
    expect(await all).toEqual(range(3))
    expect(vi.getTimerCount()).toBe(0)
  })

  it('ignores the value of a timed-out call that resolves later', async () => {
    vi.useFakeTimers()
    const reports: Progress[] = []
    const all = rejection(
      collect(
        parallelMap(
          (x: number) => new Promise<number>((resolve) => setTimeout(() => resolve(x), x === 0 ? 200 : 10)),
          { concurrency: 1, timeout: 100, onError: 'continue', onProgress: (p) => reports.push(p) },
        )(range(3)),
      ),
    )
    await vi.advanceTimersByTimeAsync(300)
    const error = (await all) as AggregateError
    expect(error.errors.map((e) => (e as Error).name)).toEqual(['TimeoutError'])
    expect(reports.at(-1)).toMatchObject({ started: 3, running: 0, succeeded: 2, failed: 1, done: 3 })
    expect(reports.every((p) => p.running >= 0 && p.done <= 3)).toBe(true)
  })

  it('a timed-out call that settles later does not change the outcome', async () => {
    vi.useFakeTimers()
    const iterator = parallelMap(
      async (x: number) => {
        await new Promise((resolve) => setTimeout(resolve, 200))
        if (x === 0) throw new Error('too late to matter')
        return x
      },
      { timeout: 100, onError: 'continue' },
    )([0, 1])
    const all = rejection(collect(iterator))
    await vi.advanceTimersByTimeAsync(300)
    const error = (await all) as AggregateError
    expect(error.errors.map((e) => (e as Error).name)).toEqual(['TimeoutError', 'TimeoutError'])
  })
})
