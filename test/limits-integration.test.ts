import { describe, expect, it } from 'vitest'
import { adaptiveConcurrency, collect, concurrencyLimit, merge, parallelMap, type Progress } from '../src/index.js'
import { failOnUnhandledRejections, range, Tasks, ticks } from './helpers.js'

failOnUnhandledRejections()

/** Settles every running call of `tasks` (oldest first) with its item. */
function finishRunning<T>(tasks: Tasks<T, T>, count = Infinity): void {
  let done = 0
  for (const call of tasks.calls) {
    if (done >= count) break
    if (!call.settled) {
      call.resolve(call.item)
      call.settled = true
      done++
    }
  }
}

/** Settles calls until the run ends, `ticks` between rounds. */
async function finishAll<T>(tasks: Tasks<T, T>, result: Promise<unknown>): Promise<void> {
  let ended = false
  void result.then(
    () => (ended = true),
    () => (ended = true),
  )
  for (let round = 0; round < 1000 && !ended; round++) {
    finishRunning(tasks)
    await ticks()
  }
}

describe('a concurrencyLimit shared through parallelMap', () => {
  it('caps the sum of two pipelines, and of a merge of them, at exactly the limit', async () => {
    const limiter = concurrencyLimit(2)
    let running = 0
    let maxRunning = 0
    const a = new Tasks<number>()
    const b = new Tasks<number>()
    const watch = (tasks: Tasks<number>) => (n: number, context: Parameters<Tasks<number>['fn']>[1]) => {
      running++
      maxRunning = Math.max(maxRunning, running)
      return tasks.fn(n, context).finally(() => running--)
    }
    const one = collect(parallelMap(watch(a), { concurrency: limiter })(range(6)))
    const two = collect(parallelMap(watch(b), { concurrency: limiter })(range(6).map((n) => n + 100)))
    await ticks()
    expect(running).toBe(2)
    expect(limiter.running).toBe(2)
    await Promise.all([finishAll(a, one), finishAll(b, two)])
    expect(await one).toEqual(range(6))
    expect(await two).toEqual(range(6).map((n) => n + 100))
    expect(maxRunning).toBe(2)
    // Both pipelines got slots: the limit is shared, not taken by the first.
    expect(a.calls.length).toBe(6)
    expect(b.calls.length).toBe(6)
    expect(limiter.running).toBe(0)

    // The same through a merge.
    running = 0
    maxRunning = 0
    const c = new Tasks<number>()
    const d = new Tasks<number>()
    const merged = collect(
      merge(parallelMap(watch(c), { concurrency: limiter })(range(5)), parallelMap(watch(d), { concurrency: limiter })(range(5))),
    )
    await ticks()
    expect(running).toBe(2)
    for (let i = 0; i < 100; i++) {
      finishRunning(c, 1)
      finishRunning(d, 1)
      await ticks()
      expect(running).toBeLessThanOrEqual(2)
    }
    expect((await merged).length).toBe(10)
    expect(maxRunning).toBe(2)
  })

  it('raising the limit starts more at once; lowering it starts nothing until running < limit; change fires', async () => {
    const limiter = concurrencyLimit(2)
    const seen: number[] = []
    limiter.addEventListener('change', () => seen.push(limiter.limit))
    const tasks = new Tasks<number>()
    const result = collect(parallelMap(tasks.fn, { concurrency: limiter })(range(20)))
    await ticks()
    expect(tasks.running).toBe(2)

    limiter.limit = 5
    await ticks()
    expect(tasks.running).toBe(5)
    expect(tasks.calls.length).toBe(5)

    limiter.limit = 2
    await ticks()
    expect(tasks.running).toBe(5) // running calls go on
    finishRunning(tasks, 1)
    await ticks()
    expect(tasks.running).toBe(4) // 4 running, limit 2: nothing starts
    expect(tasks.calls.length).toBe(5)
    finishRunning(tasks, 2)
    await ticks()
    expect(tasks.running).toBe(2)
    expect(tasks.calls.length).toBe(5)
    finishRunning(tasks, 1)
    await ticks()
    expect(tasks.running).toBe(2) // one ended, one started
    expect(tasks.calls.length).toBe(6)

    expect(seen).toEqual([5, 2])
    await finishAll(tasks, result)
    expect(await result).toEqual(range(20))
    expect(tasks.maxRunning).toBe(5)
  })
  it('loses no result when a call that ends frees the slot its own run waits for (limit 1)', async () => {
    // Regression: the slot was freed before the result was stored, the limiter woke the run at
    // once, the run found the source done and nothing running, and ended without the last result.
    const tasks = new Tasks<number>()
    const result = collect(parallelMap(tasks.fn, { concurrency: concurrencyLimit(1) })(range(6)))
    await finishAll(tasks, result)
    expect(await result).toEqual(range(6))
  })
})

describe('pause() and resume() through parallelMap', () => {
  it('pause starts nothing new while running calls go on; resume fills up again', async () => {
    const limiter = concurrencyLimit(3)
    const tasks = new Tasks<number>()
    const iterator = parallelMap(tasks.fn, { concurrency: limiter })(range(10))
    const result = collect(iterator)
    await ticks()
    expect(tasks.running).toBe(3)

    limiter.pause()
    expect(limiter.paused).toBe(true)
    limiter.pause() // harmless
    finishRunning(tasks, 2)
    await ticks()
    expect(tasks.running).toBe(1) // the running call goes on, nothing new starts
    expect(tasks.calls.length).toBe(3)
    finishRunning(tasks, 1)
    await ticks()
    expect(tasks.running).toBe(0)
    expect(tasks.calls.length).toBe(3)

    limiter.resume()
    expect(limiter.paused).toBe(false)
    await ticks()
    expect(tasks.running).toBe(3)
    expect(tasks.calls.length).toBe(6)
    limiter.resume() // harmless

    await finishAll(tasks, result)
    expect(await result).toEqual(range(10))
    expect(tasks.maxRunning).toBe(3)
  })
})

