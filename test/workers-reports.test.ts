import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { collect, type ItemReport } from '../src/index.js'
import { createPool, workerMap, type WorkerPool } from '../src/workers/index.js'
import { failOnUnhandledRejections } from './helpers.js'
import { rejection } from './workers-helpers.js'

// context.report(value) in a worker function, delivered to the run's onReport (issue 11).

const reporting = new URL('fixtures/reporting.mjs', import.meta.url)

failOnUnhandledRejections()

describe('workerMap: report(value) from a worker thread', () => {
  let pool: WorkerPool

  beforeAll(async () => {
    pool = createPool({ maxThreads: 2 })
    await collect(workerMap(reporting, { pool, exportName: 'many' })([0, 0]))
  })

  afterAll(async () => {
    await pool.destroy()
  })

  it('delivers every report to onReport, with its index and item, before the item settles', async () => {
    const events: string[] = []
    const onReport = ({ index, item, value }: ItemReport): void => {
      events.push(`${index}/${String(item)}: ${String(value)}`)
    }
    for await (const result of workerMap<number, number>(reporting, { pool, exportName: 'many', onReport })([300, 200])) {
      events.push(`result ${result}`)
    }
    const expected = (index: number, count: number) => Array.from({ length: count }, (_, i) => `${index}/${count}: ${i}`)
    // Reports travel apart from results: an item is handed out only once all its reports have come.
    const results = events.map((event, at) => [event, at] as const).filter(([event]) => event.startsWith('result'))
    expect(results.map(([event]) => event)).toEqual(['result 300', 'result 200'])
    expect(events.slice(0, results[0]![1]).filter((event) => event.startsWith('0/'))).toEqual(expected(0, 300))
    expect(events.filter((event) => event.startsWith('1/'))).toEqual(expected(1, 200))
    expect(events.indexOf('1/200: 199')).toBeLessThan(results[1]![1])
  })

  it('delivers the reports of an async function, and of one that fails before it fails', async () => {
    const onReport = vi.fn()
    expect(await collect(workerMap(reporting, { pool, exportName: 'twice', onReport })(['a']))).toEqual(['a'])
    expect(onReport.mock.calls).toEqual([
      [{ index: 0, item: 'a', value: 'a started' }],
      [{ index: 0, item: 'a', value: 'a half done' }],
    ])
    onReport.mockClear()
    const error = await rejection(collect(workerMap(reporting, { pool, exportName: 'reportThenThrow', onReport })(['b'])))
    expect(error).toEqual(new RangeError('failed b'))
    expect(onReport.mock.calls).toEqual([[{ index: 0, item: 'b', value: 'before the error' }]])
  })

  it('ignores a report made after the item settled', async () => {
    const onReport = vi.fn()
    expect(await collect(workerMap(reporting, { pool, exportName: 'reportLate', onReport })([1]))).toEqual([1])
    await sleep(200)
    expect(onReport).not.toHaveBeenCalled()
  })

  it('makes report a no-op when the run has no onReport, with or without a timeout', async () => {
    expect(await collect(workerMap(reporting, { pool, exportName: 'twice' })(['c']))).toEqual(['c'])
    expect(await collect(workerMap(reporting, { pool, exportName: 'twice', timeout: 10_000 })(['d']))).toEqual(['d'])
  })

  it('reports and times out together', async () => {
    const onReport = vi.fn()
    const run = workerMap(reporting, { pool, exportName: 'twice', timeout: 10_000, onReport })
    expect(await collect(run(['e']))).toEqual(['e'])
    expect(onReport).toHaveBeenCalledTimes(2)
  })

  it('fails an item whose report cannot be cloned with a TypeError that says so', async () => {
    const run = workerMap(reporting, { pool, exportName: 'unclonableReport', onReport: () => {} })
    const error = await rejection(collect(run(['f'])))
    expect(error).toBeInstanceOf(TypeError)
    expect((error as Error).message).toMatch(/^The report of item 0 could not be cloned to the main thread: .*could not be cloned\.$/)
  })

  it('hands over intact a result that looks like a reported outcome', async () => {
    const lookalike = { 'foreach-parallel/workers:reported': 5, value: 'g' }
    expect(await collect(workerMap(reporting, { pool, exportName: 'lookalike' })(['g']))).toEqual([lookalike])
    const run = workerMap(reporting, { pool, exportName: 'lookalike', onReport: () => {} })
    expect(await collect(run(['g']))).toEqual([lookalike])
  })
})
