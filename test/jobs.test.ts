import fc from 'fast-check'
import { getEventListeners } from 'node:events'
import { afterEach, describe, expect, expectTypeOf, it, vi } from 'vitest'
import {
  Job,
  parallelMap,
  startJob,
  type ItemReport,
  type JobContext,
  type JobState,
  type Progress,
} from '../src/index.js'
import { deferred } from '../src/internal/deferred.js'
import { ITEM_SETTLED, type SettleAwareReportHandler } from '../src/internal/item-report.js'
import { failOnUnhandledRejections, isSettled, naturals, ProbeSource, range, Tasks, tick } from './helpers.js'

failOnUnhandledRejections()

afterEach(() => {
  vi.useRealTimers()
})

/** An async source whose items are pushed by the test, one pending pull at a time. */
function manual<T>() {
  const waiting: ReturnType<typeof deferred<IteratorResult<T>>>[] = []
  const queued: IteratorResult<T>[] = []
  let returned = false
  const iterator: AsyncIterableIterator<T> = {
    [Symbol.asyncIterator]: () => iterator,
    next() {
      const ready = queued.shift()
      if (ready) return Promise.resolve(ready)
      const d = deferred<IteratorResult<T>>()
      waiting.push(d)
      return d.promise
    },
    return() {
      returned = true
      for (const d of waiting.splice(0)) d.resolve({ done: true, value: undefined })
      return Promise.resolve({ done: true, value: undefined })
    },
  }
  const deliver = (result: IteratorResult<T>) => {
    const d = waiting.shift()
    if (d) d.resolve(result)
    else queued.push(result)
  }
  return {
    iterator,
    push: (value: T) => deliver({ done: false, value }),
    end: () => deliver({ done: true, value: undefined }),
    fail: (error: unknown) => {
      const d = waiting.shift()
      if (!d) throw new Error('no pending pull')
      d.reject(error)
    },
    get returned() {
      return returned
    },
    get pending() {
      return waiting.length
    },
  }
}

function states(job: Job<unknown>): JobState[] {
  const seen: JobState[] = []
  job.addEventListener('statechange', () => seen.push(job.state))
  return seen
}

describe('startJob: validation', () => {
  it.each([
    [5, TypeError, 'Expected source to be an iterable or async iterable (not a string), or a function that returns one, got 5'],
    ['abc', TypeError, 'Expected source to be an iterable or async iterable (not a string), or a function that returns one, got "abc" (string)'],
    [null, TypeError, 'Expected source to be an iterable or async iterable (not a string), or a function that returns one, got null'],
    [{}, TypeError, 'Expected source to be an iterable or async iterable (not a string), or a function that returns one, got an object'],
  ])('refuses the source %j', (source, Type, message) => {
    expect(() => startJob(source as never)).toThrow(Type)
    expect(() => startJob(source as never)).toThrow(message)
  })

  it.each([
    [{ name: 5 }, TypeError, 'Expected name to be a string, got 5'],
    [{ maxBuffered: 0 }, RangeError, 'Expected maxBuffered to be an integer >= 1 or Infinity, got 0'],
    [{ maxBuffered: -1 }, RangeError, 'Expected maxBuffered to be an integer >= 1 or Infinity, got -1'],
    [{ maxBuffered: 1.5 }, RangeError, 'Expected maxBuffered to be an integer >= 1 or Infinity, got 1.5'],
    [{ maxBuffered: NaN }, RangeError, 'Expected maxBuffered to be an integer >= 1 or Infinity, got NaN'],
    [{ maxBuffered: '3' }, TypeError, 'Expected maxBuffered to be an integer >= 1 or Infinity, got "3" (string)'],
    ['fast', TypeError, 'Expected options to be an object, got "fast" (string)'],
  ])('refuses the options %j', (options, Type, message) => {
    expect(() => startJob([1], options as never)).toThrow(Type)
    expect(() => startJob([1], options as never)).toThrow(message)
  })

  it('validates receive() and wait() options at once', async () => {
    const job = startJob([1])
    expect(() => job.receive({ keep: 'yes' } as never)).toThrow(
      new TypeError('Expected keep to be a boolean, got "yes" (string)'),
    )
    expect(() => job.receive(3 as never)).toThrow(new TypeError('Expected options to be an object, got 3'))
    expect(() => job.wait({ timeout: -1 })).toThrow(new RangeError('Expected timeout to be a finite number >= 0, got -1'))
    expect(() => job.wait({ timeout: NaN })).toThrow(new RangeError('Expected timeout to be a finite number >= 0, got NaN'))
    expect(() => job.wait({ timeout: 2 ** 31 })).toThrow(
      new RangeError('Expected timeout to be at most 2147483647 ms (the longest timer delay), got 2147483648'),
    )
    expect(() => job.wait({ timeout: '1' } as never)).toThrow(
      new TypeError('Expected timeout to be a finite number >= 0, got "1" (string)'),
    )
    await job.wait()
  })

  it('gives unique, increasing ids and PowerShell-like default names', async () => {
    const a = startJob([1])
    const b = startJob([2], { name: 'backup' })
    const c = startJob([3])
    expect(b.id).toBe(a.id + 1)
    expect(c.id).toBe(b.id + 1)
    expect(a.name).toBe(`Job${a.id}`)
    expect(b.name).toBe('backup')
    expect(c.name).toBe(`Job${c.id}`)
    await Promise.all([a.wait(), b.wait(), c.wait()])
  })

  it('does not use up an id when the options are refused', () => {
    const a = startJob([1])
    expect(() => startJob([1], { maxBuffered: 0 })).toThrow(RangeError)
    expect(startJob([1]).id).toBe(a.id + 1)
  })

  it('infers the result type from a source or a factory', () => {
    expectTypeOf(startJob([1, 2])).toEqualTypeOf<Job<number>>()
    expectTypeOf(startJob(({ signal }) => parallelMap(async (n: number) => String(n), { signal })([1]))).toEqualTypeOf<
      Job<string>
    >()
    expectTypeOf(startJob(async () => [true])).toEqualTypeOf<Job<boolean>>()
    expectTypeOf(startJob(['a'])).toExtend<Job<unknown>>()
  })
})

