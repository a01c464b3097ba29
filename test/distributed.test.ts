import { execFile } from 'node:child_process'
import { getEventListeners } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { distributedMap, distributedMapSettled, serveQueue } from '../src/distributed/index.js'
import { collect, concurrencyLimit, TimeoutError, type ItemReport, type Progress, type TaskContext } from '../src/index.js'
import { deferred } from '../src/internal/deferred.js'
import { deleteKeys, leftovers, redisUp, RedisProxy, useQueues } from './fixtures/distributed-redis.js'
import { failOnUnhandledRejections, ProbeSource, range } from './helpers.js'

const taskModule = fileURLToPath(new URL('fixtures/distributed-task.mjs', import.meta.url))

/** A port where nothing listens: connecting is refused at once. */
const NOWHERE = 'redis://127.0.0.1:1'

/** Calls of a server-side task, with what each saw. */
class Calls {
  readonly started: number[] = []
  readonly aborted = new Map<number, unknown>()
  readonly finished: number[] = []
  running = 0
  maxRunning = 0

  enter(index: number): void {
    this.started.push(index)
    this.maxRunning = Math.max(this.maxRunning, ++this.running)
  }

  leave(index: number): void {
    this.running--
    this.finished.push(index)
  }

  /** A task that waits `ms(item)` (until its signal aborts), then returns `result(item)`. */
  task<T, R>(ms: (item: T) => number, result: (item: T, context: TaskContext) => R) {
    return async (item: T, context: TaskContext): Promise<R> => {
      const { index, signal } = context
      this.enter(index)
      try {
        await sleep(ms(item), undefined, { signal })
        return result(item, context)
      } catch (error) {
        if (signal.aborted) this.aborted.set(index, signal.reason)
        throw error
      } finally {
        this.leave(index)
      }
    }
  }
}

describe('foreach-parallel/distributed without its peer dependencies', () => {
  it('fails to import with an error that says what to install', async () => {
    const hide = fileURLToPath(new URL('fixtures/distributed-no-peers.mjs', import.meta.url))
    const entry = new URL('../src/distributed/index.ts', import.meta.url).href
    const failed = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--import', hide, '--input-type=module', '--eval', `await import(${JSON.stringify(entry)})`],
      { timeout: 30_000 },
    ).catch((error: unknown) => error as { code: number; stderr: string })
    expect(failed).toMatchObject({ code: 1 })
    expect((failed as { stderr: string }).stderr).toContain(
      'Error: foreach-parallel/distributed needs its peer dependencies bullmq (6.x) and ioredis: npm install bullmq ioredis',
    )
  })
})

