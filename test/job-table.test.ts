import { abortable } from 'abort-controller-x'
import fc from 'fast-check'
import { getEventListeners } from 'node:events'
import { afterEach, describe, expect, expectTypeOf, it, vi } from 'vitest'
import { Job, JobTable, parallelMap, startJob, type JobContext, type JobState } from '../src/index.js'
import { deferred } from '../src/internal/deferred.js'
import { failOnUnhandledRejections, range, tick } from './helpers.js'

failOnUnhandledRejections()

afterEach(() => {
  vi.useRealTimers()
})

/**
 * Work for a job that runs until `finish()` (it yields `value` and ends), `fail()` or a stop;
 * `started` tells whether its factory was called.
 */
function work<T = string>(value?: T) {
  const gate = deferred<void>()
  const control = {
    started: false,
    source: async function* ({ signal }: JobContext) {
      control.started = true
      await abortable(signal, gate.promise)
      yield value as T
    },
    finish: () => gate.resolve(),
    fail: (error: unknown) => gate.reject(error),
  }
  return control
}

/** Starts a job in `table` whose work ignores the signal until `release()`, as careless work does. */
function careless(table: JobTable) {
  const gate = deferred<void>()
  const job = table.start(async function* () {
    await gate.promise
    yield 1
  })
  return { job, release: () => gate.resolve() }
}

function states(job: Job<unknown>): JobState[] {
  const seen: JobState[] = []
  job.addEventListener('statechange', () => seen.push(job.state))
  return seen
}

function thrown(fn: () => unknown): Error {
  try {
    fn()
  } catch (error) {
    return error as Error
  }
  throw new Error('did not throw')
}