describe('Running → Completed', () => {
  it('starts at once, in the background, and completes when the source ends', async () => {
    const source = manual<number>()
    const before = Date.now()
    const job = startJob(source.iterator)
    const seen = states(job)
    expect(job.state).toBe('Running')
    expect(job.startedAt).toBeGreaterThanOrEqual(before)
    expect(job.finishedAt).toBeUndefined()
    await tick()
    expect(source.pending).toBe(1)
    source.push(1)
    source.push(2)
    await tick()
    expect(job.hasMoreData).toBe(true)
    expect(job.state).toBe('Running')
    source.end()
    expect(await job.wait()).toBe(true)
    expect(job.state).toBe('Completed')
    expect(seen).toEqual(['Completed'])
    expect(job.error).toBeUndefined()
    expect(job.finishedAt).toBeGreaterThanOrEqual(job.startedAt!)
    expect(job.receive()).toEqual([1, 2])
    expect(job.hasMoreData).toBe(false)
  })

  it('fires every event to listeners added right after startJob, even for a synchronous source', async () => {
    const job = startJob([1, 2, 3])
    let data = 0
    job.addEventListener('data', () => data++)
    const seen = states(job)
    await job.wait()
    expect(data).toBe(3)
    expect(seen).toEqual(['Completed'])
  })

  it('awaits promises from a synchronous source, like for await', async () => {
    const job = startJob([Promise.resolve('a'), 'b'])
    await job.wait()
    expect(job.receive()).toEqual(['a', 'b'])
  })

  it('accepts a factory that returns a promise of a source', async () => {
    const job = startJob(async () => ['x'])
    await job.wait()
    expect(job.state).toBe('Completed')
    expect(job.receive()).toEqual(['x'])
  })
})

describe('receive', () => {
  it('returns what was produced since the last receive and removes it', async () => {
    const source = manual<number>()
    const job = startJob(source.iterator)
    expect(job.receive()).toEqual([])
    source.push(1)
    source.push(2)
    await tick()
    expect(job.receive()).toEqual([1, 2])
    expect(job.receive()).toEqual([])
    source.push(3)
    await tick()
    expect(job.receive()).toEqual([3])
    source.end()
    await job.wait()
  })

  it('with keep, leaves the results to be received again', async () => {
    const job = startJob([1, 2, 3])
    await job.wait()
    expect(job.receive({ keep: true })).toEqual([1, 2, 3])
    expect(job.hasMoreData).toBe(true)
    const kept = job.receive({ keep: true })
    kept.push(99)
    expect(job.receive({ keep: false })).toEqual([1, 2, 3])
    expect(job.receive()).toEqual([])
    expect(job.hasMoreData).toBe(false)
  })
})

describe('Running → Failed', () => {
  it('keeps the results produced before the failure and records the error', async () => {
    const boom = new Error('boom')
    async function* source() {
      yield 1
      yield 2
      throw boom
    }
    const job = startJob(source())
    const seen = states(job)
    expect(await job.wait()).toBe(true)
    expect(job.state).toBe('Failed')
    expect(job.error).toBe(boom)
    expect(seen).toEqual(['Failed'])
    expect(job.receive()).toEqual([1, 2])
  })

  it('fails, without an unhandled rejection, when the factory throws', async () => {
    const boom = new Error('factory')
    const job = startJob(() => {
      throw boom
    })
    expect(job.state).toBe('Running')
    await job.wait()
    expect(job.state).toBe('Failed')
    expect(job.error).toBe(boom)
  })

  it('fails when the factory rejects', async () => {
    const boom = new Error('later')
    const job = startJob(async () => {
      throw boom
    })
    await job.wait()
    expect(job.error).toBe(boom)
  })

  it('fails with a TypeError when the factory returns something that is not a source', async () => {
    const job = startJob(() => 42 as never)
    await job.wait()
    expect(job.state).toBe('Failed')
    expect(job.error).toBeInstanceOf(TypeError)
    expect((job.error as Error).message).toBe(
      "Expected the factory's result to be an iterable or async iterable (not a string), got 42",
    )
  })

  it('fails when opening the source throws', async () => {
    const boom = new Error('open')
    const job = startJob({
      [Symbol.asyncIterator]() {
        throw boom
      },
    })
    await job.wait()
    expect(job.error).toBe(boom)
  })

  it('closes a synchronous source whose promise item rejects', async () => {
    const boom = new Error('item')
    let closed = false
    function* source() {
      try {
        yield 1
        yield Promise.reject(boom)
        yield 3
      } finally {
        closed = true
      }
    }
    const job = startJob(source())
    await job.wait()
    expect(job.error).toBe(boom)
    expect(closed).toBe(true)
    expect(job.receive()).toEqual([1])
  })

  it('leaves no unhandled rejection behind failed jobs that nobody looks at', async () => {
    const jobs = [
      startJob(() => {
        throw new Error('factory')
      }),
      startJob(async () => {
        throw new Error('async factory')
      }),
      startJob(
        (async function* () {
          yield 1
          throw new Error('source')
        })(),
      ),
      startJob([Promise.reject(new Error('item'))]),
    ]
    await tick()
    await tick()
    // failOnUnhandledRejections checks after the test that none of these went unhandled.
    expect(jobs.map((job) => job.state)).toEqual(['Failed', 'Failed', 'Failed', 'Failed'])
  })

  it('fails with the task error of a parallelMap pipeline', async () => {
    const boom = new Error('item 2')
    const job = startJob(({ signal }) =>
      parallelMap(
        async (n: number) => {
          if (n === 2) throw boom
          return n
        },
        { signal, concurrency: 1 },
      )([1, 2, 3]),
    )
    await job.wait()
    expect(job.state).toBe('Failed')
    expect(job.error).toBe(boom)
    expect(job.receive()).toEqual([1])
  })
})

