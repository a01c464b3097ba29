import { afterEach, describe, expect, it, vi } from 'vitest'
import { collect, parallelMap, type ItemReport, type Progress, type TaskContext } from '../../src/index.js'
import { ITEM_SETTLED } from '../../src/internal/item-report.js'
import { failOnUnhandledRejections, naturals, range, Tasks, ticks } from '../helpers.js'
import { double, rejection } from './helpers.js'

failOnUnhandledRejections()

afterEach(() => {
  vi.useRealTimers()
})

describe('onProgress', () => {
  it('reports at least once per finished item and once at the end, with consistent fields', async () => {
    const reports: Progress[] = []
    const out = await collect(
      parallelMap(
        async (x: number) => {
          await ticks(x % 3)
          if (x === 4) throw new Error('four')
          return x
        },
        { concurrency: 3, onError: 'continue', onProgress: (p) => reports.push(p), total: 10 },
      )(range(10)),
    ).catch((error: unknown) => error)
    expect(out).toBeInstanceOf(AggregateError)
    expect(reports.length).toBeGreaterThanOrEqual(11)
    for (const p of reports) {
      expect(p.done).toBe(p.succeeded + p.failed)
      expect(p.started).toBe(p.done + p.running)
      expect(p.running).toBeLessThanOrEqual(3)
      expect(p.total).toBe(10)
      expect(p.percent).toBe((100 * p.done) / 10)
      expect(p.elapsedMs).toBeGreaterThanOrEqual(0)
      expect(p.perSecond).toBeGreaterThanOrEqual(0)
    }
    for (let done = 1; done <= 10; done++) expect(reports.some((p) => p.done === done)).toBe(true)
    const last = reports.at(-1)!
    expect(last).toMatchObject({ started: 10, running: 0, succeeded: 9, failed: 1, done: 10, percent: 100, etaMs: 0 })
  })

  it('computes elapsedMs, perSecond and etaMs from the clock', async () => {
    vi.useFakeTimers()
    const reports: Progress[] = []
    const all = collect(
      parallelMap(
        (x: number) => new Promise<number>((resolve) => setTimeout(() => resolve(x), 100)),
        { concurrency: 1, total: 4, onProgress: (p) => reports.push(p) },
      )(range(4)),
    )
    await vi.advanceTimersByTimeAsync(100)
    expect(reports[0]).toEqual({
      started: 1,
      running: 0,
      succeeded: 1,
      failed: 0,
      done: 1,
      limit: 1,
      total: 4,
      percent: 25,
      elapsedMs: 100,
      perSecond: 10,
      etaMs: 300,
    })
    await vi.advanceTimersByTimeAsync(300)
    expect(await all).toEqual(range(4))
    expect(reports.at(-1)).toMatchObject({ done: 4, percent: 100, elapsedMs: 400, perSecond: 10, etaMs: 0 })
  })

  it('leaves total, percent and etaMs out without total', async () => {
    const reports: Progress[] = []
    await collect(parallelMap(double, { onProgress: (p) => reports.push(p) })(range(3)))
    expect(reports.length).toBeGreaterThanOrEqual(4)
    for (const p of reports) {
      expect(p).not.toHaveProperty('total')
      expect(p).not.toHaveProperty('percent')
      expect(p).not.toHaveProperty('etaMs')
    }
  })

  it('reports once more at the end of an early exit', async () => {
    const reports: Progress[] = []
    const iterator = parallelMap(double, { concurrency: 2, onProgress: (p) => reports.push(p) })(naturals())
    await iterator.next()
    await ticks()
    const count = reports.length
    await iterator.return!()
    expect(reports.length).toBe(count + 1)
    expect(reports.at(-1)!.running).toBe(0)
  })

  it('a throwing onProgress fails the run with its error', async () => {
    const thrown = new Error('progress broke')
    const error = await rejection(
      collect(
        parallelMap(double, {
          onProgress: () => {
            throw thrown
          },
        })(range(5)),
      ),
    )
    expect(error).toBe(thrown)
  })
})

