import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { VegasController } from '../src/limits/vegas.js'

/** Drives a controller with whole windows of identical samples, in virtual time (ms). */
class Driver {
  now = 0
  constructor(readonly controller: VegasController) {}

  /**
   * `count` attempts (by default a full window: 40, or `inFlight` if more) that all start now and
   * end `latency` ms later with `inFlight` running; the clock then moves to their end. Returns the
   * limit after them.
   */
  window(latency: number, inFlight: number, { count = Math.max(40, inFlight), waiting = true } = {}): number {
    const startedAt = this.now
    this.now += latency
    for (let i = 0; i < count; i++) this.controller.sample(startedAt, this.now, inFlight, false, waiting)
    return this.controller.limit
  }

  overload(startedAt: number): number {
    return this.controller.sample(startedAt, this.now, this.controller.limit, true, true)
  }
}

function driver(initial = 10, min = 1, max = 40): Driver {
  return new Driver(new VegasController(min, max, initial))
}

/** Out of slow start at 20, with a no-load latency of 10 ms. */
function settled(): Driver {
  const d = driver()
  expect(d.window(10, 10)).toBe(20)
  expect(d.window(12, 20)).toBe(20) // 3.3 queued: in [alpha, beta] = [2, 4], slow start ends
  return d
}

describe('VegasController: exact limit changes for synthetic latencies', () => {
  it('doubles while the latency stays at its first level (slow start), up to max', () => {
    const d = driver(4, 1, 20)
    expect([d.window(10, 4), d.window(10, 8), d.window(10, 16), d.window(10, 20)]).toEqual([8, 16, 20, 20])
  })

  it('after slow start: grows by beta without a queue, by one with a little, holds in the band, cuts above it', () => {
    // at 20: alpha 2, beta 4
    expect(settled().window(10, 20)).toBe(24) // no queue
    expect(settled().window(10.5, 20)).toBe(24) // 0.95 queued: under alpha / 2
    expect(settled().window(11, 20)).toBe(21) // 1.8 queued
    expect(settled().window(12.5, 20)).toBe(20) // 4 queued: still in
    expect(settled().window(15, 20)).toBe(15) // 6.7 queued: down to what the service holds plus alpha
  })

  it('never cuts by more than half in one window', () => {
    expect(settled().window(100, 20)).toBe(10)
  })

  it('cuts on an overload by 10%, once for all the attempts that started before the cut', () => {
    const d = settled()
    const before = d.now
    d.now += 5
    expect(d.overload(before)).toBe(18)
    expect(d.overload(before + 1)).toBe(18)
    d.now += 5
    expect(d.overload(d.now - 1)).toBe(16)
    expect(d.overload(d.now - 1)).toBe(16)
  })

  it('ignores samples of attempts that started before the current window', () => {
    const d = settled()
    const old = d.now - 1
    d.now += 50
    for (let i = 0; i < 100; i++) d.controller.sample(old, d.now, 20, false, true)
    expect(d.controller.limit).toBe(20)
    expect(d.window(10, 20)).toBe(24)
  })

  it('takes a window only once it holds 40 samples and as many as were in flight', () => {
    const d = settled()
    expect(d.window(10, 20, { count: 39 })).toBe(20)
    d.now -= 10
    expect(d.window(10, 20, { count: 1 })).toBe(24)
    expect(d.window(10, 50, { count: 49 })).toBe(24)
    d.now -= 10
    expect(d.window(10, 50, { count: 1 })).toBe(29)
  })

  it('re-measures the no-load latency every 10 s, at half the limit, then goes back', () => {
    const d = settled()
    d.now += 10_000
    expect(d.window(12, 20)).toBe(10)
    expect(d.window(10, 10)).toBe(20) // the latency did not halve with the calls: no queue at 10
  })

  it('keeps halving only while the latency falls at least 65% of the way with the calls', () => {
    const d = settled()
    d.now += 10_000
    expect(d.window(12, 20)).toBe(10)
    expect(d.window(7.8, 10)).toBe(5) // 70% of the way from 12 to 6 ms
    expect(d.window(7.4, 5)).toBe(20) // 10% of the way: 7.4 ms is the no-load latency
    d.now += 10_000
    expect(d.window(12, 20)).toBe(10)
    expect(d.window(8.4, 10)).toBe(20) // 60% of the way: 8.4 ms
  })

  it('after a cut by a third or more, goes back to check only when the latency fell less than 65% of the way with the calls', () => {
    const cut = () => {
      const d = settled()
      expect(d.window(30, 20)).toBe(10)
      return d
    }
    expect(cut().window(21, 10)).toBe(20) // 60% of the way from 30 to 15 ms: back to 20 for a window
    expect(cut().window(20, 10)).toBe(6) // 67%: a queue that drained; 5 queued, cut again
  })

  it('in slow start, re-measures only when the latency rose at least half the way with the calls', () => {
    const rise = (latency: number) => {
      const d = driver(8)
      expect(d.window(10, 8)).toBe(16)
      return d.window(latency, 16)
    }
    expect(rise(15)).toBe(8) // 50% of the way from 10 to 20 ms
    expect(rise(14.5)).toBe(13) // 45%: the first queue (5 calls): slow start ends with a cut
  })

  it('re-measures when slow start finds a latency that rose with the calls, halving down to min', () => {
    const d = driver(8, 2, 40)
    expect(d.window(40, 8)).toBe(16)
    expect(d.window(80, 16)).toBe(8) // twice the calls, twice the latency: a queue at 8 already
    expect(d.window(40, 8)).toBe(4)
    expect(d.window(20, 4)).toBe(2)
    expect(d.window(10, 2)).toBe(16) // at min: 10 ms is the no-load latency; back to 16
    expect(d.window(80, 16)).toBe(8) // 14 queued: cut, by half at most
    expect(d.window(40, 8)).toBe(4) // the latency fell with the calls: a queue, cut again
    expect(d.window(20, 4)).toBe(4) // 2 queued
  })

  it('when a cut leaves the latency where it was, goes back and takes it as the no-load latency if it stays: the service got slower', () => {
    const d = settled()
    expect(d.window(30, 20)).toBe(10) // 13 queued against 10 ms, or a slower service: cut
    expect(d.window(30, 10)).toBe(20) // half the calls, the same latency: back to check
    expect(d.window(30, 20)).toBe(24) // twice the calls, the same latency: 30 ms is the no-load latency, no queue
    expect(d.window(30, 24)).toBe(29)
  })

  it('when the check finds the latency rising with the calls, the queue was real: cuts again, the no-load latency stays', () => {
    const d = settled()
    expect(d.window(30, 20)).toBe(10)
    expect(d.window(30, 10)).toBe(20) // as if that window straddled a loss of slots
    expect(d.window(60, 20)).toBe(10) // twice the calls, twice the latency: 17 queued against 10 ms
    expect(d.window(30, 10)).toBe(5) // the latency fell with the calls: 6.7 queued, cut again
  })

  it('does not check after a cut by less than a third: re-measures at half the limit as before', () => {
    const d = settled()
    expect(d.window(15, 20)).toBe(15) // 6.7 queued
    expect(d.window(15, 15)).toBe(7) // the latency did not fall with the calls: re-measure
    expect(d.window(15, 7)).toBe(15) // nor at half: 15 ms is the no-load latency
  })

  it('does not re-measure when the latency falls with the calls in flight: that was a queue', () => {
    const d = settled()
    expect(d.window(20, 20)).toBe(12)
    expect(d.window(12, 12)).toBe(12) // 2 queued at 12: in the band
  })

  it('takes a lower latency as the new no-load level only when two windows in a row show it clearly lower', () => {
    const d = settled()
    expect(d.window(9.5, 20)).toBe(24) // within 10%: noise, the level stays 10
    expect(d.window(8, 24)).toBe(29) // clearly lower, once: maybe a lucky median, the level stays 10
    expect(d.window(8.5, 29)).toBe(35) // clearly lower twice: the new level is 8.5 ms (the higher of the two)
    expect(d.window(9.5, 35)).toBe(35) // 3.7 queued against 8.5 ms: in the band (it would grow against 10)
  })

  it('does not grow while the consumer is not waiting, but still cuts', () => {
    const d = driver()
    expect(d.window(10, 10, { waiting: false })).toBe(10)
    expect(d.window(20, 10, { waiting: false })).toBe(6)
  })

  it('does not grow while fewer than half the limit run', () => {
    const d = driver()
    expect(d.window(10, 4)).toBe(10)
    expect(d.window(10, 5)).toBe(20)
  })

  it('starts over from a limit set by hand', () => {
    const d = settled()
    d.controller.reset(30, d.now)
    expect(d.controller.limit).toBe(30)
    expect(d.window(10, 30)).toBe(36)
  })
})