describe('Running → Stopped', () => {
  it('stays Completed when stop() comes after the source has ended, even before the job settled', async () => {
    const job = startJob([1, 2])
    const seen: number[] = []
    for await (const x of job) {
      seen.push(x)
      if (x === 2) await job.stop()
    }
    expect(seen).toEqual([1, 2])
    expect(job.state).toBe('Completed')
  })

  it('aborts a parallelMap with in-flight work and resolves after it has settled', async () => {
    let running = 0
    let settled = 0
    const aborted: unknown[] = []
    let sourceClosed = false
    function* items() {
      try {
        for (let i = 0; ; i++) yield i
      } finally {
        sourceClosed = true
      }
    }
    let context: JobContext | undefined
    const job = startJob((ctx) => {
      context = ctx
      return parallelMap(
        (n: number, { signal }) => {
          running++
          // Items 0-2 finish at once; later ones wait for the abort.
          if (n < 3) {
            running--
            return n
          }
          return new Promise<number>((_, reject) => {
            signal.addEventListener(
              'abort',
              () => {
                aborted.push(signal.reason)
                // Settles a few hops after the abort, to prove stop() waits for it.
                void tick().then(() => {
                  running--
                  settled++
                  reject(signal.reason)
                })
              },
              { once: true },
            )
          })
        },
        { concurrency: 4, signal: ctx.signal, onProgress: ctx.reportProgress },
      )(items())
    })
    const seen = states(job)
    await tick()
    expect(running).toBe(4)
    expect(job.receive()).toEqual([0, 1, 2])
    await job.stop()
    expect(job.state).toBe('Stopped')
    expect(seen).toEqual(['Stopped'])
    expect(running).toBe(0)
    expect(settled).toBe(4)
    expect(aborted).toHaveLength(4)
    expect(sourceClosed).toBe(true)
    expect(job.error).toBeUndefined()
    expect(context!.signal.aborted).toBe(true)
    expect(context!.signal.reason).toBeInstanceOf(DOMException)
    expect((context!.signal.reason as DOMException).name).toBe('AbortError')
    expect(getEventListeners(context!.signal, 'abort')).toHaveLength(0)
    expect(job.progress?.running).toBe(0)
  })

  it('aborts a parallelMap given as a ready source, through its return()', async () => {
    const tasks = new Tasks<number>(true)
    const job = startJob(parallelMap(tasks.fn, { concurrency: 3 })(naturals()))
    await tick()
    expect(tasks.running).toBe(3)
    await job.stop()
    expect(tasks.running).toBe(0)
    expect(tasks.aborted()).toEqual([0, 1, 2])
    expect(job.state).toBe('Stopped')
  })

  it('keeps the results produced before the stop receivable', async () => {
    const source = manual<string>()
    const job = startJob(source.iterator)
    source.push('a')
    source.push('b')
    await tick()
    await job.stop()
    expect(source.returned).toBe(true)
    expect(job.state).toBe('Stopped')
    expect(job.hasMoreData).toBe(true)
    expect(job.receive()).toEqual(['a', 'b'])
  })

  it('discards a result that arrives after stop() was called', async () => {
    let release!: () => void
    const job = startJob(
      (async function* () {
        yield 'before'
        await new Promise<void>((resolve) => (release = resolve))
        yield 'after'
      })(),
    )
    await tick()
    const stopping = job.stop()
    release()
    await stopping
    expect(job.receive()).toEqual(['before'])
  })

  it('does not call the factory when stopped before it started', async () => {
    const factory = vi.fn(() => [1])
    const job = startJob(factory)
    await job.stop()
    expect(factory).not.toHaveBeenCalled()
    expect(job.state).toBe('Stopped')
  })

  it('closes a source whose factory promise resolves after the stop', async () => {
    const source = new ProbeSource(naturals())
    const ready = deferred<AsyncIterable<number>>()
    const job = startJob(() => ready.promise)
    await tick()
    const stopping = job.stop()
    ready.resolve(source)
    await stopping
    expect(job.state).toBe('Stopped')
    expect(job.receive()).toEqual([])
    expect(source.pulled).toBe(0)
    expect(source.returned).toBe(true)
  })

  it('is the same promise when called twice, and does nothing to a finished job', async () => {
    const source = manual<number>()
    const job = startJob(source.iterator)
    await tick()
    expect(job.stop()).toBe(job.stop())
    await job.stop()
    const done = startJob([1])
    await done.wait()
    await done.stop()
    expect(done.state).toBe('Completed')
    const failed = startJob(() => {
      throw new Error('x')
    })
    await failed.wait()
    await failed.stop()
    expect(failed.state).toBe('Failed')
  })

  it('stops a job whose buffer is full', async () => {
    const source = new ProbeSource(naturals())
    const job = startJob(source, { maxBuffered: 2 })
    await tick()
    expect(job.receive({ keep: true })).toEqual([0, 1])
    await job.stop()
    expect(job.state).toBe('Stopped')
    expect(source.returned).toBe(true)
    expect(job.receive()).toEqual([0, 1])
  })

  it('ignores a source whose return() throws, and still stops', async () => {
    let n = 0
    const job = startJob(
      {
        [Symbol.iterator]: () => ({
          next: () => ({ done: false, value: n++ }),
          return: () => {
            throw new Error('cannot close')
          },
        }),
      },
      { maxBuffered: 1 },
    )
    await tick()
    await job.stop()
    expect(job.state).toBe('Stopped')
    expect(job.receive()).toEqual([0])
  })

  it('waits for a pull that ignores the signal before it settles', async () => {
    const source = manual<number>()
    const job = startJob({ [Symbol.asyncIterator]: () => ({ next: () => source.iterator.next() }) })
    await tick()
    let stopped = false
    const stopping = job.stop().then(() => (stopped = true))
    await tick()
    expect(stopped).toBe(false)
    expect(job.state).toBe('Running')
    source.push(1)
    await stopping
    expect(job.state).toBe('Stopped')
    expect(job.receive()).toEqual([])
  })

  it('stops on await using', async () => {
    const source = new ProbeSource(naturals())
    let job: Job<number> | undefined
    {
      await using running = startJob(source, { maxBuffered: 1 })
      job = running
      await tick()
    }
    expect(job.state).toBe('Stopped')
    expect(source.returned).toBe(true)
  })
})