describe('distributedMap and serveQueue: options', () => {
  it('refuses a queue name that is not a non-empty string without a colon', () => {
    for (const queue of ['', 5, undefined, 'a:b']) {
      const message = /^Expected queue to be a non-empty string without ':', got /
      expect(() => distributedMap(queue as string), String(queue)).toThrow(TypeError)
      expect(() => distributedMap(queue as string)).toThrow(message)
      expect(() => distributedMapSettled(queue as string)).toThrow(message)
      expect(() => serveQueue(queue as string, () => 1)).toThrow(message)
    }
  })

  it('refuses a connection that is neither a redis:// URL nor ioredis options', () => {
    const cases: [unknown, string][] = [
      [5, '5'],
      ['', '"" (string)'],
      ['http://localhost:6379', '"http://localhost:6379" (string)'],
      [[], 'an array'],
      [null, 'null'],
      [new (class Client {})(), 'an object that is not a plain object (pass the options of a client, not the client)'],
    ]
    for (const [connection, got] of cases) {
      const message = `Expected connection to be a redis:// URL or ioredis options, got ${got}`
      expect(() => distributedMap('q', { connection: connection as string })).toThrow(new TypeError(message))
      expect(() => serveQueue('q', () => 1, { connection: connection as string })).toThrow(new TypeError(message))
    }
    expect(() => distributedMap('q', { connection: 'rediss://user:secret@example.com:6380/2' })).not.toThrow()
    expect(() => distributedMap('q', { connection: { host: 'example.com', port: 6380 } })).not.toThrow()
  })

  it('checks the timeouts and every parallelMap option when it is created', () => {
    for (const option of ['connectTimeout', 'closeTimeout'] as const) {
      expect(() => distributedMap('q', { [option]: 0 })).toThrow(new RangeError(`Expected ${option} to be a finite number > 0, got 0`))
      expect(() => distributedMap('q', { [option]: NaN })).toThrow(RangeError)
      expect(() => distributedMap('q', { [option]: '5' as unknown as number })).toThrow(TypeError)
    }
    expect(() => distributedMap('q', { concurrency: 0 })).toThrow(
      new RangeError('Expected concurrency to be an integer >= 1 or Infinity, got 0'),
    )
    expect(() => distributedMapSettled('q', { ordered: 'yes' as unknown as boolean })).toThrow(TypeError)
    expect(() => distributedMap('q', { concurency: 5 } as never)).toThrow(
      new TypeError('Unknown option concurency; did you mean concurrency?'),
    )
    expect(() => distributedMap('q')(5 as never)).toThrow(TypeError)
  })

  it('checks the server options when it is created', () => {
    expect(() => serveQueue('q', 5 as never)).toThrow(
      new TypeError('Expected task to be a function, a path or a file: URL, got 5'),
    )
    expect(() => serveQueue('q', () => 1, { threads: 2 })).toThrow(
      new TypeError('Expected threads only with a module, got it with a function'),
    )
    expect(() => serveQueue('q', () => 1, { workerData: 2 })).toThrow(TypeError)
    expect(() => serveQueue('q', () => 1, { concurrency: Infinity })).toThrow(
      new RangeError('Expected concurrency to be an integer >= 1, got Infinity'),
    )
    expect(() => serveQueue('q', () => 1, { lockDuration: -1 })).toThrow(
      new RangeError('Expected lockDuration to be a finite number > 0, got -1'),
    )
    expect(() => serveQueue('q', () => 1, { stalledIntervall: 5 } as never)).toThrow(
      new TypeError('Unknown option stalledIntervall; did you mean stalledInterval?'),
    )
    expect(() => serveQueue('q', taskModule, { threads: 0 })).toThrow(RangeError)
    expect(() => serveQueue('q', '/no/such/task.mjs')).toThrow(expect.objectContaining({ code: 'ERR_MODULE_NOT_FOUND' }))
  })
})