describe('validation', () => {
  it.each([
    [{ throttleLimit: 0 }, RangeError, 'Expected throttleLimit to be an integer >= 1 or Infinity, got 0'],
    [{ throttleLimit: -1 }, RangeError, 'Expected throttleLimit to be an integer >= 1 or Infinity, got -1'],
    [{ throttleLimit: 1.5 }, RangeError, 'Expected throttleLimit to be an integer >= 1 or Infinity, got 1.5'],
    [{ throttleLimit: NaN }, RangeError, 'Expected throttleLimit to be an integer >= 1 or Infinity, got NaN'],
    [{ throttleLimit: '2' }, TypeError, 'Expected throttleLimit to be an integer >= 1 or Infinity, got "2" (string)'],
    [{ throttleLimt: 2 }, TypeError, 'Unknown option throttleLimt; did you mean throttleLimit?'],
    [null, TypeError, 'Expected options to be an object, got null'],
  ])('refuses the options %o', (options, Type, message) => {
    const error = thrown(() => new JobTable(options as never))
    expect(error.constructor).toBe(Type)
    expect(error.message).toBe(message)
  })

  it('takes throttleLimit Infinity, the default', () => {
    expect(new JobTable().throttleLimit).toBe(Infinity)
    expect(new JobTable({ throttleLimit: Infinity }).throttleLimit).toBe(Infinity)
    expect(new JobTable({ throttleLimit: 3 }).throttleLimit).toBe(3)
  })

  it('start() refuses what startJob refuses, queued or not, without taking a slot', async () => {
    const table = new JobTable({ throttleLimit: 1 })
    const message = 'Expected source to be an iterable or async iterable (not a string), or a function that returns one, got 42'
    expect(() => table.start(42 as never)).toThrow(new TypeError(message))
    const first = work()
    table.start(first.source)
    expect(() => table.start(42 as never)).toThrow(new TypeError(message))
    expect(() => table.start([1], 'fast' as never)).toThrow(new TypeError('Expected options to be an object, got "fast" (string)'))
    expect(() => table.start([1], { nmae: 'x' } as never)).toThrow(new TypeError('Unknown option nmae; did you mean name?'))
    expect(() => table.start([1], { maxBuffered: 0 })).toThrow(RangeError)
    expect(table.list()).toHaveLength(1)
    first.finish()
    await table.wait()
    const next = table.start([1])
    expect(next.state).toBe('Running')
    await table.wait()
  })

  it('list() and wait() refuse bad filters', () => {
    const table = new JobTable()
    expect(() => table.list({ state: 'Done' as never })).toThrow(
      new TypeError(
        "Expected state to be one of 'NotStarted', 'Running', 'Completed', 'Failed', 'Stopped', got \"Done\" (string)",
      ),
    )
    expect(() => table.list({ name: 5 as never })).toThrow(new TypeError('Expected name to be a string, got 5'))
    expect(() => table.list({ stat: 'Running' } as never)).toThrow(
      new TypeError('Unknown option stat in filter; did you mean state?'),
    )
    expect(() => table.wait({ any: 1 } as never)).toThrow(new TypeError('Expected any to be a boolean, got 1'))
    expect(() => table.wait({ state: 'running' } as never)).toThrow(TypeError)
    expect(() => table.wait({ timeout: -1 })).toThrow(new RangeError('Expected timeout to be a finite number >= 0, got -1'))
    expect(() => table.wait({ timeout: 2 ** 31 })).toThrow(RangeError)
  })

  it('get() refuses what is neither an id nor a name', () => {
    expect(() => new JobTable().get(true as never)).toThrow(
      new TypeError('Expected idOrName to be a job id or name, got true (boolean)'),
    )
  })

  it('remove() refuses at once, before removing anything, what it cannot remove', async () => {
    const table = new JobTable()
    const done = table.start([1], { name: 'same' })
    const running = work()
    const busy = table.start(running.source, { name: 'same' })
    await done.wait()
    const outsider = startJob([1])
    expect(() => table.remove(999_999)).toThrow(new RangeError('No job with id 999999 in this table'))
    expect(() => table.remove('nobody')).toThrow(new RangeError('No job named "nobody" in this table'))
    expect(() => table.remove(outsider as never)).toThrow(
      new RangeError(`Job ${outsider.id} (${outsider.name}) is not in this table`),
    )
    expect(() => table.remove(true as never)).toThrow(
      new TypeError('Expected job to be a Job, a job id or a job name, got true (boolean)'),
    )
    expect(() => table.remove(done, { force: 'yes' } as never)).toThrow(
      new TypeError('Expected force to be a boolean, got "yes" (string)'),
    )
    expect(() => table.remove('same')).toThrow(
      new Error(`Job ${busy.id} (same) is Running: stop it first, or remove it with force: true`),
    )
    expect(() => table.remove(busy)).toThrow(Error)
    expect(table.list()).toEqual([done, busy])
    expect(done.hasMoreData).toBe(true)
    await table[Symbol.asyncDispose]()
    await outsider.wait()
  })

  it('types the results of the table and of start()', () => {
    const table = new JobTable<number>()
    expectTypeOf(table.start([1, 2])).toExtend<Job<number>>()
    // @ts-expect-error: the table holds jobs of numbers
    table.start(['a'])
    expectTypeOf(table.receive()).toEqualTypeOf<number[]>()
    expectTypeOf(table.get(1)).toEqualTypeOf<Job<number> | undefined>()
    expectTypeOf(new JobTable().start(['a'])).toEqualTypeOf<Job<string>>()
  })
})

