import { describe, expect, it } from 'vitest'
import { TimeoutError } from '../src/errors.js'
import { adaptiveConcurrency, AdaptiveLimiter } from '../src/limits/adaptive.js'
import type { AttemptSample } from '../src/scheduler/seams.js'
import { VegasController } from '../src/limits/vegas.js'

/** An adaptive limiter on a virtual clock. */
function virtual(initial = 10, isOverload?: (error: unknown) => boolean) {
  const clock = { now: 0 }
  const limiter = new AdaptiveLimiter(new VegasController(1, 100, initial), isOverload, () => clock.now)
  return { clock, limiter }
}

/** A successful attempt from `startedAt` to `endedAt` whose consumer was waiting. */
function ok(startedAt: number, endedAt: number): AttemptSample {
  return { startedAt, endedAt, outcome: 'ok', error: undefined, consumerWaiting: true, running: 1 }
}

describe('adaptiveConcurrency: options', () => {
  it('starts at 4 within [1, 256] by default', () => {
    const l = adaptiveConcurrency()
    expect([l.limit, l.running, l.paused]).toEqual([4, 0, false])
    expect(() => (l.limit = 256)).not.toThrow()
    expect(() => (l.limit = 257)).toThrow(new RangeError('Expected limit to be at most max (256), got 257'))
  })

  it('starts from min or max when 4 is outside them', () => {
    expect(adaptiveConcurrency({ min: 10 }).limit).toBe(10)
    expect(adaptiveConcurrency({ max: 2 }).limit).toBe(2)
    expect(adaptiveConcurrency({ min: 300 }).limit).toBe(300)
    expect(adaptiveConcurrency({ min: 3, max: 3 }).limit).toBe(3)
  })

  it('takes initial, min and max', () => {
    const l = adaptiveConcurrency({ min: 2, max: 40, initial: 20 })
    expect(l.limit).toBe(20)
    expect(() => (l.limit = 1)).toThrow(new RangeError('Expected limit to be an integer >= 2, got 1'))
    expect(() => (l.limit = 41)).toThrow(new RangeError('Expected limit to be at most max (40), got 41'))
    expect(() => (l.limit = Infinity)).toThrow(RangeError)
    expect(l.limit).toBe(20)
  })

  it.each([
    [{ min: 0 }, RangeError, 'Expected min to be an integer >= 1, got 0'],
    [{ min: NaN }, RangeError, 'Expected min to be an integer >= 1, got NaN'],
    [{ min: '2' }, TypeError, 'Expected min to be an integer >= 1, got "2" (string)'],
    [{ max: -1 }, RangeError, 'Expected max to be an integer >= 1, got -1'],
    [{ max: Infinity }, RangeError, 'Expected max to be an integer >= 1, got Infinity'],
    [{ min: 8, max: 4 }, RangeError, 'Expected max to be an integer >= 8, got 4'],
    [{ min: 2, initial: 1 }, RangeError, 'Expected initial to be an integer >= 2, got 1'],
    [{ max: 10, initial: 11 }, RangeError, 'Expected initial to be at most max (10), got 11'],
    [{ initial: 2.5 }, RangeError, 'Expected initial to be an integer >= 1, got 2.5'],
    [{ isOverload: true }, TypeError, 'Expected isOverload to be a function, got true (boolean)'],
    [{ inital: 3 }, TypeError, 'Unknown option inital; did you mean initial?'],
    [5, TypeError, 'Expected options to be an object, got 5'],
  ])('refuses %o at once', (options, Type, message) => {
    expect(() => adaptiveConcurrency(options as never)).toThrow(Type)
    expect(() => adaptiveConcurrency(options as never)).toThrow(message)
  })
})