describe.skipIf(!redisUp)('distributedMap and serveQueue against Redis', () => {
  failOnUnhandledRejections()
  const { queue, serve } = useQueues()
  afterEach(() => {
    vi.restoreAllMocks()
  })

  it('yields the results in input order, with at most `concurrency` jobs on the servers', async () => {
    const q = queue('order')
    const calls = new Calls()
    // Nothing finishes before three jobs run at once: the run must reach its concurrency.
    const full = deferred<void>()
    serve(
      q,
      async (ms: number, { index }) => {
        calls.enter(index)
        try {
          if (calls.running === 3) full.resolve()
          await full.promise
          await sleep(ms)
          return { index, ms }
        } finally {
          calls.leave(index)
        }
      },
      { concurrency: 10 },
    )
    const delays = [40, 30, 20, 10, 0, 35, 25, 15, 5, 0]
    const results = await collect(distributedMap<number, { index: number; ms: number }>(q, { concurrency: 3 })(delays))
    expect(results).toEqual(delays.map((ms, index) => ({ index, ms })))
    expect(calls.maxRunning).toBe(3)
  })

  it('takes a Limiter for concurrency', async () => {
    const q = queue('limiter')
    const calls = new Calls()
    const full = deferred<void>()
    serve(
      q,
      async (item: number, { index }) => {
        calls.enter(index)
        if (calls.running === 2) full.resolve()
        await full.promise
        calls.leave(index)
        return item
      },
      { concurrency: 10 },
    )
    expect(await collect(distributedMap(q, { concurrency: concurrencyLimit(2) })(range(6)))).toEqual(range(6))
    expect(calls.maxRunning).toBe(2)
  })

  it('yields results as they complete with ordered: false', async () => {
    const q = queue('completed')
    const othersDone = deferred<void>()
    let done = 0
    serve(
      q,
      async (item: string) => {
        // The first item ends only after all the others, the last of which starts after one of them.
        if (item === 'slow') await othersDone.promise
        else if (++done === 3) othersDone.resolve()
        return item
      },
      { concurrency: 10 },
    )
    const results = await collect(distributedMap<string, string>(q, { concurrency: 3, ordered: false })(['slow', 'a', 'b', 'c']))
    expect(results.slice(0, 3).sort()).toEqual(['a', 'b', 'c'])
    expect(results[3]).toBe('slow')
  })

  it('carries items and results as JSON, undefined included', async () => {
    const q = queue('json')
    serve(q, (item: unknown) => ({ item }))
    const items = [{ a: [1, 'two', null] }, 'text', 0, null, undefined, true, [[]]]
    const results = await collect(distributedMap(q)(items))
    expect(results).toEqual(items.map((item) => ({ item })))
  })

  it('fails an item that is not JSON-serializable with a TypeError naming its index; the others run', async () => {
    const q = queue('bad-json')
    serve(q, (item: unknown, { index }) => (index === 3 ? { big: 1n } : item))
    const circular: Record<string, unknown> = {}
    circular['self'] = circular
    const settled = await collect(distributedMapSettled(q)([1, 2n, circular, 'result', () => 5]))
    expect(settled.map((record) => record.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'rejected', 'rejected'])
    const reasons = settled.flatMap((record) => (record.status === 'rejected' ? [record.reason as Error] : []))
    expect(reasons.every((reason) => reason instanceof TypeError)).toBe(true)
    expect(reasons.map((reason) => reason.message)).toEqual([
      'Item 1 is not JSON-serializable: Do not know how to serialize a BigInt',
      expect.stringMatching(/^Item 2 is not JSON-serializable: Converting circular structure to JSON/),
      'The result of item 3 is not JSON-serializable: Do not know how to serialize a BigInt',
      'Item 4 is not JSON-serializable: got a function',
    ])
    // The server is still serving.
    expect(await collect(distributedMap(q)(['again']))).toEqual(['again'])
  })

  it('throws a server error with its class, name, message, stack, code and cause', async () => {
    const q = queue('error')
    class ValidationError extends RangeError {
      override name = 'ValidationError'
      code = 'E_INVALID'
      retryable = false
    }
    serve(q, (item: number) => {
      if (item === 2) throw new ValidationError(`bad item ${item}`, { cause: new TypeError('inner') })
      return item
    })
    const error = await collect(distributedMap(q)([1, 2, 3])).catch((thrown: unknown) => thrown)
    expect(error).toBeInstanceOf(RangeError)
    expect(error).toMatchObject({ name: 'ValidationError', message: 'bad item 2', code: 'E_INVALID', retryable: false })
    expect((error as Error).stack).toContain('ValidationError: bad item 2')
    expect((error as Error).stack).toContain('distributed.test.ts')
    expect((error as Error).cause).toBeInstanceOf(TypeError)
    expect((error as Error).cause).toMatchObject({ message: 'inner' })
  })

  it("onError 'abort': a failure aborts the later jobs on their server, after the earlier ones are yielded", async () => {
    const q = queue('abort')
    const calls = new Calls()
    const allRunning = deferred<void>()
    const failed = deferred<void>()
    serve(
      q,
      async (item: string, { index, signal }) => {
        calls.enter(index)
        if (calls.running === 4) allRunning.resolve()
        try {
          if (item === 'fails') {
            await allRunning.promise
            failed.resolve()
            throw new Error('item 1 failed')
          }
          // The item before the failed one ends after it: it is still yielded.
          if (item === 'first') await failed.promise.then(() => sleep(50))
          if (item === 'slow') await sleep(10_000, undefined, { signal })
          return item
        } catch (error) {
          if (signal.aborted) calls.aborted.set(index, signal.reason)
          throw error
        } finally {
          calls.leave(index)
        }
      },
      { concurrency: 10 },
    )
    const yielded: string[] = []
    const failure = (async () => {
      for await (const value of distributedMap<string, string>(q, { concurrency: 4 })(['first', 'fails', 'slow', 'slow', 'last'])) {
        yielded.push(value)
      }
    })()
    await expect(failure).rejects.toThrow('item 1 failed')
    expect(yielded).toEqual(['first'])
    expect([...calls.aborted.keys()].sort()).toEqual([2, 3])
    expect(calls.aborted.get(2)).toMatchObject({ name: 'AbortError', message: 'Aborted because another item failed' })
    expect(calls.running).toBe(0)
    expect(calls.started).not.toContain(4)
  })

  it("onError 'continue' and distributedMapSettled run every item and report the failures", async () => {
    const q = queue('continue')
    serve(q, (item: number) => {
      if (item % 2 === 1) throw new Error(`odd ${item}`)
      return item
    })
    const error = await collect(distributedMap(q, { onError: 'continue' })(range(5))).catch((thrown: unknown) => thrown)
    expect(error).toBeInstanceOf(AggregateError)
    expect((error as AggregateError).errors.map((e: Error) => e.message)).toEqual(['odd 1', 'odd 3'])

    const settled = await collect(distributedMapSettled<number, number>(q)(range(3)))
    expect(settled).toMatchObject([
      { status: 'fulfilled', value: 0, item: 0, index: 0, attempts: 1 },
      { status: 'rejected', reason: { message: 'odd 1' }, item: 1, index: 1, attempts: 1 },
      { status: 'fulfilled', value: 2, item: 2, index: 2, attempts: 1 },
    ])
  })

  it('retries a failed item as a new job, with context.attempt counting on the server', async () => {
    const q = queue('retry')
    const attempts: number[] = []
    serve(q, (item: string, { attempt }) => {
      attempts.push(attempt)
      if (attempt < 3) throw new Error(`attempt ${attempt}`)
      return `${item} on attempt ${attempt}`
    })
    const settled = await collect(distributedMapSettled(q, { retry: { retries: 2, minDelay: 1 } })(['x']))
    expect(settled).toMatchObject([{ status: 'fulfilled', value: 'x on attempt 3', attempts: 3 }])
    expect(attempts).toEqual([1, 2, 3])
  })

  it('fails an item on its timeout, counted from queueing, when no server takes it; its job is removed', async () => {
    const q = queue('no-server')
    const settled = await collect(distributedMapSettled(q, { timeout: 100 })(['a', 'b']))
    expect(settled.map((record) => (record.status === 'rejected' ? record.reason : record))).toEqual([
      new TimeoutError('Item 0 timed out after 100 ms'),
      new TimeoutError('Item 1 timed out after 100 ms'),
    ])
    expect(await leftovers(q)).toEqual([])
  })

  it("aborts a timed-out job's signal on its server with a TimeoutError", async () => {
    const q = queue('timeout')
    const calls = new Calls()
    serve(q, calls.task((ms: number) => ms, () => 'done'))
    // A warm server takes the job well within its timeout.
    expect(await collect(distributedMap(q)([0]))).toEqual(['done'])
    await expect(collect(distributedMap(q, { timeout: 1_000 })([10_000]))).rejects.toThrow(
      new TimeoutError('Item 0 timed out after 1000 ms'),
    )
    await vi.waitFor(() =>
      expect(calls.aborted.get(0)).toMatchObject({ name: 'TimeoutError', message: 'Item 0 timed out after 1000 ms' }),
    )
  })

  it('on break, aborts the running jobs on their server and removes the queued ones before return() resolves', async () => {
    const q = queue('break')
    const calls = new Calls()
    serve(q, calls.task((ms: number) => ms, (ms) => ms), { concurrency: 2 })
    const source = new ProbeSource([0, 10_000, 10_000, 10_000, 10_000])
    for await (const value of distributedMap<number, number>(q, { concurrency: 4 })(source)) {
      expect(value).toBe(0)
      // Items 1 and 2 run on the server; 3 and 4 wait in the queue.
      await vi.waitFor(() => expect(calls.running).toBe(2))
      break
    }
    expect(calls.running).toBe(0)
    expect([...calls.aborted.keys()].sort()).toEqual([1, 2])
    expect(calls.aborted.get(1)).toMatchObject({ name: 'AbortError', message: 'The consumer stopped early' })
    expect(source.returned).toBe(true)
    expect(await leftovers(q)).toEqual([])
    await sleep(100)
    expect(calls.started).toEqual([0, 1, 2])
  })

  it('rejects a pending next() at once when the signal aborts, and cleans up by the time return() resolves', async () => {
    const q = queue('signal')
    const started = deferred<void>()
    const finished = deferred<void>()
    serve(q, async (_item: number, { signal }) => {
      started.resolve()
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))
      // Slow to stop: the pending next() must not wait for it.
      await sleep(200)
      finished.resolve()
    })
    const controller = new AbortController()
    const iterator = distributedMap(q, { signal: controller.signal })([1])
    const pending = iterator.next()
    await started.promise
    const reason = new Error('stop')
    controller.abort(reason)
    await expect(pending).rejects.toBe(reason)
    let done = false
    void finished.promise.then(() => (done = true))
    expect(done).toBe(false)
    await iterator.return!()
    expect(done).toBe(true)
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0)
  })

  it('stops waiting for a job that ignores its abort after closeTimeout', async () => {
    const q = queue('close-timeout')
    const started = deferred<void>()
    const release = deferred<void>()
    let finished = false
    serve(q, async () => {
      started.resolve()
      await release.promise
      finished = true
    })
    const iterator = distributedMap(q, { closeTimeout: 100 })(['stubborn'])
    const pending = iterator.next()
    await started.promise
    await iterator.return!()
    await expect(pending).resolves.toEqual({ done: true, value: undefined })
    expect(finished).toBe(false)
    // The server runs it on, and its job removes itself when it ends (checked after the test).
    release.resolve()
  })

  it('keeps two runs on one queue apart', async () => {
    const q = queue('two-runs')
    serve(q, async (item: string) => {
      await sleep(5)
      return item.toUpperCase()
    }, { concurrency: 4 })
    const [first, second] = await Promise.all([
      collect(distributedMap(q)(['a', 'b', 'c'])),
      collect(distributedMap(q)(['x', 'y', 'z'])),
    ])
    expect(first).toEqual(['A', 'B', 'C'])
    expect(second).toEqual(['X', 'Y', 'Z'])
  })

  it('reports progress and keeps the read-ahead bound', async () => {
    const q = queue('progress')
    serve(q, (item: number) => item, { concurrency: 10 })
    const source = new ProbeSource(range(20))
    const progress: Progress[] = []
    const iterator = distributedMap(q, { concurrency: 2, readAhead: 3, total: 20, onProgress: (p) => progress.push(p) })(source)
    const first = await iterator.next()
    expect(first).toEqual({ done: false, value: 0 })
    await sleep(100)
    // A consumer that stops asking stops the pulling.
    expect(source.pulled).toBeLessThanOrEqual(1 + 3)
    const rest = await collect(iterator)
    expect(rest).toEqual(range(20).slice(1))
    expect(progress.at(-1)).toMatchObject({ done: 20, succeeded: 20, total: 20, percent: 100 })
  })

  it("carries each job's reports to onReport, in order, before its result", async () => {
    const q = queue('report')
    serve(q, async (item: string, { report }) => {
      report({ step: 1 })
      await sleep(10)
      report(undefined)
      report(`${item} done`)
      return item
    })
    const reports: ItemReport[] = []
    const results: string[] = []
    for await (const result of distributedMap<string, string>(q, { onReport: (r) => reports.push(r) })(['a', 'b'])) {
      expect(reports.filter((r) => r.item === result)).toHaveLength(3)
      results.push(result)
    }
    expect(results).toEqual(['a', 'b'])
    for (const [index, item] of ['a', 'b'].entries()) {
      expect(reports.filter((r) => r.index === index)).toEqual([
        { index, item, value: { step: 1 } },
        { index, item, value: undefined },
        { index, item, value: `${item} done` },
      ])
    }
  })

  it('fails an item whose report cannot cross as JSON; without onReport, reports are not sent at all', async () => {
    const q = queue('bad-report')
    serve(q, (item: number, { report }) => {
      report(item === 1 ? 5n : item)
      return item
    })
    const reports: unknown[] = []
    const settled = await collect(distributedMapSettled(q, { onReport: ({ value }) => reports.push(value) })([0, 1]))
    expect(settled).toMatchObject([
      { status: 'fulfilled', value: 0 },
      { status: 'rejected', reason: new TypeError('The report of item 1 is not JSON-serializable: Do not know how to serialize a BigInt') },
    ])
    expect(reports).toEqual([0])
    expect(await collect(distributedMap(q)([0, 1]))).toEqual([0, 1])
  })

  it('runs a module on worker threads, and terminates the thread of an aborted job', async () => {
    const q = queue('module')
    serve(q, taskModule, { threads: 2, workerData: { factor: 3 } })
    expect(await collect(distributedMap(q)([1, 2, 3]))).toEqual([3, 6, 9])
    const settled = await collect(distributedMapSettled(q, { timeout: 1_500 })([4, 'spin', 'bad']))
    expect(settled).toMatchObject([
      { status: 'fulfilled', value: 12 },
      { status: 'rejected', reason: new TimeoutError('Item 1 timed out after 1500 ms') },
      { status: 'rejected', reason: { name: 'RangeError', message: 'bad item bad', code: 'E_BAD' } },
    ])
    // Reports cross from the thread to the driver, in order, before the result.
    const reports: ItemReport[] = []
    const results = await collect(distributedMap(q, { onReport: (r) => reports.push(r) })([1, 'report']))
    expect(results).toEqual([3, 0])
    expect(reports).toEqual([
      { index: 1, item: 'report', value: 'half' },
      { index: 1, item: 'report', value: { done: true } },
    ])
  })

  it('closes a server with `await using`', async () => {
    const q = queue('dispose')
    const calls = new Calls()
    {
      await using server = serveQueue(q, calls.task(() => 0, () => 'done'))
      expect(server[Symbol.asyncDispose]).toBeTypeOf('function')
      expect(await collect(distributedMap(q)([1]))).toEqual(['done'])
    }
    expect(calls.finished).toEqual([0])
  })

  it('rejects naming the URL when Redis cannot be reached within connectTimeout, pulling nothing', async () => {
    for (const map of [distributedMap, distributedMapSettled]) {
      const source = new ProbeSource(range(3))
      const run = collect(map('unreachable', { connection: NOWHERE, connectTimeout: 300, onError: 'continue' })(source))
      await expect(run).rejects.toThrow(/^Could not reach Redis at redis:\/\/127\.0\.0\.1:1 within 300 ms/)
      expect(source.pulled).toBe(0)
    }
  })

  it('serves without throwing while Redis is unreachable, logs it, and still closes', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {})
    const server = serveQueue('unreachable', () => 1, { connection: NOWHERE })
    await vi.waitFor(() => expect(errors).toHaveBeenCalled())
    expect(errors.mock.calls[0]![0]).toMatch(
      /^foreach-parallel\/distributed: cannot reach Redis at redis:\/\/127\.0\.0\.1:1 \(.*ECONNREFUSED.*\); retrying$/,
    )
    await server.close()
    // Once per outage, not once per attempt.
    await sleep(300)
    expect(errors).toHaveBeenCalledTimes(1)
  })

  it('fails the run naming the URL when its connection is lost for connectTimeout', async () => {
    const q = queue('lost')
    const proxy = await new RedisProxy().open()
    const started = deferred<void>()
    serve(q, async () => {
      started.resolve()
      await sleep(500)
    })
    const run = collect(distributedMap(q, { connection: proxy.url, connectTimeout: 1_000 })([1]))
    const outcome = run.then(
      () => new Error('the run did not fail'),
      (error: unknown) => error as Error,
    )
    await Promise.race([started.promise, outcome])
    await proxy.cut()
    expect((await outcome).message).toMatch(new RegExp(`^Lost the connection to Redis at ${proxy.url} for 1000 ms`))
    // The driver could not clean up: its run key stays until its TTL (the job removes itself).
    const runKeys = (await leftovers(q)).filter((key) => key.startsWith('run:'))
    expect(runKeys).toHaveLength(1)
    await deleteKeys(q, runKeys)
  })

  it('serves on through a lost connection: logs it, reconnects, and takes jobs again', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {})
    const q = queue('server-lost')
    const proxy = await new RedisProxy().open()
    serve(q, (item: number) => item * 2, { connection: proxy.url })
    expect(await collect(distributedMap(q)([1]))).toEqual([2])
    await proxy.cut()
    await vi.waitFor(() => expect(errors).toHaveBeenCalledTimes(1))
    expect(errors.mock.calls[0]![0]).toMatch(new RegExp(`^foreach-parallel/distributed: cannot reach Redis at ${proxy.url} \\(.*\\); retrying$`))
    await proxy.open()
    await vi.waitFor(() => expect(errors).toHaveBeenCalledTimes(2), { timeout: 5_000 })
    expect(errors.mock.calls[1]![0]).toBe(`foreach-parallel/distributed: reconnected to Redis at ${proxy.url}`)
    // Once per outage and once back, not once per connection or attempt.
    await sleep(200)
    expect(errors).toHaveBeenCalledTimes(2)
    expect(await collect(distributedMap(q)([2]))).toEqual([4])
    await proxy.cut()
  })
})