describe('throttleLimit', () => {
  it('queues jobs beyond it as NotStarted, sources untouched, and starts them in start order', async () => {
    const table = new JobTable<string>({ throttleLimit: 2 })
    const works = ['a', 'b', 'c', 'd'].map((name) => work(name))
    const jobs = works.map((w) => table.start(w.source))
    const seen = jobs.map(states)
    expect(jobs.map((job) => job.state)).toEqual(['Running', 'Running', 'NotStarted', 'NotStarted'])
    expect(jobs[2]!.startedAt).toBeUndefined()
    await tick()
    expect(works.map((w) => w.started)).toEqual([true, true, false, false])

    works[1]!.finish()
    await jobs[1]!.wait()
    expect(jobs.map((job) => job.state)).toEqual(['Running', 'Completed', 'Running', 'NotStarted'])
    expect(jobs[2]!.startedAt).toBeGreaterThanOrEqual(jobs[0]!.startedAt!)
    await tick()
    expect(works.map((w) => w.started)).toEqual([true, true, true, false])

    works[2]!.fail(new Error('c'))
    await jobs[2]!.wait()
    expect(jobs.map((job) => job.state)).toEqual(['Running', 'Completed', 'Failed', 'Running'])
    works[0]!.finish()
    works[3]!.finish()
    expect(await table.wait()).toBe(true)
    expect(seen).toEqual([['Completed'], ['Completed'], ['Running', 'Failed'], ['Running', 'Completed']])
    expect(table.receive()).toEqual(['a', 'b', 'd'])
  })

  it('never runs more than the limit, reaches it while jobs wait, and starts them first in, first out', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 10 }),
        fc.array(fc.tuple(fc.constantFrom('finish', 'fail', 'stop', 'stopQueued'), fc.nat()), { maxLength: 30 }),
        async (limit, count, actions) => {
          const table = new JobTable<number>({ throttleLimit: limit })
          const started: number[] = []
          const works = range(count).map((i) => work(i))
          const jobs = works.map((w, i) => {
            const job = table.start(w.source)
            if (job.state === 'Running') started.push(i)
            job.addEventListener('statechange', () => job.state === 'Running' && started.push(i))
            return job
          })
          const check = () => {
            const unfinished = jobs.filter((job) => job.state === 'Running' || job.state === 'NotStarted').length
            expect(table.list({ state: 'Running' })).toHaveLength(Math.min(limit, unfinished))
          }
          const act = async (action: string, pick: number) => {
            const pool = table.list({ state: action === 'stopQueued' ? 'NotStarted' : 'Running' })
            const job = pool[pick % pool.length]
            if (job === undefined) return
            const w = works[jobs.indexOf(job)]!
            if (action === 'finish') w.finish()
            else if (action === 'fail') w.fail(new Error('x'))
            else await job.stop()
            await job.wait()
          }
          check()
          for (const [action, pick] of actions) {
            await act(action, pick)
            check()
          }
          for (const w of works) w.finish()
          await table.wait()
          expect(started).toEqual([...started].sort((a, b) => a - b))
          expect(started).toEqual(range(count).filter((i) => jobs[i]!.startedAt !== undefined))
          expect(jobs.filter((job) => job.startedAt === undefined).every((job) => job.state === 'Stopped')).toBe(true)
        },
      ),
      { numRuns: 150 },
    )
  })

  it('stop() on a NotStarted job makes it Stopped at once, without ever running it', async () => {
    const table = new JobTable({ throttleLimit: 1 })
    const first = work()
    const second = work()
    const third = work()
    table.start(first.source)
    const queued = table.start(second.source)
    const next = table.start(third.source)
    const seen = states(queued)
    const stopping = queued.stop()
    expect(queued.state).toBe('Stopped')
    expect(seen).toEqual(['Stopped'])
    await stopping
    expect(queued.startedAt).toBeUndefined()
    expect(queued.finishedAt).toBeDefined()
    first.finish()
    await tick()
    expect(next.state).toBe('Running')
    expect(second.started).toBe(false)
    expect(queued.state).toBe('Stopped')
    third.finish()
    await table.wait()
    expect(second.started).toBe(false)
  })

  it('frees a slot only once a stopped job has settled', async () => {
    const table = new JobTable({ throttleLimit: 1 })
    const { job: running, release } = careless(table)
    const queued = table.start([2])
    await tick()
    const stopping = running.stop()
    await tick()
    expect(running.state).toBe('Running')
    expect(queued.state).toBe('NotStarted')
    release()
    await stopping
    expect(running.state).toBe('Stopped')
    expect(queued.state).toBe('Running')
    await queued.wait()
  })

  it('moves on when a queued job fails as it starts', async () => {
    const table = new JobTable({ throttleLimit: 1 })
    const first = work()
    table.start(first.source)
    const broken = table.start(() => {
      throw new Error('factory')
    })
    const last = table.start([3])
    first.finish()
    await table.wait()
    expect(broken.state).toBe('Failed')
    expect((broken.error as Error).message).toBe('factory')
    expect(last.state).toBe('Completed')
  })

  it('with the default Infinity, starts every job at once, with no statechange to Running', async () => {
    const table = new JobTable()
    const works = range(20).map(() => work())
    const jobs = works.map((w) => table.start(w.source))
    const seen = jobs.map(states)
    expect(jobs.every((job) => job.state === 'Running')).toBe(true)
    for (const w of works) w.finish()
    await table.wait()
    expect(seen.every((s) => s.length === 1 && s[0] === 'Completed')).toBe(true)
  })

  it('is per table: tables are values, with no shared registry', async () => {
    const a = new JobTable({ throttleLimit: 1 })
    const b = new JobTable({ throttleLimit: 1 })
    const wa = work()
    const wb = work()
    const ja = a.start(wa.source)
    const jb = b.start(wb.source)
    expect([ja.state, jb.state]).toEqual(['Running', 'Running'])
    expect(a.list()).toEqual([ja])
    expect(b.get(ja.id)).toBeUndefined()
    wa.finish()
    wb.finish()
    await Promise.all([a.wait(), b.wait()])
  })
})