describe('key + keyConcurrency through parallelMap', () => {
  it('caps each key, lets other keys pass a busy one, keeps input order', async () => {
    const tasks = new Tasks<string>()
    // Three 'a' items first: with keyConcurrency 1 only one 'a' may run; 'b' and 'c' must not wait.
    const items = ['a1', 'a2', 'a3', 'b1', 'b2', 'c1', 'a4', 'c2']
    const key = (s: string): string => s[0]!
    const result = collect(parallelMap(tasks.fn, { concurrency: 3, key, keyConcurrency: 1, readAhead: 8 })(items))
    await ticks()
    expect(tasks.items()).toEqual(['a1', 'b1', 'c1'])

    const perKeyMax = new Map<string, number>()
    for (let round = 0; round < 100; round++) {
      const running = tasks.calls.filter((c) => !c.settled)
      const perKey = new Map<string, number>()
      for (const call of running) perKey.set(key(call.item), (perKey.get(key(call.item)) ?? 0) + 1)
      for (const [k, n] of perKey) perKeyMax.set(k, Math.max(perKeyMax.get(k) ?? 0, n))
      expect(running.length).toBeLessThanOrEqual(3)
      // Settle the newest first, so that output order differs from completion order.
      const last = running.at(-1)
      if (last === undefined) break
      last.resolve(last.item)
      last.settled = true
      await ticks()
    }
    expect(await result).toEqual(items)
    expect([...perKeyMax.values()].every((n) => n === 1)).toBe(true)
    expect(tasks.maxRunning).toBe(3)
  })

  it('allows keyConcurrency per key within the global concurrency', async () => {
    const tasks = new Tasks<string>()
    const items = ['a1', 'a2', 'a3', 'a4', 'b1', 'b2', 'b3']
    const result = collect(parallelMap(tasks.fn, { concurrency: 3, key: (s: string) => s[0]!, keyConcurrency: 2, readAhead: 7 })(items))
    await ticks()
    expect(tasks.items()).toEqual(['a1', 'a2', 'b1'])
    await finishAll(tasks, result)
    expect(await result).toEqual(items)
  })

  it('a key function that throws fails that item, as fn throwing would', async () => {
    const boom = new Error('no key')
    const tasks = new Tasks<number>()
    const key = (n: number): string => {
      if (n === 2) throw boom
      return String(n % 2)
    }
    const result = collect(parallelMap(tasks.fn, { concurrency: 2, key, keyConcurrency: 1, onError: 'continue' })(range(5)))
    await finishAll(tasks, result)
    const error = await result.then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(AggregateError)
    expect((error as AggregateError).errors).toEqual([boom])
    expect(tasks.items()).not.toContain(2)

    const aborting = collect(parallelMap((n: number) => n, { key, keyConcurrency: 1 })(range(5)))
    await expect(aborting).rejects.toBe(boom)

    const notString = collect(parallelMap((n: number) => n, { key: (() => 1) as unknown as (n: number) => string, keyConcurrency: 1 })([0]))
    await expect(notString).rejects.toBeInstanceOf(TypeError)
  })

  it('bad key options are a TypeError at creation', () => {
    expect(() => parallelMap((n: number) => n, { keyConcurrency: 2 })).toThrow(TypeError)
    expect(() => parallelMap((n: number) => n, { key: 'host' as unknown as (n: number) => string, keyConcurrency: 2 })).toThrow(TypeError)
    expect(() => parallelMap((n: number) => n, { key: (n: number) => String(n) })).toThrow(TypeError)
    expect(() => parallelMap((n: number) => n, { key: (n: number) => String(n), keyConcurrency: 0 })).toThrow(RangeError)
  })
})

describe("concurrency: 'auto' and Progress.limit", () => {
  it("'auto' runs end to end with min <= limit <= max in every Progress", async () => {
    const limits: number[] = []
    const result = await collect(
      parallelMap(async (n: number) => n * 2, { concurrency: 'auto', onProgress: (p: Progress) => limits.push(p.limit) })(range(200)),
    )
    expect(result).toEqual(range(200).map((n) => n * 2))
    expect(limits.length).toBeGreaterThan(0)
    expect(limits.every((l) => Number.isInteger(l) && l >= 1 && l <= 256)).toBe(true)

    const limiter = adaptiveConcurrency({ min: 2, max: 6, initial: 3 })
    const bounded: number[] = []
    await collect(parallelMap(async (n: number) => n, { concurrency: limiter, onProgress: (p) => bounded.push(p.limit) })(range(300)))
    expect(bounded.every((l) => l >= 2 && l <= 6)).toBe(true)
    expect(limiter.limit).toBeGreaterThanOrEqual(2)
    expect(limiter.limit).toBeLessThanOrEqual(6)
  })

  it('Progress.limit reflects a live concurrencyLimit change', async () => {
    const limiter = concurrencyLimit(2)
    const seen: number[] = []
    const tasks = new Tasks<number>()
    const result = collect(parallelMap(tasks.fn, { concurrency: limiter, onProgress: (p) => seen.push(p.limit) })(range(6)))
    await ticks()
    finishRunning(tasks, 1)
    await ticks()
    expect(seen.at(-1)).toBe(2)
    limiter.limit = 4
    await ticks()
    finishRunning(tasks, 1)
    await ticks()
    expect(seen.at(-1)).toBe(4)
    await finishAll(tasks, result)
    expect(seen.at(-1)).toBe(4)
    expect(await result).toEqual(range(6))
  })
})