describe('wait', () => {
  it('resolves false at the timeout, leaves the job running and leaves no timer or listener', async () => {
    vi.useFakeTimers()
    const source = manual<number>()
    const job = startJob(source.iterator)
    const result = job.wait({ timeout: 100 })
    await vi.advanceTimersByTimeAsync(99)
    expect(getEventListeners(job, 'statechange')).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(await result).toBe(false)
    expect(job.state).toBe('Running')
    expect(vi.getTimerCount()).toBe(0)
    expect(getEventListeners(job, 'statechange')).toHaveLength(0)
    source.end()
    expect(await job.wait({ timeout: 100 })).toBe(true)
  })

  it('takes timeout: Infinity as no timeout', async () => {
    vi.useFakeTimers()
    const source = manual<number>()
    const job = startJob(source.iterator)
    const result = job.wait({ timeout: Infinity })
    expect(vi.getTimerCount()).toBe(0)
    source.end()
    expect(await result).toBe(true)
  })

  it('resolves true when the job ends before the timeout, and clears the timer', async () => {
    vi.useFakeTimers()
    const source = manual<number>()
    const job = startJob(source.iterator)
    const result = job.wait({ timeout: 1_000 })
    await vi.advanceTimersByTimeAsync(10)
    expect(vi.getTimerCount()).toBe(1)
    source.end()
    expect(await result).toBe(true)
    expect(vi.getTimerCount()).toBe(0)
    expect(getEventListeners(job, 'statechange')).toHaveLength(0)
  })

  it('resolves true for a failed or stopped job, never rejects', async () => {
    const failed = startJob(() => {
      throw new Error('x')
    })
    expect(await failed.wait()).toBe(true)
    const stopped = startJob(manual<number>().iterator)
    void stopped.stop()
    expect(await stopped.wait()).toBe(true)
  })

  it('with timeout 0, tells whether the job has finished without waiting for it', async () => {
    vi.useFakeTimers()
    const source = manual<number>()
    const job = startJob(source.iterator)
    const result = job.wait({ timeout: 0 })
    await vi.advanceTimersByTimeAsync(0)
    expect(await result).toBe(false)
    source.end()
    await tick()
    expect(await job.wait({ timeout: 0 })).toBe(true)
    expect(vi.getTimerCount()).toBe(0)
  })
})

