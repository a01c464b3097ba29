import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  collect,
  parallelMap,
  parallelMapSettled,
  TimeoutError,
  type RetryOptions,
  type TaskContext,
} from '../../src/index.js'
import { failOnUnhandledRejections, naturals, range, Tasks, ticks } from '../helpers.js'
import { double, rejection } from './helpers.js'

failOnUnhandledRejections()

afterEach(() => {
  vi.useRealTimers()
})

describe('retry', () => {
  it('counts attempts from 1 and yields the first success', async () => {
    const attempts: number[] = []
    const out = await collect(
      parallelMap(
        (x: number, { attempt }: TaskContext) => {
          attempts.push(attempt)
          if (attempt < 3) throw new Error(`attempt ${attempt}`)
          return x
        },
        { retry: { retries: 5, minDelay: 0 } },
      )([7]),
    )
    expect(out).toEqual([7])
    expect(attempts).toEqual([1, 2, 3])
  })

  it('throws the last attempt error once the retries are used up', async () => {
    let calls = 0
    const error = await rejection(
      collect(
        parallelMap(
          () => {
            calls++
            throw new Error(`attempt ${calls}`)
          },
          { retry: { retries: 2, minDelay: 0 } },
        )([1]),
      ),
    )
    expect(calls).toBe(3)
    expect(error).toEqual(new Error('attempt 3'))
  })

  /** Under fake timers: runs one always-failing item with `retry`, recording when each attempt starts. */
  function attemptTimes(retry: RetryOptions) {
    vi.useFakeTimers()
    const times: number[] = []
    const start = Date.now()
    const next = parallelMap(
      () => {
        times.push(Date.now() - start)
        throw new Error('no')
      },
      { retry },
    )([1]).next()
    return { times, error: rejection(next) }
  }

  it('waits minDelay * factor^(n-1), capped at maxDelay, between attempts', async () => {
    const { times, error } = attemptTimes({ retries: 5, minDelay: 100, factor: 3, maxDelay: 1000 })
    await vi.advanceTimersByTimeAsync(99)
    expect(times).toEqual([0])
    await vi.advanceTimersByTimeAsync(1)
    expect(times).toEqual([0, 100])
    await vi.advanceTimersByTimeAsync(299)
    expect(times).toEqual([0, 100])
    await vi.advanceTimersByTimeAsync(1)
    expect(times).toEqual([0, 100, 400])
    await vi.advanceTimersByTimeAsync(10_000)
    expect(times).toEqual([0, 100, 400, 1300, 2300, 3300])
    expect(await error).toEqual(new Error('no'))
    expect(vi.getTimerCount()).toBe(0)
  })

  it('defaults to minDelay 100, factor 2, maxDelay 10 000', async () => {
    const { times, error } = attemptTimes({ retries: 9 })
    await vi.advanceTimersByTimeAsync(100_000)
    expect(times).toEqual([0, 100, 300, 700, 1500, 3100, 6300, 12_700, 22_700, 32_700])
    await error
  })

  it('asks shouldRetry with the error and the attempt that failed', async () => {
    const errors = [new Error('e1'), new Error('e2'), new Error('fatal')]
    const shouldRetry = vi.fn((error: unknown) => (error as Error).message !== 'fatal')
    let call = 0
    const error = await rejection(
      collect(
        parallelMap(
          () => {
            throw errors[call++]
          },
          { retry: { retries: 10, minDelay: 0, shouldRetry } },
        )([1]),
      ),
    )
    expect(error).toBe(errors[2])
    expect(shouldRetry.mock.calls).toEqual([
      [errors[0], 1],
      [errors[1], 2],
      [errors[2], 3],
    ])
  })

  it('fails the item with the error shouldRetry throws', async () => {
    const thrown = new Error('from shouldRetry')
    const error = await rejection(
      collect(
        parallelMap(
          () => {
            throw new Error('task')
          },
          {
            retry: {
              retries: 3,
              minDelay: 0,
              shouldRetry: () => {
                throw thrown
              },
            },
          },
        )([1]),
      ),
    )
    expect(error).toBe(thrown)
  })

  it('applies the timeout to each attempt', async () => {
    vi.useFakeTimers()
    const contexts: TaskContext[] = []
    const iterator = parallelMap(
      (x: number, context: TaskContext) => {
        contexts.push(context)
        return context.attempt < 3 ? new Promise<number>(() => {}) : x
      },
      { timeout: 50, retry: { retries: 2, minDelay: 10 } },
    )([5])
    const next = iterator.next()
    await vi.advanceTimersByTimeAsync(50)
    expect(contexts).toHaveLength(1)
    expect(contexts[0]!.signal.reason).toBeInstanceOf(TimeoutError)
    await vi.advanceTimersByTimeAsync(10)
    expect(contexts).toHaveLength(2)
    // The second attempt starts inside the backoff's timer, at 60; fake timers run the clock
    // reading that stamps its deadline 1 ms later (a real event loop runs it right after that task).
    await vi.advanceTimersByTimeAsync(50)
    expect(contexts[1]!.signal.aborted).toBe(false)
    await vi.advanceTimersByTimeAsync(1)
    expect(contexts[1]!.signal.reason).toBeInstanceOf(TimeoutError)
    await vi.advanceTimersByTimeAsync(20)
    expect(contexts.map((c) => c.attempt)).toEqual([1, 2, 3])
    expect(await next).toEqual({ done: false, value: 5 })
  })

  it('never retries an item aborted by the run (sibling failure, break, signal)', async () => {
    // A sibling failure aborts item 1, which rejects with the abort reason: retryable for
    // shouldRetry, yet not retried.
    const sibling = new Tasks<number>(true)
    const fatal = new Error('fatal')
    const shouldRetry = vi.fn((error: unknown) => error !== fatal)
    const iterator = parallelMap(sibling.fn, { concurrency: 2, retry: { retries: 3, minDelay: 0, shouldRetry } })([0, 1])
    const first = rejection(iterator.next())
    await ticks()
    sibling.call(0).reject(fatal)
    expect(await first).toBe(fatal)
    await ticks()
    expect(sibling.items()).toEqual([0, 1])
    expect(sibling.aborted()).toEqual([1])
    expect(shouldRetry.mock.calls).toEqual([[fatal, 1]])

    // A break.
    const broken = new Tasks<number>(true)
    const second = parallelMap(broken.fn, { concurrency: 2, retry: { retries: 3, minDelay: 0 } })(naturals())
    void second.next()
    await ticks()
    await second.return!()
    await ticks()
    expect(broken.items()).toEqual([0, 1])

    // options.signal, including during a backoff.
    vi.useFakeTimers()
    const controller = new AbortController()
    const calls: number[] = []
    const third = parallelMap(
      (x: number, { signal }: TaskContext) => {
        calls.push(x)
        if (x === 0) throw new Error('retry me')
        return new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason)))
      },
      { concurrency: 2, signal: controller.signal, retry: { retries: 3, minDelay: 100 } },
    )([0, 1])
    const next = rejection(third.next())
    await vi.advanceTimersByTimeAsync(50)
    controller.abort(new Error('stop'))
    await next
    await third.return!()
    await vi.advanceTimersByTimeAsync(1000)
    expect(calls).toEqual([0, 1])
    expect(vi.getTimerCount()).toBe(0)
  })

  it("with 'continue', an item that succeeds on retry is yielded and not reported", async () => {
    const out = await collect(
      parallelMap(
        (x: number, { attempt }: TaskContext) => {
          if (x % 2 === 0 && attempt === 1) throw new Error('flaky')
          return x
        },
        { onError: 'continue', retry: { retries: 1, minDelay: 0 } },
      )(range(6)),
    )
    expect(out).toEqual(range(6))
  })
})

