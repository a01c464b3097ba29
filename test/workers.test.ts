import { execFile } from 'node:child_process'
import { getEventListeners } from 'node:events'
import { availableParallelism } from 'node:os'
import { relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { Piscina } from 'piscina'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { collect, TimeoutError } from '../src/index.js'
import { fromRecord, toRecord } from '../src/workers/cloned-error.js'
import { createPool, workerMap, type WorkerPool } from '../src/workers/index.js'
import { poolAndPiscina, rejection } from './workers-helpers.js'
import { failOnUnhandledRejections, range } from './helpers.js'

const fixture = new URL('fixtures/double.mjs', import.meta.url)
const fixturePath = fileURLToPath(fixture)

/** Shared memory for the `gate` fixture: slot 0 is the gate, slot 1 counts the spinner's turns. */
function gate(): { shared: SharedArrayBuffer; view: Int32Array } {
  const shared = new SharedArrayBuffer(8)
  return { shared, view: new Int32Array(shared) }
}

/** Resolves once `view[slot]` has stopped changing for a while: the thread that wrote it is gone. */
async function settledCounter(view: Int32Array, slot: number): Promise<number> {
  for (;;) {
    const before = Atomics.load(view, slot)
    await new Promise((resolve) => setTimeout(resolve, 50))
    if (Atomics.load(view, slot) === before) return before
  }
}



failOnUnhandledRejections()

afterEach(() => {
  vi.restoreAllMocks()
})

describe('workerMap: validation', () => {
  it('rejects a module that is neither a path nor a file: URL', () => {
    expect(() => workerMap(42 as never)).toThrow(new TypeError('Expected module to be a path or a file: URL, got 42'))
    expect(() => workerMap('')).toThrow(new TypeError('Expected module to be a path or a file: URL, got "" (string)'))
    for (const url of ['https://example.com/task.js', 'data:text/javascript,export default 1', 'node:os']) {
      const message = `Expected module to be a path or a file: URL, got ${url} (worker threads load local files only)`
      expect(() => workerMap(new URL(url))).toThrow(new TypeError(message))
      expect(() => workerMap(url)).toThrow(new TypeError(message))
    }
  })

  it('throws ERR_MODULE_NOT_FOUND at once for a module that does not exist', () => {
    const missing = new URL('fixtures/missing.mjs', import.meta.url)
    let thrown: unknown
    try {
      workerMap(missing)
    } catch (error) {
      thrown = error
    }
    expect(thrown).toMatchObject({
      message: `Cannot find worker module ${fileURLToPath(missing)}`,
      code: 'ERR_MODULE_NOT_FOUND',
    })
  })

  it('accepts a URL, a file: URL string, an absolute path and a path relative to the working directory', async () => {
    for (const module of [fixture, fixture.href, fixturePath, relative(process.cwd(), fixturePath)]) {
      expect(() => workerMap(module)).not.toThrow()
    }
  })

  it('names the option and the value in every message', () => {
    expect(() => workerMap(fixture, 'fast' as never)).toThrow(new TypeError('Expected options to be an object, got "fast" (string)'))
    expect(() => workerMap(fixture, { exportName: '' })).toThrow(
      new TypeError('Expected exportName to be a non-empty string, got "" (string)'),
    )
    expect(() => workerMap(fixture, { exportName: 5 as never })).toThrow(
      new TypeError('Expected exportName to be a non-empty string, got 5'),
    )
    expect(() => workerMap(fixture, { pool: {} as never })).toThrow(
      new TypeError('Expected pool to be a pool from createPool(), got an object'),
    )
    expect(() => workerMap(fixture, { concurrency: 0 })).toThrow(
      new RangeError('Expected concurrency to be an integer >= 1 or Infinity, got 0'),
    )
    expect(() => workerMap(fixture, { concurrency: 1.5 })).toThrow(RangeError)
    expect(() => workerMap(fixture, { concurrency: NaN })).toThrow(RangeError)
    expect(() => workerMap(fixture, { concurrency: '2' as never })).toThrow(TypeError)
  })

  it('checks the scheduler options when it is created, not at the first item', () => {
    expect(() => workerMap(fixture, { timeout: -1 })).toThrow(new RangeError('Expected timeout to be a finite number > 0, got -1'))
    expect(() => workerMap(fixture, { onError: 'ignore' as never })).toThrow(TypeError)
    expect(() => workerMap(fixture, { concurrency: 4, readAhead: 2 })).toThrow(RangeError)
    expect(() => workerMap(fixture, { signal: 'stop' as never })).toThrow(TypeError)
  })

  it('refuses workerData that cannot be cloned, saying what it got, and workerData beside a pool', async () => {
    expect(() => workerMap(fixture, { workerData: () => 1 })).toThrow(
      new TypeError('Expected workerData to be structured-cloneable, got a function'),
    )
    expect(() => workerMap(fixture, { workerData: { fn: () => 1 } })).toThrow(
      new TypeError('Expected workerData to be structured-cloneable, got an object (() => 1 could not be cloned.)'),
    )
    expect(() => workerMap(fixture, { workerData: Symbol('x') })).toThrow(
      new TypeError('Expected workerData to be structured-cloneable, got Symbol(x) (symbol)'),
    )
    const pool = createPool({ maxThreads: 1 })
    try {
      expect(() => workerMap(fixture, { pool, workerData: 1 })).toThrow(
        new TypeError('Expected workerData to be given to createPool() when a pool is given, not to workerMap()'),
      )
    } finally {
      await pool.destroy()
    }
  })

  it('bounds the thread count at creation, far below what would crash the process', () => {
    const most = Math.max(256, 4 * availableParallelism())
    for (const threads of [most + 1, 2 ** 31, 1e308]) {
      const message = (name: string) => `Expected ${name} to be at most ${most} (the most threads a pool may have), got ${threads}`
      expect(() => workerMap(fixture, { concurrency: threads })).toThrow(new RangeError(message('concurrency')))
      expect(() => createPool({ maxThreads: threads })).toThrow(new RangeError(message('maxThreads')))
    }
    expect(() => workerMap(fixture, { concurrency: most })).not.toThrow()
    expect(() => workerMap(fixture, { concurrency: Infinity })).not.toThrow()
    expect(() => createPool({ maxThreads: Infinity })).toThrow(
      new RangeError('Expected maxThreads to be an integer >= 1, got Infinity'),
    )
  })

  it('checks the source when the operator is applied', () => {
    expect(() => workerMap(fixture)(42 as never)).toThrow(TypeError)
  })

  it('createPool checks its options', () => {
    expect(() => createPool({ maxThreads: 0 })).toThrow(new RangeError('Expected maxThreads to be an integer >= 1, got 0'))
    expect(() => createPool({ maxThreads: 1.5 })).toThrow(RangeError)
    expect(() => createPool({ maxThreads: '2' as never })).toThrow(TypeError)
    expect(() => createPool({ maxTreads: 2 } as never)).toThrow(new TypeError('Unknown option maxTreads; did you mean maxThreads?'))
    expect(() => createPool({ workerData: () => 1 })).toThrow(
      new TypeError('Expected workerData to be structured-cloneable, got a function'),
    )
  })
})

describe('workerMap on a pool of its own run', () => {
  it('passes index, attempt, workerData (cloned to each thread) and report, and destroys the pool at the end', async () => {
    const destroy = vi.spyOn(Piscina.prototype, 'destroy')
    const workerData = { rounds: 3, label: 'using' }
    const run = workerMap<string, Record<string, unknown>>(fixture, { exportName: 'echo', workerData, concurrency: 2 })
    const results = await collect(run(['a', 'b', 'c']))
    expect(results.map(({ threadId: _, ...rest }) => rest)).toEqual([
      { item: 'a', index: 0, attempt: 1, workerData, report: 'function' },
      { item: 'b', index: 1, attempt: 1, workerData, report: 'function' },
      { item: 'c', index: 2, attempt: 1, workerData, report: 'function' },
    ])
    for (const result of results) expect(result.threadId).not.toBe(0)
    expect(destroy).toHaveBeenCalledOnce()
    const pool = destroy.mock.contexts[0] as Piscina
    expect(pool.maxThreads).toBe(2)
    expect(pool.threads).toHaveLength(0)
  })

  it('gives a run with concurrency: Infinity os.availableParallelism() threads', async () => {
    const destroy = vi.spyOn(Piscina.prototype, 'destroy')
    expect(await collect(workerMap(fixture, { concurrency: Infinity })(range(10)))).toEqual(range(10).map((n) => n * 2))
    expect((destroy.mock.contexts[0] as Piscina).maxThreads).toBe(availableParallelism())
  })

  it('destroys the pool when the run fails, before the error is thrown', async () => {
    const destroy = vi.spyOn(Piscina.prototype, 'destroy')
    const error = await rejection(collect(workerMap(fixture, { exportName: 'failOnBad', concurrency: 1 })(['ok', 'bad'])))
    expect(error).toBeInstanceOf(RangeError)
    expect(destroy).toHaveBeenCalledOnce()
    expect((destroy.mock.contexts[0] as Piscina).threads).toHaveLength(0)
  })

  it('a break ends the busy work, closes the source and destroys the pool', async () => {
    const destroy = vi.spyOn(Piscina.prototype, 'destroy')
    const { shared, view } = gate()
    let closed = false
    function* items(): Generator<string> {
      try {
        yield 'wait'
        yield 'spin'
        for (;;) yield 'more'
      } finally {
        closed = true
      }
    }
    const run = workerMap<string, string>(fixture, { exportName: 'gate', concurrency: 2, workerData: { shared } })
    for await (const result of run(items())) {
      expect(result).toBe('wait')
      break
    }
    expect(closed).toBe(true)
    expect(destroy).toHaveBeenCalledOnce()
    expect((destroy.mock.contexts[0] as Piscina).threads).toHaveLength(0)
    const turns = Atomics.load(view, 1)
    expect(turns).toBeGreaterThan(0)
    expect(await settledCounter(view, 1)).toBe(turns)
  })

  it('aborting the signal rejects at once, terminates the busy thread and leaves no listener', async () => {
    const { shared, view } = gate()
    const controller = new AbortController()
    const run = workerMap(fixture, { exportName: 'gate', concurrency: 1, signal: controller.signal, workerData: { shared } })
    const iterator = run(['spin', 'x'])
    const pending = iterator.next()
    await vi.waitFor(() => expect(Atomics.load(view, 0)).toBe(1), { timeout: 15_000 })
    const reason = new Error('stop')
    controller.abort(reason)
    expect(await rejection(pending)).toBe(reason)
    expect(await rejection(iterator.next())).toBe(reason)
    await settledCounter(view, 1)
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0)
  })

  it('ends the run and its pool with await using (TypeScript 5.2 using declarations, Node 20)', async () => {
    const destroy = vi.spyOn(Piscina.prototype, 'destroy')
    let closed = false
    function* items(): Generator<number> {
      try {
        yield* [1, 2, 3]
      } finally {
        closed = true
      }
    }
    {
      await using results = workerMap<number, number>(fixture, { concurrency: 1 })(items())
      expect(await results.next()).toEqual({ done: false, value: 2 })
    }
    expect(closed).toBe(true)
    expect(destroy).toHaveBeenCalledOnce()
    expect((destroy.mock.contexts[0] as Piscina).threads).toHaveLength(0)
  })

  it('destroys a shared pool with await using, and leaves it alone when a run on it is disposed', async () => {
    const destroy = vi.spyOn(Piscina.prototype, 'destroy')
    {
      await using pool = createPool({ maxThreads: 1 })
      {
        await using results = workerMap<number, number>(fixture, { pool })([1, 2])
        expect(await results.next()).toEqual({ done: false, value: 2 })
      }
      expect(destroy).not.toHaveBeenCalled()
      expect(await collect(workerMap(fixture, { pool })([3]))).toEqual([6])
    }
    expect(destroy).toHaveBeenCalledOnce()
  })

  it('starts no pool for a run that is never iterated or has no items', async () => {
    const destroy = vi.spyOn(Piscina.prototype, 'destroy')
    workerMap(fixture)([1, 2, 3])
    expect(await collect(workerMap(fixture)([]))).toEqual([])
    expect(destroy).not.toHaveBeenCalled()
  })

  it('lets a process that breaks out of a run exit while another item spins forever', async () => {
    const script = fileURLToPath(new URL('fixtures/break-early.ts', import.meta.url))
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', script], { timeout: 30_000 })
    expect(stdout).toBe('wait\nbroke out\n')
  }, 40_000)
})