describe('onReport', () => {
  it("delivers every report of a running item as { index, item, value }, in the order they come", async () => {
    const reports: ItemReport[] = []
    const tasks = new Tasks<string>()
    const iterator = parallelMap(
      (item: string, context: TaskContext) => {
        context.report(1)
        context.report({ step: 2 })
        return tasks.fn(item, context)
      },
      { concurrency: 2, onReport: (report) => reports.push(report) },
    )(['a', 'b'])
    const results = [iterator.next(), iterator.next()]
    await ticks()
    tasks.call('b').context.report('late but running')
    expect(reports).toEqual([
      { index: 0, item: 'a', value: 1 },
      { index: 0, item: 'a', value: { step: 2 } },
      { index: 1, item: 'b', value: 1 },
      { index: 1, item: 'b', value: { step: 2 } },
      { index: 1, item: 'b', value: 'late but running' },
    ])
    tasks.call('a').resolve('A')
    tasks.call('b').resolve('B')
    expect(await Promise.all(results)).toEqual([{ done: false, value: 'A' }, { done: false, value: 'B' }])
  })

  it('ignores, and never throws for, a report after the item settled or from an attempt a retry replaced', async () => {
    const reports: unknown[] = []
    const kept: ((value: unknown) => void)[] = []
    await collect(
      parallelMap(
        (x: number, { attempt, report }: TaskContext) => {
          kept.push(report)
          report(`attempt ${attempt}`)
          if (attempt === 1) throw new Error('again')
          return x
        },
        { retry: { retries: 1, minDelay: 0 }, onReport: ({ value }) => reports.push(value) },
      )([0]),
    )
    expect(() => kept.forEach((report) => report('too late'))).not.toThrow()
    expect(reports).toEqual(['attempt 1', 'attempt 2'])
  })

  it('a throwing onReport fails the run as a source error does: ordered, the items in flight finish first', async () => {
    const thrown = new Error('report broke')
    const tasks = new Tasks<number>()
    const iterator = parallelMap(
      (x: number, context: TaskContext) => {
        if (x === 1) context.report('boom')
        return tasks.fn(x, context)
      },
      {
        concurrency: 2,
        onReport: () => {
          throw thrown
        },
      },
    )(naturals())
    const results = range(3).map(() => iterator.next())
    await ticks()
    expect(tasks.items()).toEqual([0, 1])
    expect(tasks.aborted()).toEqual([])
    tasks.call(0).resolve(0)
    tasks.call(1).resolve(1)
    expect(await Promise.all(results.slice(0, 2))).toEqual([0, 1].map((value) => ({ done: false, value })))
    expect(await rejection(results[2]!)).toBe(thrown)
    expect(tasks.items()).toEqual([0, 1])
  })

  it('tells the private ITEM_SETTLED hook of the end of each item that reported, once it has settled', async () => {
    const events: string[] = []
    const onReport = Object.assign((report: ItemReport) => events.push(`report ${report.index}`), {
      [ITEM_SETTLED]: (index: number) => events.push(`settled ${index}`),
    })
    const tasks = new Tasks<number>()
    const iterator = parallelMap(
      (x: number, context: TaskContext) => {
        if (x !== 1) context.report(x)
        return tasks.fn(x, context)
      },
      { concurrency: 3, onReport, onError: 'continue' },
    )(range(3))
    const all = collect(iterator).catch((error: unknown) => error)
    await ticks()
    expect(events).toEqual(['report 0', 'report 2'])
    tasks.call(2).reject(new Error('two'))
    tasks.call(1).resolve(1)
    await ticks()
    expect(events).toEqual(['report 0', 'report 2', 'settled 2'])
    tasks.call(0).resolve(0)
    expect(await all).toBeInstanceOf(AggregateError)
    expect(events).toEqual(['report 0', 'report 2', 'settled 2', 'settled 0'])
  })
})