describe('9. what fn may do', () => {
  it('a synchronous throw counts as a rejection', async () => {
    const thrown = new Error('sync')
    const fn = (x: number) => {
      if (x === 1) throw thrown
      return x
    }
    expect(await rejection(collect(parallelMap(fn)(range(3))))).toBe(thrown)
    const error = (await rejection(collect(parallelMap(fn, { onError: 'continue' })(range(3))))) as AggregateError
    expect(error.errors).toEqual([thrown])
    const records = await collect(parallelMapSettled(fn)(range(3)))
    expect(records[1]).toMatchObject({ status: 'rejected', reason: thrown })
  })

  it('a non-promise return is used as is', async () => {
    const values = [undefined, null, 0, '', { a: 1 }, [1, 2], double]
    const out = await collect(parallelMap((i: number) => values[i])(range(values.length)))
    expect(out).toEqual(values)
    expect(out[4]).toBe(values[4])
    expect(out[6]).toBe(double)
  })

  it('a thenable return is awaited', async () => {
    const thenable: PromiseLike<number> = {
      then(onFulfilled) {
        return Promise.resolve(onFulfilled!(42)) as never
      },
    }
    expect(await collect(parallelMap(() => thenable)([1]))).toEqual([42])
  })

  it('items that are promises are awaited before fn sees them, like p-map', async () => {
    const out = await collect(parallelMap(double)([Promise.resolve(1), 2, Promise.resolve(3)]))
    expect(out).toEqual([2, 4, 6])
  })

  it('passes the index and attempt of every item', async () => {
    const contexts: [number, number, number][] = []
    await collect(
      parallelMap((item: string, { index, attempt }: TaskContext) => contexts.push([index, attempt, item.length]))(
        ['a', 'bb', 'ccc'],
      ),
    )
    expect(contexts).toEqual([
      [0, 1, 1],
      [1, 1, 2],
      [2, 1, 3],
    ])
  })
})

describe('items that are promises', () => {
  it('return() does not wait for an item promise that never settles: fn never started', async () => {
    const fn = vi.fn((x: number) => x)
    const it = parallelMap(fn)([Promise.resolve(1), new Promise<number>(() => {})])
    await expect(it.next()).resolves.toEqual({ done: false, value: 1 })
    await expect(it.return!()).resolves.toEqual({ done: true, value: undefined })
    expect(fn).toHaveBeenCalledTimes(1)
  })

  it('a sibling failure does not wait for an item promise that never settles', async () => {
    const it = parallelMap(async (x: number) => {
      if (x === 1) throw new Error('first fails')
      return x
    })([Promise.resolve(1), new Promise<number>(() => {})])
    await expect(it.next()).rejects.toThrow('first fails')
  })
})

describe('review findings', () => {
  it('a thenable whose then() throws fails its item instead of throwing from next()', async () => {
    const broken = {
      then() {
        throw new Error('then threw')
      },
    }
    const iterator = parallelMap((x: number) => (x === 1 ? broken : x), { onError: 'continue' })([0, 1, 2])
    const next = iterator.next()
    expect(next).toBeInstanceOf(Promise)
    expect(await next).toEqual({ done: false, value: 0 })
    expect(await iterator.next()).toEqual({ done: false, value: 2 })
    const error = (await rejection(iterator.next())) as AggregateError
    expect(error.errors).toEqual([new Error('then threw')])
  })

})