describe('get and list', () => {
  it('finds jobs by id and by exact name, the first in start order', async () => {
    const table = new JobTable()
    const a = table.start([1], { name: 'twin' })
    const b = table.start([2], { name: 'twin' })
    const c = table.start([3])
    expect(table.get(a.id)).toBe(a)
    expect(table.get(c.id)).toBe(c)
    expect(table.get('twin')).toBe(a)
    expect(table.get(c.name)).toBe(c)
    expect(table.get('tw*')).toBeUndefined()
    expect(table.get(-1)).toBeUndefined()
    expect(table.list({ name: 'twin' })).toEqual([a, b])
    await table.wait()
  })

  it('lists in start order, by state and by name with * wildcards', async () => {
    const table = new JobTable({ throttleLimit: 2 })
    const names = ['web-1', 'web-2', 'db-1', 'web.x', 'webhook', 'Web-3']
    const works = names.map(() => work())
    const jobs = names.map((name, i) => table.start(works[i]!.source, { name }))
    const named = (filter: Parameters<JobTable['list']>[0]) => table.list(filter).map((job) => job.name)
    expect(named({})).toEqual(names)
    expect(named(undefined)).toEqual(names)
    expect(named({ name: 'web-*' })).toEqual(['web-1', 'web-2'])
    expect(named({ name: '*-1' })).toEqual(['web-1', 'db-1'])
    expect(named({ name: 'w*b*' })).toEqual(['web-1', 'web-2', 'web.x', 'webhook'])
    expect(named({ name: '*' })).toEqual(names)
    expect(named({ name: 'web.*' })).toEqual(['web.x'])
    expect(named({ name: 'web?' })).toEqual([])
    expect(named({ name: 'web' })).toEqual([])
    expect(named({ state: 'Running' })).toEqual(['web-1', 'web-2'])
    expect(named({ state: 'NotStarted', name: 'web*' })).toEqual(['web.x', 'webhook'])
    works[0]!.finish()
    await jobs[0]!.wait()
    expect(named({ state: 'Completed' })).toEqual(['web-1'])
    expect(named({ state: 'Running' })).toEqual(['web-2', 'db-1'])
    await table[Symbol.asyncDispose]()
  })

  it('matches a wildcard over names with line breaks and regex characters', async () => {
    const table = new JobTable()
    const job = table.start([1], { name: 'a\n(b)+[c]' })
    expect(table.list({ name: 'a*[c]' })).toEqual([job])
    expect(table.list({ name: '*(b)+*' })).toEqual([job])
    await table.wait()
  })
})