describe('VegasController: properties', () => {
  const samples = fc.array(
    fc.record({
      latency: fc.double({ min: 0.01, max: 1000, noNaN: true }),
      gap: fc.double({ min: 0, max: 50, noNaN: true }),
      inFlight: fc.integer({ min: 1, max: 300 }),
      overload: fc.boolean(),
      waiting: fc.boolean(),
    }),
    { maxLength: 400 },
  )
  const bounds = fc
    .tuple(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 50 }))
    .map(([min, span, at]) => ({ min, max: min + span, initial: min + Math.min(span, at) }))

  it('keeps min <= limit <= max whatever it sees', () => {
    fc.assert(
      fc.property(bounds, samples, ({ min, max, initial }, list) => {
        const c = new VegasController(min, max, initial)
        let now = 0
        for (const s of list) {
          now += s.gap
          const limit = c.sample(now, now + s.latency, s.inFlight, s.overload, s.waiting)
          expect(Number.isInteger(limit)).toBe(true)
          expect(limit).toBeGreaterThanOrEqual(min)
          expect(limit).toBeLessThanOrEqual(max)
        }
      }),
    )
  })

  it('never grows while the consumer is not waiting', () => {
    fc.assert(
      fc.property(bounds, samples, ({ min, max, initial }, list) => {
        const c = new VegasController(min, max, initial)
        let now = 0
        for (const s of list) {
          now += s.gap
          const before = c.limit
          expect(c.sample(now, now + s.latency, s.inFlight, s.overload, false)).toBeLessThanOrEqual(before)
        }
      }),
    )
  })

  it('never grows while fewer than half the limit are in flight', () => {
    fc.assert(
      fc.property(bounds, samples, ({ min, max, initial }, list) => {
        const c = new VegasController(min, max, initial)
        let now = 0
        for (const s of list) {
          now += s.gap
          const before = c.limit
          const inFlight = Math.ceil(before / 2) - 1
          expect(c.sample(now, now + s.latency, inFlight, s.overload, s.waiting)).toBeLessThanOrEqual(before)
        }
      }),
    )
  })
})
