import { afterEach, beforeEach, expect, vi } from 'vitest'
import { deferred, type Deferred } from '../src/internal/deferred.js'
import { Deque } from '../src/internal/deque.js'
import type { TaskContext } from '../src/index.js'
import { failOnUnhandledRejections } from './helpers.js'

/**
 * An async source driven by the test: every `next()` waits until the test calls `push`, `end` or
 * `fail`. It counts pulls, notices overlapping `next()` calls and records `return()`. Written by hand
 * so that a pull left pending is visible (an async generator would queue calls).
 */
export class ManualSource<T> implements AsyncIterableIterator<T> {
  pulls = 0
  pending = 0
  overlapped = false
  returned = false
  readonly #parked = new Deque<Deferred<IteratorResult<T>>>();

  [Symbol.asyncIterator](): this {
    return this
  }

  next(): Promise<IteratorResult<T>> {
    this.pulls++
    if (this.pending > 0) this.overlapped = true
    this.pending++
    const pull = deferred<IteratorResult<T>>()
    this.#parked.push(pull)
    return pull.promise.finally(() => this.pending--)
  }

  async return(): Promise<IteratorResult<T>> {
    this.returned = true
    return { done: true, value: undefined }
  }

  /** Answers the oldest pending pull with `value`. */
  push(value: T): void {
    this.#take().resolve({ done: false, value })
  }

  end(): void {
    this.#take().resolve({ done: true, value: undefined })
  }

  fail(error: unknown): void {
    this.#take().reject(error)
  }

  #take(): Deferred<IteratorResult<T>> {
    const pull = this.#parked.shift()
    if (pull === undefined) throw new Error('no pull is pending')
    return pull
  }
}

/** A generator over `items` that records how many were pulled and whether it was closed. */
export function tracked<T>(items: Iterable<T>): AsyncGenerator<T> & { readonly state: { pulled: number; closed: boolean } } {
  const state = { pulled: 0, closed: false }
  async function* run(): AsyncGenerator<T> {
    try {
      for (const item of items) {
        state.pulled++
        yield item
      }
    } finally {
      state.closed = true
    }
  }
  return Object.assign(run(), { state })
}

/** An endless generator: 0, 1, 2, … one every `ms` (fake) milliseconds. */
export async function* ticking(ms: number, state = { closed: false }): AsyncGenerator<number> {
  try {
    for (let i = 0; ; i++) {
      await new Promise((resolve) => setTimeout(resolve, ms))
      yield i
    }
  } finally {
    state.closed = true
  }
}

/** Runs every settled promise callback, without moving the fake clock. */
export async function flush(): Promise<void> {
  await vi.advanceTimersByTimeAsync(0)
}

/** The state of a promise right now (after the callbacks queued so far). */
export async function stateOf(promise: Promise<unknown>): Promise<'pending' | 'fulfilled' | 'rejected'> {
  let state: 'pending' | 'fulfilled' | 'rejected' = 'pending'
  promise.then(
    () => (state = 'fulfilled'),
    () => (state = 'rejected'),
  )
  await flush()
  return state
}

/**
 * Fake timers for every test of the file, and checks after each: no timer left behind, and no
 * promise rejection left unhandled.
 */
export function useStrictTimers(): void {
  failOnUnhandledRejections()
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(async () => {
    await flush()
    expect(vi.getTimerCount(), 'timers left behind').toBe(0)
    vi.useRealTimers()
  })
}

/**
 * A `parallelMap` mapper whose call for `item` resolves with `item` after `ms(item)` (fake)
 * milliseconds, or rejects with the abort reason as soon as its signal aborts. It records which
 * calls started, were aborted and settled.
 */
export class SleepyWork {
  readonly started: number[] = []
  readonly aborted: number[] = []
  readonly settled: number[] = []

  constructor(readonly ms: (item: number) => number) {}

  readonly fn = (item: number, { signal }: TaskContext): Promise<number> => {
    this.started.push(item)
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => resolve(item), this.ms(item))
      signal.addEventListener(
        'abort',
        () => {
          clearTimeout(timer)
          this.aborted.push(item)
          reject(signal.reason)
        },
        { once: true },
      )
    }).finally(() => this.settled.push(item))
  }
}
