import { delay } from 'abort-controller-x'

/** A clock and a way to wait on it; the real ones by default, fake ones in tests. */
export interface Clock {
  now(): number
  /** Resolves after `ms`, or rejects when `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>
}

const REAL_CLOCK: Clock = { now: () => performance.now(), sleep: (ms, signal) => delay(signal, ms) }

/**
 * `--delay`: at least `delay` ms between two starts. Each caller reserves the next start time in
 * call order and waits for it, so the first start is at once and the others follow one `delay`
 * apart (later, if they come later).
 */
export class StartGate {
  readonly #delay: number
  readonly #clock: Clock
  #next = -Infinity

  constructor(delay: number, clock: Clock = REAL_CLOCK) {
    this.#delay = delay
    this.#clock = clock
  }

  /** Resolves at this caller's start time; `false` if `signal` aborted first. */
  async wait(signal: AbortSignal): Promise<boolean> {
    if (signal.aborted) return false
    if (this.#delay === 0) return true
    const now = this.#clock.now()
    const at = Math.max(now, this.#next)
    this.#next = at + this.#delay
    if (at === now) return true
    try {
      await this.#clock.sleep(at - now, signal)
      return true
    } catch {
      return false
    }
  }
}

/**
 * GNU parallel's job slots (`{%}`): one number per running command, never two running commands with
 * the same; a freed number is the next one given out, so they stay between 1 and the most commands
 * that ran at once.
 */
export class Slots {
  readonly #free: number[] = []
  #unused = 1

  take(): number {
    return this.#free.pop() ?? this.#unused++
  }

  give(slot: number): void {
    this.#free.push(slot)
  }
}
