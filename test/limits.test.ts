import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { concurrencyLimit, SharedLimiter } from '../src/limits/limiter.js'

/** A stand-in for a run: it holds the slots it got and wants `wanted` more. */
class Run {
  held = 0
  wakes = 0
  readonly gate
  constructor(
    readonly limiter: SharedLimiter,
    public wanted = 0,
  ) {
    this.gate = limiter.gate()
    this.gate.attach(() => {
      this.wakes++
      this.fill()
    })
  }

  /** Starts calls while it wants them and the limiter agrees, as a run's fill loop does. */
  fill(): void {
    while (this.wanted > 0 && this.gate.mayStart()) {
      this.gate.started()
      this.wanted--
      this.held++
    }
  }

  finish(count = 1): void {
    for (let i = 0; i < count; i++) {
      this.held--
      this.gate.ended()
    }
    this.fill()
  }
}

function limiter(limit: number): SharedLimiter {
  return concurrencyLimit(limit) as SharedLimiter
}

function changes(target: EventTarget): number[] {
  const seen: number[] = []
  target.addEventListener('change', () => seen.push((target as SharedLimiter).limit))
  return seen
}

describe('concurrencyLimit', () => {
  it('makes a limiter with that limit, nothing running, not paused', () => {
    const l = concurrencyLimit(3)
    expect(l).toBeInstanceOf(EventTarget)
    expect([l.limit, l.running, l.paused]).toEqual([3, 0, false])
    expect(concurrencyLimit(Infinity).limit).toBe(Infinity)
  })

  it.each([
    [0, RangeError, 'Expected limit to be an integer >= 1 or Infinity, got 0'],
    [-1, RangeError, 'Expected limit to be an integer >= 1 or Infinity, got -1'],
    [NaN, RangeError, 'Expected limit to be an integer >= 1 or Infinity, got NaN'],
    [1.5, RangeError, 'Expected limit to be an integer >= 1 or Infinity, got 1.5'],
    [-Infinity, RangeError, 'Expected limit to be an integer >= 1 or Infinity, got -Infinity'],
    ['5', TypeError, 'Expected limit to be an integer >= 1 or Infinity, got "5" (string)'],
    [undefined, TypeError, 'Expected limit to be an integer >= 1 or Infinity, got undefined (undefined)'],
  ])('refuses %s at once', (value, Type, message) => {
    expect(() => concurrencyLimit(value as number)).toThrow(Type)
    expect(() => concurrencyLimit(value as number)).toThrow(message)
  })

  it('refuses a bad limit set later, and keeps the old one', () => {
    const l = concurrencyLimit(3)
    expect(() => (l.limit = -1)).toThrow(new RangeError('Expected limit to be an integer >= 1 or Infinity, got -1'))
    expect(() => (l.limit = NaN)).toThrow(RangeError)
    expect(() => (l.limit = '2' as unknown as number)).toThrow(TypeError)
    expect(l.limit).toBe(3)
  })

  it('fires change once per change of limit, not when set to the same value', () => {
    const l = concurrencyLimit(3)
    const seen = changes(l)
    l.limit = 3
    l.limit = 5
    l.limit = 5
    l.limit = 1
    expect(seen).toEqual([5, 1])
  })
})

