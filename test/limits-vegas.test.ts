import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { VegasController } from '../src/limits/vegas.js'

/** Drives a controller with whole windows of identical samples, in virtual time (ms). */
class Driver {
  now = 0
  constructor(readonly controller: VegasController) {}

  /**
   * `count` attempts (by default a full window: 20, or `inFlight` if more) that all start now and end `latency` ms later with `inFlight` running; the
   * clock then moves to their end. Returns the limit after them.
   */
  window(latency: number, inFlight: number, { count = Math.max(20, inFlight), waiting = true } = {}): number {
    const startedAt = this.now
    this.now += latency
    for (let i = 0; i < count; i++) this.controller.sample(startedAt, this.now, inFlight, false, waiting)
    return this.controller.limit
  }

  overload(startedAt: number): number {
    return this.controller.sample(startedAt, this.now, this.controller.limit, true, true)
  }

  /** The first two windows: the start-up re-measurement of the no-load latency, back at `limit`. */
  measured(latency: number): this {
    const limit = this.controller.limit
    expect(this.window(latency, limit)).toBe(Math.floor(limit / 2))
    expect(this.window(latency, Math.floor(limit / 2))).toBe(limit)
    return this
  }
}

function driver(initial = 10, min = 1, max = 20): Driver {
  return new Driver(new VegasController(min, max, initial))
}

describe('VegasController: exact limit changes for synthetic latencies', () => {
  it('measures the no-load latency first, at half the limit, then goes back', () => {
    const d = driver()
    expect(d.window(10, 10)).toBe(5)
    expect(d.window(10, 5)).toBe(10)
  })

  it('grows fast while latency stays at its no-load level, up to max', () => {
    const d = driver().measured(10)
    expect([d.window(10, 10), d.window(10, 12), d.window(10, 14), d.window(10, 17), d.window(10, 20)]).toEqual([
      12, 14, 17, 20, 20,
    ])
  })

  it('grows by one when a little queueing shows, holds within the band, and cuts above it', () => {
    expect(driver().measured(10).window(11, 10)).toBe(11) // queue 0.9 < alpha 1
    expect(driver().measured(10).window(11.5, 10)).toBe(10) // queue 1.3: in [1, 2]
    expect(driver().measured(10).window(12.5, 10)).toBe(10) // queue 2: still in
    // queue 5: down to what the service holds (5) plus alpha (1)
    expect(driver().measured(10).window(20, 10)).toBe(6)
  })

  it('never cuts by more than half in one window', () => {
    expect(driver(20, 1, 40).measured(10).window(100, 20)).toBe(10)
  })

  it('cuts on an overload by 10%, once for all the attempts that started before the cut', () => {
    const d = driver().measured(10)
    const before = d.now
    d.now += 5
    expect(d.overload(before)).toBe(9)
    expect(d.overload(before + 1)).toBe(9)
    d.now += 5
    expect(d.overload(d.now - 1)).toBe(8)
    expect(d.overload(d.now - 1)).toBe(8)
  })

  it('ignores samples of attempts that started before the current window', () => {
    const d = driver().measured(10)
    const old = d.now - 1
    d.now += 50
    for (let i = 0; i < 100; i++) d.controller.sample(old, d.now, 10, false, true)
    expect(d.controller.limit).toBe(10)
    expect(d.window(10, 10)).toBe(12)
  })

  it('takes a window only once it holds 20 samples and as many as were in flight', () => {
    const d = driver(30, 1, 60).measured(10)
    expect(d.window(10, 30, { count: 29 })).toBe(30)
    d.now -= 10
    // the same window goes on: the 30th sample closes it
    expect(d.window(10, 30, { count: 1 })).toBe(36)
  })

  it('re-measures when a cut leaves the latency where it was: the service got slower', () => {
    const d = driver().measured(10)
    expect(d.window(30, 10)).toBe(5) // queue 6.7: cut, by half at most
    expect(d.window(30, 5)).toBe(7) // same latency at half the calls: 30 ms is the new no-load
    expect(d.window(30, 7)).toBe(9)
  })

  it('does not re-measure when the latency falls with the calls in flight: that was a queue', () => {
    const d = driver().measured(10)
    expect(d.window(30, 10)).toBe(5)
    // Half the calls, half the latency: a queue drained. Still measured against 10 ms: 1.7 queued.
    expect(d.window(15, 5)).toBe(5)
    expect(d.window(20, 5)).toBe(4) // 2.5 queued: above beta, cut
  })

  it('re-measures every 10 s, going back to the limit it had', () => {
    const d = driver().measured(10)
    expect(d.window(11.5, 10)).toBe(10)
    d.now += 10_000
    expect(d.window(11.5, 10)).toBe(5)
    expect(d.window(10, 5)).toBe(10)
  })

  it('keeps halving while the latency falls with the calls, down to min', () => {
    const d = driver(8, 2, 20)
    expect(d.window(40, 8)).toBe(4)
    expect(d.window(20, 4)).toBe(2) // latency halved with the calls: still a queue
    expect(d.window(10, 2)).toBe(8) // at min: measured, back to 8
    expect(d.window(40, 8)).toBe(4) // 30 of 40 ms is queueing: cut
  })

  it('takes a lower latency as the new no-load level only when it is clearly lower', () => {
    const d = driver().measured(10)
    expect(d.window(9.5, 10)).toBe(12) // within 10%: noise, the level stays 10
    expect(d.window(8, 12)).toBe(14) // clearly lower: the new level
    expect(d.window(9.2, 14)).toBe(14) // queue 1.3 against 8 ms
  })

  it('does not grow while the consumer is not waiting, but still cuts', () => {
    const d = driver().measured(10)
    expect(d.window(10, 10, { waiting: false })).toBe(10)
    expect(d.window(20, 10, { waiting: false })).toBe(6)
  })

  it('does not grow while fewer than half the limit run', () => {
    const d = driver().measured(10)
    expect(d.window(10, 4)).toBe(10)
    expect(d.window(10, 5)).toBe(12)
  })

  it('starts over from a limit set by hand', () => {
    const d = driver().measured(10)
    d.controller.reset(16, d.now)
    expect(d.controller.limit).toBe(16)
    expect(d.window(10, 16)).toBe(19)
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