describe('AdaptiveLimiter', () => {
  /** One attempt that takes `latency` ms, as a run reports it: outcome first, then its slot back. */
  function attempt(v: ReturnType<typeof virtual>, latency: number, outcome: AttemptSample['outcome'] = 'ok', error?: unknown): void {
    const { clock, limiter } = v
    const gate = limiter.gate()
    expect(gate.mayStart()).toBe(true)
    gate.started()
    const startedAt = clock.now
    clock.now += latency
    try {
      gate.observe!({ startedAt, endedAt: clock.now, outcome, error, consumerWaiting: true, running: 1 })
    } finally {
      gate.ended()
    }
  }

  it('learns from latencies; in flight is what runs under it, over every run that shares it', () => {
    const { limiter } = virtual(10)
    const seen: number[] = []
    limiter.addEventListener('change', () => seen.push(limiter.limit))
    // 10 running over two runs, 40 attempts of 10 ms: slow start doubles the limit
    const runs = [limiter.gate(), limiter.gate()]
    for (let i = 0; i < 10; i++) runs[i % 2]!.started()
    for (let i = 0; i < 40; i++) runs[i % 2]!.observe!(ok(0, 10))
    expect([limiter.limit, seen]).toEqual([20, [20]])
    // the same with only 9 running: under half the new limit, nothing changes
    runs[0]!.ended()
    for (let i = 0; i < 40; i++) runs[1]!.observe!(ok(10, 20))
    expect([limiter.limit, seen]).toEqual([20, [20]])
  })

  it('a timeout cuts the limit; so do an error named TimeoutError and one isOverload accepts', () => {
    const overload = new Error('429')
    const v = virtual(10, (error) => error === overload)
    attempt(v, 5, 'error', new Error('500'))
    expect(v.limiter.limit).toBe(10)
    attempt(v, 5, 'timeout', new TimeoutError())
    expect(v.limiter.limit).toBe(9)
    attempt(v, 5, 'error', new DOMException('timed out', 'TimeoutError'))
    expect(v.limiter.limit).toBe(8)
    attempt(v, 5, 'error', overload)
    expect(v.limiter.limit).toBe(7)
  })

  it('learns nothing from an attempt the run aborted, even a slow one', () => {
    const v = virtual(10, () => true)
    for (let i = 0; i < 100; i++) attempt(v, 1000, 'aborted', new Error('stopped'))
    expect(v.limiter.limit).toBe(10)
  })

  it('lets a throw from isOverload through, and learns nothing from it', () => {
    const v = virtual(10, () => {
      throw new TypeError('bad predicate')
    })
    expect(() => attempt(v, 5, 'error', new Error('boom'))).toThrow('bad predicate')
    expect([v.limiter.limit, v.limiter.running]).toEqual([10, 0])
  })

  it('a limit set by hand fires change, wakes waiting runs, and is where it goes on from', () => {
    const { limiter } = virtual(2)
    const gate = limiter.gate()
    let woken = 0
    const fill = () => {
      while (gate.mayStart()) gate.started()
    }
    gate.attach(() => {
      woken++
      fill()
    })
    fill()
    const seen: number[] = []
    limiter.addEventListener('change', () => seen.push(limiter.limit))
    limiter.limit = 6
    expect([seen, woken, limiter.running]).toEqual([[6], 1, 6])
  })
})

/** mulberry32, so that the simulated service is the same in every run. */
function random(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
  }
}

/** From `at` ms on, the service has `slots` slots and a median service time of `service` ms. */
interface Phase {
  readonly at: number
  readonly slots: number
  readonly service: number
}

/**
 * A run against a simulated service in virtual time: `slots` calls are served at once, the rest
 * queue; service times are log-normal around the median. The run always has items and its
 * consumer always waits, so the limit is what holds it back. Returns the limit at every ms asked.
 * `seed` draws other service times.
 */