describe('async iterator', () => {
  it('streams results as they arrive, removes them, and ends with the job', async () => {
    const source = manual<number>()
    const job = startJob(source.iterator)
    source.push(1)
    await tick()
    const got: number[] = []
    const loop = (async () => {
      for await (const value of job) {
        got.push(value)
        if (value === 2) source.push(3)
      }
    })()
    await tick()
    expect(got).toEqual([1])
    expect(job.hasMoreData).toBe(false)
    source.push(2)
    await tick()
    expect(got).toEqual([1, 2, 3])
    source.end()
    await loop
    expect(job.state).toBe('Completed')
    expect(job.receive()).toEqual([])
  })

  it('hands a result straight to a waiting iterator without a data event', async () => {
    const source = manual<number>()
    const job = startJob(source.iterator)
    let data = 0
    job.addEventListener('data', () => data++)
    const iterator = job[Symbol.asyncIterator]()
    const first = iterator.next()
    source.push(7)
    expect(await first).toEqual({ done: false, value: 7 })
    expect(data).toBe(0)
    source.push(8)
    await tick()
    expect(data).toBe(1)
    expect(await iterator.next()).toEqual({ done: false, value: 8 })
    await job.stop()
  })

  it('yields the results, then rethrows the failure once', async () => {
    const boom = new Error('boom')
    const job = startJob(
      (async function* () {
        yield 1
        throw boom
      })(),
    )
    const iterator = job[Symbol.asyncIterator]()
    const pending = [iterator.next(), iterator.next(), iterator.next()]
    expect(await pending[0]).toEqual({ done: false, value: 1 })
    await expect(pending[1]).rejects.toBe(boom)
    expect(await pending[2]).toEqual({ done: true, value: undefined })
    expect(await iterator.next()).toEqual({ done: true, value: undefined })
    const late = job[Symbol.asyncIterator]()
    await expect(late.next()).rejects.toBe(boom)
  })

  it('ends quietly for a stopped job', async () => {
    const source = manual<number>()
    const job = startJob(source.iterator)
    source.push(1)
    const got: number[] = []
    const loop = (async () => {
      for await (const value of job) got.push(value)
    })()
    await tick()
    await job.stop()
    await loop
    expect(got).toEqual([1])
  })

  it('leaving the loop early does not stop the job, and answers its own pending calls', async () => {
    const source = manual<number>()
    const job = startJob(source.iterator)
    source.push(1)
    for await (const value of job) {
      expect(value).toBe(1)
      break
    }
    const iterator = job[Symbol.asyncIterator]()
    const other = job[Symbol.asyncIterator]()
    const pending = iterator.next()
    const otherPending = other.next()
    expect(await iterator.return!()).toEqual({ done: true, value: undefined })
    expect(await pending).toEqual({ done: true, value: undefined })
    expect(await iterator.next()).toEqual({ done: true, value: undefined })
    source.push(2)
    expect(await otherPending).toEqual({ done: false, value: 2 })
    expect(job.state).toBe('Running')
    source.end()
    await job.wait()
  })
})

describe('maxBuffered', () => {
  it('pauses the pulling while the buffer is full, until receive() makes room', async () => {
    const source = new ProbeSource(naturals())
    const job = startJob(source, { maxBuffered: 3 })
    await tick()
    expect(source.pulled).toBe(3)
    expect(job.receive({ keep: true })).toEqual([0, 1, 2])
    await tick()
    expect(source.pulled).toBe(3)
    expect(job.receive()).toEqual([0, 1, 2])
    await tick()
    expect(source.pulled).toBe(6)
    expect(job.receive()).toEqual([3, 4, 5])
    await job.stop()
  })

  it('lets the async iterator make room one result at a time', async () => {
    const source = new ProbeSource(naturals())
    const job = startJob(source, { maxBuffered: 2 })
    const got: number[] = []
    for await (const value of job) {
      got.push(value)
      await tick()
      expect(source.pulled - got.length).toBeLessThanOrEqual(2)
      if (got.length === 10) break
    }
    expect(got).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    await job.stop()
  })

  it('holds at most maxBuffered + readAhead items of a parallelMap pipeline', async () => {
    const source = new ProbeSource(naturals())
    const job = startJob(({ signal }) => parallelMap((n: number) => n * 2, { concurrency: 2, signal })(source), {
      maxBuffered: 5,
    })
    await tick()
    expect(job.receive({ keep: true })).toHaveLength(5)
    expect(source.pulled).toBeLessThanOrEqual(5 + 4)
    expect(job.receive()).toEqual([0, 2, 4, 6, 8])
    await tick()
    expect(job.receive()).toEqual([10, 12, 14, 16, 18])
    await job.stop()
    expect(source.returned).toBe(true)
  })

  it('hands every result out exactly once, in order, never holding more than maxBuffered', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 25 }),
        fc.array(fc.constantFrom('receive', 'keep', 'next', 'tick'), { maxLength: 40 }),
        async (maxBuffered, n, actions) => {
          const job = startJob(
            (async function* () {
              for (let i = 0; i < n; i++) yield i
            })(),
            { maxBuffered },
          )
          const iterator = job[Symbol.asyncIterator]()
          const received: number[] = []
          const iterated: number[] = []
          const pending: Promise<unknown>[] = []
          for (const action of actions) {
            if (action === 'receive') received.push(...job.receive())
            else if (action === 'keep') expect(job.receive({ keep: true }).length).toBeLessThanOrEqual(maxBuffered)
            else if (action === 'next') pending.push(iterator.next().then((r) => r.done || iterated.push(r.value)))
            else await tick()
          }
          await Promise.all(pending)
          for await (const value of job) iterated.push(value)
          expect(job.state).toBe('Completed')
          expect(received).toEqual([...received].sort((a, b) => a - b))
          expect(iterated).toEqual([...iterated].sort((a, b) => a - b))
          expect([...received, ...iterated].sort((a, b) => a - b)).toEqual(range(n))
        },
      ),
      { numRuns: 150 },
    )
  })

  it('lets the buffer grow without it', async () => {
    const job = startJob(range(10_000))
    await job.wait()
    expect(job.receive()).toHaveLength(10_000)
  })
})