describe('remove', () => {
  it('removes a finished job with its buffered results, and stops listening to it', async () => {
    const table = new JobTable()
    const job = table.start([1, 2])
    const other = table.start([3])
    await table.wait()
    expect(getEventListeners(job, 'statechange')).toHaveLength(0)
    await table.remove(job)
    expect(table.get(job.id)).toBeUndefined()
    expect(table.list()).toEqual([other])
    expect(job.hasMoreData).toBe(false)
    expect(() => table.remove(job)).toThrow(RangeError)
    expect(table.receive()).toEqual([3])
  })

  it('removes failed and stopped jobs, by id', async () => {
    const table = new JobTable()
    const failed = table.start(() => {
      throw new Error('x')
    })
    const w = work()
    const stopped = table.start(w.source)
    await stopped.stop()
    await failed.wait()
    await table.remove(failed.id)
    await table.remove(stopped.id)
    expect(table.list()).toEqual([])
  })

  it('removes every job of a name', async () => {
    const table = new JobTable()
    table.start([1], { name: 'batch' })
    const keep = table.start([2], { name: 'other' })
    table.start([3], { name: 'batch' })
    await table.wait()
    await table.remove('batch')
    expect(table.list()).toEqual([keep])
  })

  it('with force, stops a running job: it leaves the table at once and resolves once stopped', async () => {
    const table = new JobTable()
    const w = work()
    const job = table.start(w.source)
    await tick()
    const removing = table.remove(job, { force: true })
    expect(table.get(job.id)).toBeUndefined()
    expect(job.state).toBe('Running')
    await removing
    expect(job.state).toBe('Stopped')
    expect(getEventListeners(job, 'statechange')).toHaveLength(0)
  })

  it('with force, stops a NotStarted job without running it; its slot goes on to the next', async () => {
    const table = new JobTable({ throttleLimit: 1 })
    const first = work()
    const second = work()
    table.start(first.source)
    const queued = table.start(second.source)
    const third = table.start([3])
    await table.remove(queued, { force: true })
    expect(queued.state).toBe('Stopped')
    first.finish()
    await table.wait()
    expect(second.started).toBe(false)
    expect(third.state).toBe('Completed')
  })

  it('keeps the throttle while a force-removed job is still stopping', async () => {
    const table = new JobTable({ throttleLimit: 1 })
    const { job: slow, release } = careless(table)
    await tick()
    const queued = table.start([2])
    const removing = table.remove(slow, { force: true })
    await tick()
    expect(queued.state).toBe('NotStarted')
    release()
    await removing
    expect(queued.state).toBe('Running')
    await queued.wait()
  })
})

describe('receive', () => {
  it('returns the results of every job in job start order, and drains them', async () => {
    const table = new JobTable<number>({ throttleLimit: 1 })
    const slow = work(1)
    table.start(slow.source)
    table.start([2, 3])
    table.start([4])
    expect(table.receive()).toEqual([])
    slow.finish()
    await table.wait()
    expect(table.receive()).toEqual([1, 2, 3, 4])
    expect(table.receive()).toEqual([])
    expect(table.list().some((job) => job.hasMoreData)).toBe(false)
  })
})