describe('SharedLimiter', () => {
  it('its gates tell the limit in force, and do not learn', () => {
    const l = limiter(3)
    const gate = l.gate()
    expect([gate.limit, gate.observe]).toEqual([3, undefined])
    l.limit = 7
    expect(gate.limit).toBe(7)
  })

  it('lets at most limit calls run, and counts them', () => {
    const l = limiter(2)
    const run = new Run(l, 5)
    run.fill()
    expect([run.held, l.running, run.wanted]).toEqual([2, 2, 3])
    run.finish()
    expect([run.held, l.running, run.wanted]).toEqual([2, 2, 2])
  })

  it('caps the sum of the calls of every run that shares it', () => {
    const l = limiter(5)
    const a = new Run(l, 4)
    const b = new Run(l, 4)
    a.fill()
    b.fill()
    expect([a.held, b.held, l.running]).toEqual([4, 1, 5])
  })

  it('raising the limit starts waiting runs at once; lowering it lets running calls finish', () => {
    const l = limiter(2)
    const run = new Run(l, 10)
    run.fill()
    l.limit = 5
    expect(run.held).toBe(5)
    l.limit = 2
    expect(run.held).toBe(5)
    run.finish(2)
    expect(run.held).toBe(3) // nothing new while 3 run under a limit of 2
    run.finish()
    expect(run.held).toBe(2)
    run.finish()
    expect(run.held).toBe(2) // one ended, one started
  })

  it('pause starts nothing new, running calls go on; resume fills up again', () => {
    const l = limiter(3)
    const run = new Run(l, 10)
    run.fill()
    l.pause()
    l.pause()
    expect(l.paused).toBe(true)
    run.finish(3)
    expect([run.held, l.running]).toEqual([0, 0])
    l.resume()
    expect(l.paused).toBe(false)
    expect(run.held).toBe(3)
    l.resume()
    expect(run.held).toBe(3)
  })

  it('shares room between waiting runs one slot each, in turn', () => {
    const l = limiter(2)
    const a = new Run(l, 100)
    const b = new Run(l, 100)
    a.fill()
    b.fill()
    expect([a.held, b.held]).toEqual([2, 0])
    l.limit = 12
    expect([a.held, b.held]).toEqual([7, 5])
    for (let i = 0; i < 7; i++) a.finish()
    // each slot a freed went to the run that had waited longest: a, b, a, b, … in turn
    expect([a.held, b.held]).toEqual([4, 8])
  })

  it('a run that ends is taken out of the queue', () => {
    const l = limiter(1)
    const a = new Run(l, 1)
    const b = new Run(l, 1)
    const c = new Run(l, 1)
    a.fill()
    b.fill()
    c.fill()
    b.gate.detach()
    b.gate.detach()
    a.finish()
    expect([b.wakes, c.wakes, c.held]).toEqual([0, 1, 1])
  })

  it('a woken run that wants nothing more leaves the room to the next one', () => {
    const l = limiter(1)
    const a = new Run(l, 2)
    const b = new Run(l, 1)
    a.fill()
    b.fill()
    a.wanted = 0
    a.finish()
    expect([a.held, b.held]).toEqual([0, 1])
  })

  it('a call that ends inside the wake-up only adds room to the same round', () => {
    const l = limiter(1)
    let started = 0
    const sync = l.gate()
    sync.attach(() => {
      // calls that end at once: each takes a slot and gives it back before the next
      while (started < 3 && sync.mayStart()) {
        sync.started()
        started++
        sync.ended()
      }
    })
    const blocker = new Run(l, 1)
    blocker.fill()
    expect(sync.mayStart()).toBe(false)
    blocker.finish()
    expect([started, l.running]).toEqual([3, 0])
  })

  it('never lets more run than the limit, whatever runs, limit changes and pauses do', () => {
    const step = fc.oneof(
      fc.record({ kind: fc.constant('want' as const), run: fc.nat(2), count: fc.integer({ min: 1, max: 5 }) }),
      fc.record({ kind: fc.constant('finish' as const), run: fc.nat(2) }),
      fc.record({ kind: fc.constant('limit' as const), limit: fc.integer({ min: 1, max: 6 }) }),
      fc.record({ kind: fc.constant('pause' as const) }),
      fc.record({ kind: fc.constant('resume' as const) }),
    )
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const l = limiter(3)
        const runs = [new Run(l), new Run(l), new Run(l)]
        let ceiling = l.limit
        for (const s of steps) {
          if (s.kind === 'want') {
            runs[s.run]!.wanted += s.count
            runs[s.run]!.fill()
          } else if (s.kind === 'finish') {
            if (runs[s.run]!.held > 0) runs[s.run]!.finish()
          } else if (s.kind === 'limit') {
            l.limit = s.limit
          } else if (s.kind === 'pause') {
            l.pause()
          } else {
            l.resume()
          }
          const held = runs.reduce((sum, run) => sum + run.held, 0)
          expect(l.running).toBe(held)
          // Lowering the limit does not stop running calls: the cap is the highest limit since
          // the running calls started, and drops to the limit as they finish.
          ceiling = Math.max(l.limit, Math.min(ceiling, held))
          expect(held).toBeLessThanOrEqual(ceiling)
          // Nobody waits while there is room.
          if (!l.paused && held < l.limit) expect(runs.every((run) => run.wanted === 0)).toBe(true)
        }
      }),
    )
  })
})