describe('progress', () => {
  it('shows the latest Progress reported by the pipeline and fires a progress event', async () => {
    const reported: Progress[] = []
    const job = startJob(({ reportProgress, signal }) =>
      parallelMap(async (n: number) => n, { signal, onProgress: reportProgress, total: 4 })([1, 2, 3, 4]),
    )
    expect(job.progress).toBeUndefined()
    job.addEventListener('progress', () => reported.push(job.progress!))
    await job.wait()
    expect(reported.length).toBeGreaterThanOrEqual(4)
    expect(job.progress).toMatchObject({ done: 4, succeeded: 4, total: 4, percent: 100 })
  })

  it('refuses a progress that is not an object, failing the pipeline', async () => {
    const job = startJob(async function* ({ reportProgress }) {
      reportProgress(5 as never)
      yield 1
    })
    await job.wait()
    expect(job.state).toBe('Failed')
    expect((job.error as Error).message).toBe('Expected progress to be an object, got 5')
  })
})

describe('many jobs', () => {
  it('runs 200 jobs at once to completion', async () => {
    const jobs = Array.from({ length: 200 }, (_, i) =>
      startJob(({ signal }) => parallelMap(async (n: number) => n + i, { signal, concurrency: 3 })([0, 1, 2, 3])),
    )
    await Promise.all(jobs.map((job) => job.wait()))
    for (let i = 0; i < jobs.length; i++) {
      expect(jobs[i]!.state).toBe('Completed')
      expect(jobs[i]!.receive()).toEqual([i, i + 1, i + 2, i + 3])
      if (i > 0) expect(jobs[i]!.id).toBeGreaterThan(jobs[i - 1]!.id)
    }
    expect(new Set(jobs.map((job) => job.name)).size).toBe(200)
  })
})

/** A job whose source never answers its pending `next()` and has no `return()`: stuck work. */
function stuck() {
  const pull = deferred<IteratorResult<number>>()
  const job = startJob<number>({ [Symbol.asyncIterator]: () => ({ next: () => pull.promise }) })
  return { job, pull }
}

/** Stops `job` with `timeout` under fake timers and checks that it gives up exactly then, leaving no timer. */
async function expectStopGivesUpAt(job: Job<unknown>, timeout: number): Promise<void> {
  const stopping = job.stop({ timeout })
  await vi.advanceTimersByTimeAsync(timeout - 1)
  expect(job.state).toBe('Running')
  await vi.advanceTimersByTimeAsync(1)
  await stopping
  expect(job.state).toBe('Stopped')
  expect(vi.getTimerCount()).toBe(0)
}

