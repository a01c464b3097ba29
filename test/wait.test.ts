import { abortable } from 'abort-controller-x'
import { getEventListeners } from 'node:events'
import { afterEach, describe, expect, expectTypeOf, it, vi } from 'vitest'
import { JobTable, startJob, waitAll, waitAny, type Job } from '../src/index.js'
import { deferred } from '../src/internal/deferred.js'
import { failOnUnhandledRejections } from './helpers.js'

failOnUnhandledRejections()

afterEach(() => {
  vi.useRealTimers()
})

/** A job that runs until `finish()` ends its source, `fail()` makes it throw, or it is stopped. */
function controlled(name?: string) {
  const gate = deferred<void>()
  const job = startJob(
    async function* ({ signal }) {
      await abortable(signal, gate.promise)
      yield name ?? 'done'
    },
    name === undefined ? undefined : { name },
  )
  return { job, finish: () => gate.resolve(), fail: (error: unknown) => gate.reject(error) }
}

function listeners(jobs: Job<unknown>[]): number {
  return jobs.reduce((sum, job) => sum + getEventListeners(job, 'statechange').length, 0)
}

describe('waitAll', () => {
  it('resolves true once every job has finished, failed ones included', async () => {
    const a = controlled()
    const b = controlled()
    const c = controlled()
    let result: boolean | undefined
    const waiting = waitAll([a.job, b.job, c.job]).then((r) => (result = r))
    a.finish()
    b.fail(new Error('b'))
    await a.job.wait()
    await b.job.wait()
    expect(result).toBeUndefined()
    c.finish()
    await waiting
    expect(result).toBe(true)
    expect(b.job.state).toBe('Failed')
  })

  it('resolves false at the timeout, leaves the jobs running, no timer or listener left', async () => {
    vi.useFakeTimers()
    const a = controlled()
    const b = controlled()
    a.finish()
    await a.job.wait()
    const result = waitAll([a.job, b.job], { timeout: 500 })
    expect(listeners([a.job, b.job])).toBe(1)
    await vi.advanceTimersByTimeAsync(500)
    expect(await result).toBe(false)
    expect(b.job.state).toBe('Running')
    expect(vi.getTimerCount()).toBe(0)
    expect(listeners([a.job, b.job])).toBe(0)
    await b.job.stop()
  })

  it('clears its timer when the jobs finish in time', async () => {
    vi.useFakeTimers()
    const a = controlled()
    const b = controlled()
    const result = waitAll([a.job, b.job], { timeout: 10_000 })
    a.finish()
    b.finish()
    expect(await result).toBe(true)
    expect(vi.getTimerCount()).toBe(0)
    expect(listeners([a.job, b.job])).toBe(0)
  })

  it('resolves true at once for no jobs, or jobs that have all finished', async () => {
    expect(await waitAll([])).toBe(true)
    const done = startJob([1])
    await done.wait()
    expect(await waitAll([done], { timeout: 0 })).toBe(true)
  })

  it('counts a job listed twice once, and takes any iterable', async () => {
    const a = controlled()
    const result = waitAll(new Set([a.job]).values())
    const twice = waitAll([a.job, a.job])
    a.finish()
    expect(await result).toBe(true)
    expect(await twice).toBe(true)
  })
})

describe('waitAny', () => {
  it('resolves with the first job to finish', async () => {
    const a = controlled('a')
    const b = controlled('b')
    const result = waitAny([a.job, b.job])
    b.finish()
    expect(await result).toBe(b.job)
    expect(a.job.state).toBe('Running')
    expect(listeners([a.job, b.job])).toBe(0)
    await a.job.stop()
  })

  it('counts a failed or stopped job as finished', async () => {
    const a = controlled()
    const b = controlled()
    const result = waitAny([a.job, b.job])
    a.fail(new Error('a'))
    expect(await result).toBe(a.job)
    const stopped = waitAny([b.job])
    void b.job.stop()
    expect(await stopped).toBe(b.job)
  })

  it('resolves with the first already finished job, in the given order', async () => {
    const running = controlled()
    const first = startJob([1])
    const second = startJob([2])
    await waitAll([first, second])
    expect(await waitAny([running.job, second, first])).toBe(second)
    await running.job.stop()
  })

  it('resolves undefined at the timeout, no timer or listener left', async () => {
    vi.useFakeTimers()
    const a = controlled()
    const b = controlled()
    const result = waitAny([a.job, b.job], { timeout: 250 })
    expect(listeners([a.job, b.job])).toBe(2)
    await vi.advanceTimersByTimeAsync(250)
    expect(await result).toBeUndefined()
    expect(vi.getTimerCount()).toBe(0)
    expect(listeners([a.job, b.job])).toBe(0)
    expect(a.job.state).toBe('Running')
    a.finish()
    b.finish()
    await waitAll([a.job, b.job])
  })

  it('resolves undefined at once for no jobs', async () => {
    expect(await waitAny([])).toBeUndefined()
  })

  it('keeps the job type', () => {
    expectTypeOf(waitAny([startJob([1])])).toEqualTypeOf<Promise<Job<number> | undefined>>()
  })
})

describe('NotStarted jobs', () => {
  it('are not finished: starting is not the end that waitAny and waitAll wait for', async () => {
    const table = new JobTable({ throttleLimit: 1 })
    const gate = deferred<void>()
    const first = table.start(async function* () {
      await gate.promise
      yield 1
    })
    const queued = table.start(async function* () {
      await gate.promise
      yield 2
    })
    expect(queued.state).toBe('NotStarted')
    let any: Job<number> | undefined
    const waitingAny = waitAny([queued]).then((job) => (any = job))
    const waitingAll = waitAll([first, queued], { timeout: 0 })
    expect(await waitingAll).toBe(false)
    expect(listeners([first, queued])).toBe(3)
    const second = table.start([3])
    expect(await waitAll([queued, second], { timeout: 0 })).toBe(false)
    gate.resolve()
    await first.wait()
    expect(queued.state).toBe('Running')
    expect(any).toBeUndefined()
    await waitingAny
    expect(any).toBe(queued)
    expect(queued.state).toBe('Completed')
    expect(await waitAll([second])).toBe(true)
    expect(listeners([first, queued, second])).toBe(0)
  })
})

describe('validation', () => {
  it.each([
    [5, 'Expected jobs to be an iterable of Jobs, got 5'],
    ['ab', 'Expected jobs to be an iterable of Jobs, got "ab" (string)'],
    [undefined, 'Expected jobs to be an iterable of Jobs, got undefined (undefined)'],
    [[{}], 'Expected jobs[0] to be a Job, got an object'],
    [[startJob([1]), 3], 'Expected jobs[1] to be a Job, got 3'],
  ])('refuses the jobs %#', (jobs, message) => {
    expect(() => waitAll(jobs as never)).toThrow(new TypeError(message))
    expect(() => waitAny(jobs as never)).toThrow(new TypeError(message))
  })

  it.each([
    [{ timeout: -5 }, RangeError, 'Expected timeout to be a finite number >= 0, got -5'],
    [{ timeout: NaN }, RangeError, 'Expected timeout to be a finite number >= 0, got NaN'],
    [{ timeout: '5' }, TypeError, 'Expected timeout to be a finite number >= 0, got "5" (string)'],
    [[], TypeError, 'Expected options to be an object, got an array'],
  ])('refuses the options %j', (options, Type, message) => {
    const job = startJob([1])
    expect(() => waitAll([job], options as never)).toThrow(new Type(message))
    expect(() => waitAny([job], options as never)).toThrow(new Type(message))
  })
})