function simulate(phases: readonly Phase[], end: number, fixed?: number, seed = 7) {
  const clock = { now: 0 }
  const limiter = new AdaptiveLimiter(new VegasController(1, 256, 4), undefined, () => clock.now)
  const next = random(seed)
  const normal = () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next())
  let phase = phases[0]!
  const events: { at: number; startedAt: number }[] = []
  const queue: number[] = []
  let busy = 0
  let done = 0
  const serve = (startedAt: number) => {
    busy++
    const at = clock.now + phase.service * Math.exp(0.4 * normal())
    let i = events.length
    while (i > 0 && events[i - 1]!.at > at) i--
    events.splice(i, 0, { at, startedAt })
  }
  const arrive = (startedAt: number) => (busy < phase.slots ? serve(startedAt) : queue.push(startedAt))
  const gate = limiter.gate()
  const fill = () => {
    while ((fixed === undefined || limiter.running < fixed) && gate.mayStart()) {
      gate.started()
      arrive(clock.now)
    }
  }
  gate.attach(fill)
  fill()
  const limits: number[] = []
  while (clock.now < end) {
    const event = events.shift()!
    while (limits.length < event.at && limits.length < end) limits.push(limiter.limit)
    clock.now = event.at
    phase = phases.findLast((p) => p.at <= clock.now)!
    busy--
    while (busy < phase.slots && queue.length > 0) serve(queue.shift()!)
    if (clock.now >= 1000) done++
    gate.observe!(ok(event.startedAt, clock.now))
    gate.ended()
    fill()
  }
  return { limits, throughput: done / ((end - 1000) / 1000) }
}

describe('AdaptiveLimiter against a simulated service (virtual time)', () => {
  it('settles near the slots of a steady service, with the throughput of the best fixed limit', () => {
    const phases = [{ at: 0, slots: 8, service: 20 }]
    const auto = simulate(phases, 20_000)
    const best = Math.max(...[1, 2, 4, 8, 16, 32, 64].map((n) => simulate(phases, 20_000, n).throughput))
    expect(auto.throughput).toBeGreaterThan(0.95 * best)
    const settled = auto.limits.slice(5000)
    expect(Math.min(...settled)).toBeGreaterThanOrEqual(4)
    expect(median(settled)).toBeGreaterThanOrEqual(8)
    expect(median(settled)).toBeLessThanOrEqual(11)
  })

  it('follows the capacity down and up within a second or two', () => {
    const auto = simulate(
      [
        { at: 0, slots: 8, service: 20 },
        { at: 8000, slots: 3, service: 20 },
        { at: 16_000, slots: 16, service: 20 },
      ],
      24_000,
    )
    expect(median(auto.limits.slice(10_000, 16_000))).toBeGreaterThanOrEqual(3)
    expect(median(auto.limits.slice(10_000, 16_000))).toBeLessThanOrEqual(5)
    expect(median(auto.limits.slice(18_000))).toBeGreaterThanOrEqual(14)
    expect(median(auto.limits.slice(18_000))).toBeLessThanOrEqual(20)
  })

  it('follows a service that gets slower without falling to the minimum', () => {
    const auto = simulate(
      [
        { at: 0, slots: 8, service: 20 },
        { at: 8000, slots: 8, service: 60 },
      ],
      16_000,
    )
    expect(median(auto.limits.slice(10_000))).toBeGreaterThanOrEqual(8)
    expect(median(auto.limits.slice(10_000))).toBeLessThanOrEqual(11)
  })

  it('after the capacity rises to 16 slots, settles within 25% of 16: a lucky low latency once does not hold it down', () => {
    const phases = [
      { at: 0, slots: 8, service: 20 },
      { at: 8000, slots: 3, service: 20 },
      { at: 16_000, slots: 16, service: 20 },
    ]
    for (let seed = 1; seed <= 12; seed++) {
      const settled = median(simulate(phases, 24_000, undefined, seed).limits.slice(18_000))
      expect(settled).toBeGreaterThanOrEqual(12)
      expect(settled).toBeLessThanOrEqual(20)
    }
  })

  it('takes a service that gets slower for what it is within a second: no re-measurement at a quarter of the pace', () => {
    const phases = [
      { at: 0, slots: 8, service: 20 },
      { at: 8000, slots: 8, service: 60 },
    ]
    for (let seed = 1; seed <= 8; seed++) {
      const after = simulate(phases, 16_000, undefined, seed).limits.slice(8000)
      expect(Math.min(...after)).toBeGreaterThanOrEqual(4)
      expect(after.filter((limit) => limit < 6).length).toBeLessThan(1000) // ms
    }
  })
})

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[sorted.length >> 1]!
}