describe('stop({ timeout })', () => {
  it('validates its options at once, even on a finished job', async () => {
    const job = startJob([1])
    await job.wait()
    expect(() => job.stop({ timeout: -1 })).toThrow(new RangeError('Expected timeout to be a finite number >= 0, got -1'))
    expect(() => job.stop({ timeout: NaN })).toThrow(RangeError)
    expect(() => job.stop({ timeout: '5' } as never)).toThrow(
      new TypeError('Expected timeout to be a finite number >= 0, got "5" (string)'),
    )
    expect(() => job.stop({ timout: 5 } as never)).toThrow(new TypeError('Unknown option timout; did you mean timeout?'))
    expect(() => job.stop(5 as never)).toThrow(new TypeError('Expected options to be an object, got 5'))
  })

  it('gives up on work that never settles after 5 s by default: Stopped, no timer left', async () => {
    vi.useFakeTimers()
    const { job } = stuck()
    const seen = states(job)
    await tick()
    const stopping = job.stop()
    await vi.advanceTimersByTimeAsync(4_999)
    expect(job.state).toBe('Running')
    expect(await isSettled(stopping)).toBe(false)
    await vi.advanceTimersByTimeAsync(1)
    expect(job.state).toBe('Stopped')
    await stopping
    expect(seen).toEqual(['Stopped'])
    expect(vi.getTimerCount()).toBe(0)
    expect(job.finishedAt).toBeDefined()
  })

  it('gives up at the timeout given', async () => {
    vi.useFakeTimers()
    const { job } = stuck()
    await tick()
    await expectStopGivesUpAt(job, 100)
  })

  it('clears its timer when the work settles before the timeout', async () => {
    vi.useFakeTimers()
    const { job, pull } = stuck()
    await tick()
    const stopping = job.stop({ timeout: 1_000 })
    expect(vi.getTimerCount()).toBe(1)
    pull.resolve({ done: false, value: 1 })
    await stopping
    expect(job.state).toBe('Stopped')
    expect(vi.getTimerCount()).toBe(0)
    expect(job.receive()).toEqual([])
  })

  it('waits for ever with timeout: Infinity, without a timer', async () => {
    vi.useFakeTimers()
    const { job, pull } = stuck()
    await tick()
    const stopping = job.stop({ timeout: Infinity })
    expect(vi.getTimerCount()).toBe(0)
    await vi.advanceTimersByTimeAsync(60_000)
    expect(job.state).toBe('Running')
    pull.resolve({ done: true, value: undefined })
    await stopping
    expect(job.state).toBe('Stopped')
  })

  it('returns the same promise to every call; a shorter timeout brings the end forward, a longer one does not', async () => {
    vi.useFakeTimers()
    const { job } = stuck()
    await tick()
    const first = job.stop({ timeout: 1_000 })
    expect(job.stop({ timeout: 5_000 })).toBe(first)
    await vi.advanceTimersByTimeAsync(100)
    expect(job.stop({ timeout: 200 })).toBe(first)
    expect(vi.getTimerCount()).toBe(1)
    await vi.advanceTimersByTimeAsync(199)
    expect(job.state).toBe('Running')
    await vi.advanceTimersByTimeAsync(1)
    expect(job.state).toBe('Stopped')
    await first
    expect(vi.getTimerCount()).toBe(0)
  })

  it('with timeout 0, gives up a timer turn later', async () => {
    vi.useFakeTimers()
    const { job } = stuck()
    await tick()
    const stopping = job.stop({ timeout: 0 })
    expect(job.state).toBe('Running')
    await vi.advanceTimersByTimeAsync(0)
    await stopping
    expect(job.state).toBe('Stopped')
  })

  it('discards what the abandoned work yields later, still closes it, and fires no second statechange', async () => {
    vi.useFakeTimers()
    let closed = false
    const pull = deferred<IteratorResult<string>>()
    const job = startJob<string>({
      [Symbol.asyncIterator]: () => ({
        next: () => pull.promise,
        return: () => {
          closed = true
          return Promise.resolve({ done: true, value: undefined })
        },
      }),
    })
    const seen = states(job)
    await tick()
    const stopping = job.stop({ timeout: 10 })
    await vi.advanceTimersByTimeAsync(10)
    await stopping
    expect(job.state).toBe('Stopped')
    pull.resolve({ done: false, value: 'late' })
    await tick()
    await tick()
    expect(job.receive()).toEqual([])
    expect(seen).toEqual(['Stopped'])
    expect(closed).toBe(true)
  })

  it('leaves no unhandled rejection when the abandoned work fails later', async () => {
    vi.useFakeTimers()
    const { job, pull } = stuck()
    await tick()
    const stopping = job.stop({ timeout: 10 })
    await vi.advanceTimersByTimeAsync(10)
    await stopping
    pull.reject(new Error('too late'))
    await tick()
    expect(job.state).toBe('Stopped')
    expect(job.error).toBeUndefined()
  })

  it('abandons a parallelMap whose fn ignores its aborted signal and never settles', async () => {
    vi.useFakeTimers()
    let calls = 0
    let context: JobContext | undefined
    const job = startJob((ctx) => {
      context = ctx
      return parallelMap(
        () => {
          calls++
          return new Promise<never>(() => {})
        },
        { concurrency: 2, signal: ctx.signal },
      )(naturals())
    })
    await tick()
    expect(calls).toBe(2)
    await expectStopGivesUpAt(job, 50)
    expect(context!.signal.aborted).toBe(true)
  })

  it('ends pending async iterators quietly when it gives up', async () => {
    vi.useFakeTimers()
    const { job } = stuck()
    const pending = job[Symbol.asyncIterator]().next()
    await tick()
    const stopping = job.stop({ timeout: 10 })
    await vi.advanceTimersByTimeAsync(10)
    await stopping
    expect(await pending).toEqual({ done: true, value: undefined })
  })
})

describe('item reports', () => {
  /** A job whose factory hands its context out, and whose source the test ends. */
  function reporting() {
    const source = manual<number>()
    let context: JobContext | undefined
    const job = startJob((ctx) => {
      context = ctx
      return source.iterator
    })
    return { job, source, context: () => context! }
  }

  it('keeps the latest report of each item and fires a report event carrying it', async () => {
    const { job, source, context } = reporting()
    const events: ItemReport[] = []
    job.addEventListener('report', (event) => {
      expect(event).toBeInstanceOf(CustomEvent)
      expect(event.target).toBe(job)
      events.push((event as CustomEvent<ItemReport>).detail)
    })
    await tick()
    expect(job.itemReports.size).toBe(0)
    const { reportItem } = context()
    reportItem({ index: 0, item: 'a', value: 10 })
    reportItem({ index: 1, item: 'b', value: 'half' })
    reportItem({ index: 0, item: 'a', value: 20 })
    expect([...job.itemReports]).toEqual([
      [0, { index: 0, item: 'a', value: 20 }],
      [1, { index: 1, item: 'b', value: 'half' }],
    ])
    expect(events.map((report) => report.value)).toEqual([10, 'half', 20])
    source.end()
    await job.wait()
  })

  it('drops an item entry when the scheduler says the item settled', async () => {
    const { job, source, context } = reporting()
    await tick()
    const reportItem = context().reportItem as SettleAwareReportHandler<unknown>
    reportItem({ index: 0, item: 'a', value: 1 })
    reportItem({ index: 1, item: 'b', value: 2 })
    reportItem[ITEM_SETTLED]!(0)
    expect([...job.itemReports.keys()]).toEqual([1])
    reportItem[ITEM_SETTLED]!(7)
    expect([...job.itemReports.keys()]).toEqual([1])
    source.end()
    await job.wait()
  })

  it('forgets every entry when the job finishes, and ignores later reports', async () => {
    const { job, source, context } = reporting()
    let events = 0
    job.addEventListener('report', () => events++)
    await tick()
    const { reportItem } = context()
    reportItem({ index: 3, item: 3, value: 'x' })
    await job.stop()
    expect(job.itemReports.size).toBe(0)
    reportItem({ index: 4, item: 4, value: 'y' })
    expect(job.itemReports.size).toBe(0)
    expect(events).toBe(1)
    expect(source.returned).toBe(true)
  })

  it('refuses a report that is not an object', async () => {
    const { job, source, context } = reporting()
    await tick()
    expect(() => context().reportItem(5 as never)).toThrow(new TypeError('Expected report to be an object, got 5'))
    expect(job.itemReports.size).toBe(0)
    source.end()
    await job.wait()
  })

  it('is one handler per job, usable detached', async () => {
    const { job, source, context } = reporting()
    await tick()
    const { reportItem } = context()
    expect(context().reportItem).toBe(reportItem)
    expect(typeof (reportItem as SettleAwareReportHandler<unknown>)[ITEM_SETTLED]).toBe('function')
    source.end()
    await job.wait()
  })
})