describe('workerMap on a shared pool', () => {
  const { shared, view } = gate()
  let pool: WorkerPool
  let piscina: Piscina

  beforeAll(async () => {
    ;({ pool, piscina } = poolAndPiscina({ maxThreads: 2, workerData: { shared } }))
    // Both threads warm, so that per-item timeouts below never count a thread's start-up.
    await collect(workerMap(fixture, { pool, exportName: 'gate' })(['wait', 'open']))
  })

  beforeEach(() => {
    view.fill(0)
  })

  afterAll(async () => {
    await pool.destroy()
  })

  it('calls the default export on worker threads and yields the results in input order', async () => {
    const items = range(50)
    expect(await collect(workerMap<number, number>(fixture, { pool })(items))).toEqual(items.map((n) => n * 2))
  })

  it('keeps input order when a later item finishes first', async () => {
    const run = workerMap<string, string>(fixture, { pool, exportName: 'gate', concurrency: 2 })
    expect(await collect(run(['wait', 'open']))).toEqual(['wait', 'open'])
  })

  it('yields as completed with ordered: false', async () => {
    const run = workerMap<string, string>(fixture, { pool, exportName: 'gate', concurrency: 2, ordered: false })
    const results: string[] = []
    for await (const result of run(['wait', 'first'])) {
      results.push(result)
      // 'wait' can only finish once the consumer has seen 'first' and opens the gate.
      Atomics.store(view, 0, 1)
      Atomics.notify(view, 0)
    }
    expect(results).toEqual(['first', 'wait'])
  })

  it('runs TypeScript worker modules when the process runs under a TS loader', async () => {
    const typed = new URL('fixtures/increment.ts', import.meta.url)
    const own = workerMap<number, number>(typed, { workerData: 10, concurrency: 1 })
    expect(await collect(own([1, 2, 3]))).toEqual([11, 12, 13])
  })

  it('stops a busy-looping task at its timeout, and with onError: continue the run goes on', async () => {
    const run = workerMap<string, string>(fixture, { pool, exportName: 'gate', timeout: 500, onError: 'continue' })
    const results: string[] = []
    const error = await rejection(
      (async () => {
        for await (const result of run(['a', 'spin', 'b', 'c'])) results.push(result)
      })(),
    )
    expect(results).toEqual(['a', 'b', 'c'])
    expect(error).toBeInstanceOf(AggregateError)
    expect((error as AggregateError).errors).toEqual([new TimeoutError('Item 1 timed out after 500 ms')])
    expect(await settledCounter(view, 1)).toBeGreaterThan(0)
    // The pool replaced the terminated thread.
    expect(await collect(workerMap(fixture, { pool })([1, 2]))).toEqual([2, 4])
    expect(piscina.threads).toHaveLength(2)
  })

  it('fails the run with TimeoutError when a busy loop times out under onError: abort', async () => {
    const run = workerMap(fixture, { pool, exportName: 'gate', concurrency: 1, timeout: 500 })
    const error = await rejection(collect(run(['spin', 'never reached'])))
    expect(error).toBeInstanceOf(TimeoutError)
    expect(Atomics.load(view, 0)).toBe(1)
    await settledCounter(view, 1)
  })

  it('survives an abort that races a result already on its way back', async () => {
    const controller = new AbortController()
    const iterator = workerMap(fixture, { pool, signal: controller.signal })([1, 2])
    const pending = iterator.next()
    // Blocks the main thread while both tasks finish, so that their results are queued messages
    // when the abort comes (piscina then emits 'error', which crashes a process that has no listener).
    const until = Date.now() + 100
    while (Date.now() < until);
    controller.abort(new Error('stop'))
    expect(await rejection(pending)).toEqual(new Error('stop'))
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(await collect(workerMap(fixture, { pool })([3]))).toEqual([6])
  })

  it('fails the items of a run on a pool that has been destroyed', async () => {
    const destroyed = createPool({ maxThreads: 1 })
    await destroyed.destroy()
    await destroyed[Symbol.asyncDispose]()
    const error = await rejection(collect(workerMap(fixture, { pool: destroyed })([1])))
    expect(error).toEqual(new Error('The worker pool has been destroyed'))
  })

  it('runs as many items at once as the pool has threads, unless told otherwise', async () => {
    const threads = availableParallelism() + 1
    const { shared: gated } = gate()
    const wide = createPool({ maxThreads: threads, workerData: { shared: gated } })
    try {
      // The 'wait' items return only once 'open', the last, has opened the gate: all run at once.
      const items = [...Array.from({ length: threads - 1 }, () => 'wait'), 'open']
      const run = workerMap<string, string>(fixture, { pool: wide, exportName: 'gate', timeout: 10_000 })
      expect(await collect(run(items))).toEqual(items)
    } finally {
      await wide.destroy()
    }
  })

  it('has os.availableParallelism() threads by default', async () => {
    const defaultPool = createPool()
    try {
      expect(defaultPool.maxThreads).toBe(availableParallelism())
    } finally {
      await defaultPool.destroy()
    }
  })

  it('serves several runs and never destroys a pool it was given', async () => {
    const destroy = vi.spyOn(Piscina.prototype, 'destroy')
    expect(await collect(workerMap(fixture, { pool })([1, 2, 3]))).toEqual([2, 4, 6])
    const echoed = await collect(workerMap<string, { workerData: unknown }>(fixture, { pool, exportName: 'echo' })(['x']))
    expect(echoed[0]!.workerData).toEqual({ shared })
    const iterator = workerMap(fixture, { pool })([1, 2, 3])
    await iterator.next()
    await iterator.return!()
    expect(destroy).not.toHaveBeenCalled()
    expect(piscina.threads).toHaveLength(2)
  })

  it('rethrows an error thrown in a worker, of the same class and message', async () => {
    const error = await rejection(collect(workerMap(fixture, { pool, exportName: 'failOnBad' })(['ok', 'bad', 'ok'])))
    expect(error).toBeInstanceOf(RangeError)
    expect((error as Error).message).toBe('bad item bad')
  })

  it('keeps the name, fields and cause of an error thrown in a worker', async () => {
    const missing = fileURLToPath(new URL('fixtures/missing.txt', import.meta.url))
    const error = await rejection(collect(workerMap(fixture, { pool, exportName: 'parseFile' })([missing])))
    expect(error).toBeInstanceOf(SyntaxError)
    expect(error).toMatchObject({ name: 'ParseError', message: `cannot parse ${missing}`, line: 0 })
    expect((error as Error).stack).toContain('parseFile')
    expect(error).not.toHaveProperty('details')
    const cause = (error as Error).cause
    expect(cause).toBeInstanceOf(Error)
    expect(cause).toMatchObject({ code: 'ENOENT', syscall: 'open', path: missing })
  })

  it('retries with the attempt number passed to the worker', async () => {
    const run = workerMap(fixture, { pool, exportName: 'flaky', retry: { retries: 1, minDelay: 0 } })
    expect(await collect(run(['x', 'y']))).toEqual([2, 2])
  })

  it('reports progress through onProgress', async () => {
    const progress = vi.fn()
    await collect(workerMap(fixture, { pool, onProgress: progress, total: 3 })([1, 2, 3]))
    expect(progress).toHaveBeenLastCalledWith(expect.objectContaining({ succeeded: 3, done: 3, percent: 100 }))
  })

  it('fails the items with a TypeError naming a missing export, or one that is not a function', async () => {
    const missing = await rejection(collect(workerMap(fixture, { pool, exportName: 'nope' })([1])))
    expect(missing).toBeInstanceOf(TypeError)
    expect((missing as Error).message).toBe(
      `Worker module ${fixturePath} has no export "nope" (its exports: default, echo, failOnBad, flaky, gate, notAFunction, parseFile, unclonable)`,
    )
    const notAFunction = await rejection(collect(workerMap(fixture, { pool, exportName: 'notAFunction' })([1])))
    expect((notAFunction as Error).message).toBe(`Expected the export "notAFunction" of ${fixturePath} to be a function, got 42`)
  })

  it('names the default export when a module has none', async () => {
    const named = new URL('fixtures/named-only.mjs', import.meta.url)
    const error = await rejection(collect(workerMap(named, { pool })([1])))
    expect((error as Error).message).toBe(`Worker module ${fileURLToPath(named)} has no default export (its exports: named)`)
  })

  it('says a loader is missing for a module whose extension Node cannot import', async () => {
    const text = new URL('fixtures/no-loader.txt', import.meta.url)
    const error = await rejection(collect(workerMap(text, { pool })([1])))
    expect(error).toBeInstanceOf(TypeError)
    expect((error as Error).message).toBe(
      `Worker module ${fileURLToPath(text)} needs a loader for its extension that worker threads inherit (for TypeScript: node --import tsx)`,
    )
  })

  it('fails an item whose result cannot be cloned with a TypeError that says so', async () => {
    const error = await rejection(collect(workerMap(fixture, { pool, exportName: 'unclonable' })(['x'])))
    expect(error).toBeInstanceOf(TypeError)
    expect((error as Error).message).toMatch(/^The result of item 0 could not be cloned back to the main thread: .* could not be cloned\.$/)
  })

  it('fails an item that cannot be cloned to a worker, and goes on with onError: continue', async () => {
    const results: number[] = []
    const error = await rejection(
      (async () => {
        for await (const n of workerMap<unknown, number>(fixture, { pool, onError: 'continue' })([1, () => 2, 3])) {
          results.push(n)
        }
      })(),
    )
    expect(results).toEqual([2, 6])
    const [cause] = (error as AggregateError).errors as Error[]
    expect(cause).toBeInstanceOf(TypeError)
    expect(cause!.message).toMatch(/^Item 1 could not be cloned to a worker thread: .* could not be cloned\.$/)
    expect(cause!.cause).toMatchObject({ name: 'DataCloneError' })
  })
})

describe('error records', () => {
  it('leave values that are not errors as they are', () => {
    const plain = { message: 'plain' }
    expect(toRecord(plain)).toBe(plain)
    expect(fromRecord(plain)).toBe(plain)
    expect(toRecord('text')).toBe('text')
    expect(fromRecord(null)).toBe(null)
  })

  it('cut a cycle of causes', () => {
    const outer = new Error('outer', { cause: new TypeError('inner') })
    ;(outer.cause as Error).cause = outer
    const copy = fromRecord(structuredClone(toRecord(outer))) as Error
    expect(copy.message).toBe('outer')
    expect(copy.cause).toBeInstanceOf(TypeError)
    expect(copy.cause).not.toHaveProperty('cause')
  })
})