describe('wait', () => {
  it('waits for every job, queued ones included', async () => {
    const table = new JobTable({ throttleLimit: 1 })
    const works = range(3).map(() => work())
    for (const w of works) table.start(w.source)
    let result: boolean | undefined
    const waiting = table.wait().then((r) => (result = r))
    works[0]!.finish()
    await tick()
    works[1]!.fail(new Error('x'))
    await tick()
    expect(result).toBeUndefined()
    works[2]!.finish()
    await waiting
    expect(result).toBe(true)
  })

  it('with any, resolves once one has finished', async () => {
    const table = new JobTable()
    const a = work()
    const b = work()
    table.start(a.source)
    const jb = table.start(b.source)
    const waiting = table.wait({ any: true })
    b.finish()
    expect(await waiting).toBe(true)
    expect(jb.state).toBe('Completed')
    a.finish()
    await table.wait()
  })

  it('with state, waits only for the jobs in that state at the call', async () => {
    const table = new JobTable({ throttleLimit: 1 })
    const a = work()
    const b = work()
    table.start(a.source)
    const queued = table.start(b.source)
    const waiting = table.wait({ state: 'Running' })
    a.finish()
    expect(await waiting).toBe(true)
    expect(queued.state).toBe('Running')
    expect(await table.wait({ state: 'Stopped' })).toBe(true)
    b.finish()
    await table.wait()
  })

  it('resolves false at the timeout, leaving no timer or listener and the jobs running', async () => {
    vi.useFakeTimers()
    const table = new JobTable({ throttleLimit: 1 })
    const works = [work(), work()]
    const jobs = works.map((w) => table.start(w.source))
    const waiting = table.wait({ timeout: 100 })
    await vi.advanceTimersByTimeAsync(100)
    expect(await waiting).toBe(false)
    expect(vi.getTimerCount()).toBe(0)
    // Only the table's own listener is left.
    expect(jobs.map((job) => getEventListeners(job, 'statechange').length)).toEqual([1, 1])
    expect(jobs.map((job) => job.state)).toEqual(['Running', 'NotStarted'])
    const any = table.wait({ any: true, timeout: 1_000 })
    works[0]!.finish()
    expect(await any).toBe(true)
    expect(vi.getTimerCount()).toBe(0)
    works[1]!.finish()
    await table.wait()
    expect(jobs.map((job) => getEventListeners(job, 'statechange').length)).toEqual([0, 0])
  })

  it('resolves true at once with no job to wait for', async () => {
    const table = new JobTable()
    expect(await table.wait()).toBe(true)
    expect(await table.wait({ any: true })).toBe(true)
  })
})

describe('asyncDispose', () => {
  it('stops and removes every job; queued ones never start', async () => {
    const works = range(4).map(() => work())
    let jobs: Job<unknown>[] = []
    let table: JobTable | undefined
    {
      await using disposable = new JobTable({ throttleLimit: 2 })
      table = disposable
      jobs = works.map((w) => disposable.start(w.source))
      works[0]!.finish()
      await jobs[0]!.wait()
      await tick()
      expect(jobs.map((job) => job.state)).toEqual(['Completed', 'Running', 'Running', 'NotStarted'])
    }
    expect(jobs.map((job) => job.state)).toEqual(['Completed', 'Stopped', 'Stopped', 'Stopped'])
    expect(works[3]!.started).toBe(false)
    expect(table.list()).toEqual([])
    expect(jobs.map((job) => getEventListeners(job, 'statechange').length)).toEqual([0, 0, 0, 0])
  })

  it('aborts the parallelMap pipelines of its jobs', async () => {
    const aborted: number[] = []
    const table = new JobTable()
    for (let j = 0; j < 3; j++) {
      table.start(({ signal }) =>
        parallelMap(
          (n: number, task) =>
            new Promise<number>((_, reject) =>
              task.signal.addEventListener('abort', () => (aborted.push(j), reject(task.signal.reason)), { once: true }),
            ),
          { concurrency: 2, signal },
        )([1, 2, 3]),
      )
    }
    await tick()
    await table[Symbol.asyncDispose]()
    expect(aborted.sort()).toEqual([0, 0, 1, 1, 2, 2])
    expect(table.list()).toEqual([])
  })
})