describe('item reports from a real parallelMap', () => {
  it('shows the latest report of each running item and drops it when the item settles', async () => {
    const tasks = new Tasks<string>(true)
    const events: ItemReport[] = []
    const job = startJob(({ signal, reportItem }) =>
      parallelMap(tasks.fn, { concurrency: 3, signal, onReport: reportItem })(['a', 'b', 'c', 'd']),
    )
    job.addEventListener('report', (event) => events.push((event as CustomEvent<ItemReport>).detail))
    await tick()
    expect(tasks.items()).toEqual(['a', 'b', 'c'])
    // Destructured, as users write it.
    const { report: reportA } = tasks.call('a').context
    reportA(10)
    tasks.call('b').context.report('loading')
    reportA(50)
    expect([...job.itemReports.values()]).toEqual([
      { index: 0, item: 'a', value: 50 },
      { index: 1, item: 'b', value: 'loading' },
    ])
    expect(events.map(({ item, value }) => [item, value])).toEqual([
      ['a', 10],
      ['b', 'loading'],
      ['a', 50],
    ])

    tasks.call('a').resolve('A')
    await tick()
    expect([...job.itemReports.keys()]).toEqual([1])
    reportA(100)
    expect([...job.itemReports.keys()]).toEqual([1])
    expect(events).toHaveLength(3)

    tasks.call('d').context.report('started')
    expect([...job.itemReports.keys()]).toEqual([1, 3])
    for (const item of ['b', 'c', 'd']) tasks.call(item).resolve(item.toUpperCase())
    await job.wait()
    expect(job.state).toBe('Completed')
    expect(job.itemReports.size).toBe(0)
    expect(job.receive()).toEqual(['A', 'B', 'C', 'D'])
  })

  it('forgets the running items reports when the job is stopped', async () => {
    const tasks = new Tasks<number>(true)
    const job = startJob(({ signal, reportItem }) =>
      parallelMap(tasks.fn, { concurrency: 2, signal, onReport: reportItem })(naturals()),
    )
    await tick()
    tasks.call(0).context.report('half')
    tasks.call(1).context.report('a third')
    expect(job.itemReports.size).toBe(2)
    await job.stop()
    expect(job.itemReports.size).toBe(0)
    tasks.call(0).context.report('late')
    expect(job.itemReports.size).toBe(0)
  })
})

describe('async iterators share the results', () => {
  it('hands each result to the oldest parked next() call, across iterators', async () => {
    const source = manual<number>()
    const job = startJob(source.iterator)
    const a = job[Symbol.asyncIterator]()
    const b = job[Symbol.asyncIterator]()
    const calls = [a.next(), b.next(), a.next(), b.next()]
    for (const n of [1, 2, 3, 4]) source.push(n)
    expect(await Promise.all(calls)).toEqual([1, 2, 3, 4].map((value) => ({ done: false, value })))
    source.end()
    await job.wait()
  })

  it('skips the parked calls of an iterator closed by return()', async () => {
    const source = manual<number>()
    const job = startJob(source.iterator)
    const a = job[Symbol.asyncIterator]()
    const b = job[Symbol.asyncIterator]()
    const calls = [a.next(), a.next(), b.next()]
    await a.return!()
    source.push(1)
    expect(await Promise.all(calls)).toEqual([
      { done: true, value: undefined },
      { done: true, value: undefined },
      { done: false, value: 1 },
    ])
    source.end()
    await job.wait()
  })

  it('fails each open iterator once when the job fails', async () => {
    const boom = new Error('boom')
    const source = manual<number>()
    const job = startJob(source.iterator)
    const a = job[Symbol.asyncIterator]()
    const b = job[Symbol.asyncIterator]()
    const c = job[Symbol.asyncIterator]()
    const calls = [a.next(), b.next(), a.next()]
    await tick()
    source.fail(boom)
    await expect(calls[0]).rejects.toBe(boom)
    await expect(calls[1]).rejects.toBe(boom)
    expect(await calls[2]).toEqual({ done: true, value: undefined })
    await expect(c.next()).rejects.toBe(boom)
    expect(await c.next()).toEqual({ done: true, value: undefined })
  })
})
