import { describe, expect, it } from 'vitest'
import { ProgressCounter } from '../src/progress.js'

describe('ProgressCounter', () => {
  it('starts at zero', () => {
    const counter = new ProgressCounter(undefined, 1000)
    expect(counter.snapshot(1000)).toEqual({
      started: 0,
      running: 0,
      succeeded: 0,
      failed: 0,
      done: 0,
      limit: 0,
      elapsedMs: 0,
      perSecond: 0,
    })
  })

  it('derives done, elapsedMs and perSecond from the counts and the clock', () => {
    const counter = new ProgressCounter(undefined, 1000)
    counter.started = 6
    counter.running = 2
    counter.succeeded = 3
    counter.failed = 1
    counter.limit = 4
    expect(counter.snapshot(3000)).toEqual({
      started: 6,
      running: 2,
      succeeded: 3,
      failed: 1,
      done: 4,
      limit: 4,
      elapsedMs: 2000,
      perSecond: 2,
    })
  })

  it('with a total, adds percent, and etaMs once an item has finished', () => {
    const counter = new ProgressCounter(10, 0)
    const before = counter.snapshot(500)
    expect(before).toMatchObject({ total: 10, percent: 0 })
    expect(before).not.toHaveProperty('etaMs')
    counter.succeeded = 4
    expect(counter.snapshot(2000)).toMatchObject({ total: 10, percent: 40, perSecond: 2, etaMs: 3000 })
    counter.succeeded = 10
    expect(counter.snapshot(5000)).toMatchObject({ percent: 100, etaMs: 0 })
  })

  it('without a total, has no total, percent or etaMs', () => {
    const counter = new ProgressCounter(undefined, 0)
    counter.succeeded = 5
    const progress = counter.snapshot(100)
    expect(Object.keys(progress).sort()).toEqual(
      ['done', 'elapsedMs', 'failed', 'limit', 'perSecond', 'running', 'started', 'succeeded'].sort(),
    )
  })

  it('caps percent at 100 and etaMs at 0 when more items finish than announced', () => {
    const counter = new ProgressCounter(2, 0)
    counter.succeeded = 3
    expect(counter.snapshot(300)).toMatchObject({ percent: 100, etaMs: 0 })
  })

  it('counts an empty announced run as complete', () => {
    expect(new ProgressCounter(0, 0).snapshot(10)).toMatchObject({ total: 0, percent: 100 })
  })

  it('uses performance.now() by default', () => {
    const counter = new ProgressCounter()
    const progress = counter.snapshot()
    expect(progress.elapsedMs).toBeGreaterThanOrEqual(0)
    expect(progress.elapsedMs).toBeLessThan(60_000)
  })
})
