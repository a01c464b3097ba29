import { afterAll, afterEach, beforeAll, expect } from 'vitest'
import { deferred } from '../src/internal/deferred.js'
import type { TaskContext } from '../src/index.js'

// Captured before any test installs fake timers, so that `tick()` keeps working under them.
const realSetImmediate = setImmediate

/** One macrotask turn: every pending promise callback and `process.nextTick` runs first. */
export function tick(): Promise<void> {
  return new Promise((resolve) => realSetImmediate(resolve))
}

/** Several macrotask turns, for chains that hop through a few promises and streams. */
export async function ticks(count = 5): Promise<void> {
  for (let i = 0; i < count; i++) await tick()
}

/** Whether `promise` has settled by now (after a few turns). */
export async function isSettled(promise: Promise<unknown>): Promise<boolean> {
  let settled = false
  promise.then(
    () => (settled = true),
    () => (settled = true),
  )
  await ticks()
  return settled
}

/** One call of a {@link Tasks} mapper, settled by the test. */
export interface Call<T, R> {
  readonly item: T
  readonly context: TaskContext
  readonly resolve: (value: R) => void
  readonly reject: (error: unknown) => void
  settled: boolean
}

/**
 * A mapper whose calls stay running until the test settles them, counting how many run at once.
 * With `honourAbort`, a call rejects with its signal's reason as soon as the signal aborts;
 * otherwise it ignores the signal, like careless user code.
 */
export class Tasks<T, R = T> {
  readonly calls: Call<T, R>[] = []
  running = 0
  maxRunning = 0

  constructor(readonly honourAbort = false) {}

  readonly fn = (item: T, context: TaskContext): Promise<R> => {
    this.running++
    this.maxRunning = Math.max(this.maxRunning, this.running)
    const { promise, resolve, reject } = deferred<R>()
    const call: Call<T, R> = { item, context, resolve, reject, settled: false }
    this.calls.push(call)
    if (this.honourAbort) {
      context.signal.addEventListener('abort', () => reject(context.signal.reason), { once: true })
    }
    return promise.finally(() => {
      this.running--
      call.settled = true
    })
  }

  /** The latest call for `item`. */
  call(item: T): Call<T, R> {
    const call = this.calls.findLast((c) => c.item === item)
    if (call === undefined) throw new Error(`no call for ${String(item)}`)
    return call
  }

  items(): T[] {
    return this.calls.map((c) => c.item)
  }

  aborted(): T[] {
    return this.calls.filter((c) => c.context.signal.aborted).map((c) => c.item)
  }
}

/**
 * An async source over `items` (endless when `items` is), written by hand so that overlapping
 * `next()` calls are visible: an async generator would queue them. `gate`, when given, is awaited
 * before every pull answers.
 */
export class ProbeSource<T> implements AsyncIterableIterator<T> {
  pulled = 0
  pulling = 0
  overlapped = false
  returned = false
  readonly #iterator: Iterator<T>

  constructor(
    items: Iterable<T>,
    readonly gate?: () => Promise<void>,
  ) {
    this.#iterator = items[Symbol.iterator]()
  }

  [Symbol.asyncIterator](): this {
    return this
  }

  async next(): Promise<IteratorResult<T>> {
    if (this.pulling > 0) this.overlapped = true
    this.pulling++
    try {
      // Like an async generator, a pull already under way answers even if return() came meanwhile.
      if (this.gate) await this.gate()
      const result = this.#iterator.next()
      if (!result.done) this.pulled++
      return result
    } finally {
      this.pulling--
    }
  }

  async return(): Promise<IteratorResult<T>> {
    this.returned = true
    return { done: true, value: undefined }
  }
}

/** 0, 1, 2, … without end. */
export function* naturals(): Generator<number> {
  for (let i = 0; ; i++) yield i
}

export function range(count: number): number[] {
  return Array.from({ length: count }, (_, i) => i)
}

/** Fails the current test if any promise rejection went unhandled while it ran. */
export function failOnUnhandledRejections(): void {
  const unhandled: unknown[] = []
  const listener = (reason: unknown): void => {
    unhandled.push(reason)
  }
  beforeAll(() => {
    process.on('unhandledRejection', listener)
  })
  afterAll(() => {
    process.off('unhandledRejection', listener)
  })
  afterEach(async () => {
    await ticks(2)
    const found = unhandled.splice(0)
    expect(found).toEqual([])
  })
}
