import { describe, expect, it } from 'vitest'
import { Slots, StartGate, type Clock } from '../../src/cli/starts.js'

/** Lets every pending promise callback run. */
const settle = () => new Promise((resolve) => setImmediate(resolve))

/** A clock that moves only when told to; sleepers wake when it passes their time. */
function fakeClock() {
  let now = 0
  const sleepers: { at: number; wake: () => void; fail: (error: unknown) => void }[] = []
  const clock: Clock & { advance(ms: number): void; sleeping(): number } = {
    now: () => now,
    sleep: (ms, signal) =>
      new Promise((wake, fail) => {
        const sleeper = { at: now + ms, wake, fail }
        sleepers.push(sleeper)
        signal.addEventListener('abort', () => fail(signal.reason), { once: true })
      }),
    advance(ms) {
      now += ms
      for (const sleeper of sleepers.filter((s) => s.at <= now)) {
        sleepers.splice(sleepers.indexOf(sleeper), 1)
        sleeper.wake()
      }
    },
    sleeping: () => sleepers.length,
  }
  return clock
}

describe('StartGate', () => {
  it('lets the first start at once and the next ones one delay apart, in call order', async () => {
    const clock = fakeClock()
    const gate = new StartGate(100, clock)
    const started: number[] = []
    const signal = new AbortController().signal
    const starts = [1, 2, 3].map((n) => gate.wait(signal).then((ok) => ok && started.push(n)))
    await settle()
    expect(started).toEqual([1])
    clock.advance(99)
    await settle()
    expect(started).toEqual([1])
    clock.advance(1)
    await settle()
    expect(started).toEqual([1, 2])
    clock.advance(100)
    await Promise.all(starts)
    expect(started).toEqual([1, 2, 3])
  })

  it('does not wait when the last start was long enough ago', async () => {
    const clock = fakeClock()
    const gate = new StartGate(100, clock)
    const signal = new AbortController().signal
    expect(await gate.wait(signal)).toBe(true)
    clock.advance(250)
    expect(await gate.wait(signal)).toBe(true)
    expect(clock.sleeping()).toBe(0)
  })

  it('answers false to a waiter whose signal aborts', async () => {
    const clock = fakeClock()
    const gate = new StartGate(100, clock)
    const stop = new AbortController()
    expect(await gate.wait(stop.signal)).toBe(true)
    const second = gate.wait(stop.signal)
    stop.abort()
    expect(await second).toBe(false)
    expect(await gate.wait(stop.signal)).toBe(false)
  })
})

describe('Slots', () => {
  it('gives each running job its own number from 1, reusing freed ones', () => {
    const slots = new Slots()
    expect([slots.take(), slots.take(), slots.take()]).toEqual([1, 2, 3])
    slots.give(2)
    expect(slots.take()).toBe(2)
    slots.give(1)
    slots.give(3)
    expect([slots.take(), slots.take(), slots.take()]).toEqual([3, 1, 4])
  })
})
