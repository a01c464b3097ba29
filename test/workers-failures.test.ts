import { execFile } from 'node:child_process'
import { availableParallelism } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { Piscina } from 'piscina'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { collect, TimeoutError } from '../src/index.js'
import { workerMap, type WorkerPool } from '../src/workers/index.js'
import { poolAndPiscina, rejection } from './workers-helpers.js'
import { failOnUnhandledRejections } from './helpers.js'

// Workers that misbehave (issue 15): thread counts that would kill the process, per-item timeouts
// that must not count the wait for a thread, and errors raised outside a task.

const stray = new URL('fixtures/stray.mjs', import.meta.url)



/** One item, then a source that waits until `signal` aborts: only the pool can end the run before. */
async function* oneThenWait(signal: AbortSignal): AsyncGenerator<number> {
  yield 1
  await sleep(60_000, undefined, { signal }).catch(() => {})
}

failOnUnhandledRejections()

afterEach(() => {
  vi.restoreAllMocks()
})

describe('workerMap: a process it runs in neither crashes nor hangs', () => {
  it('refuses absurd thread counts, survives errors raised outside a task, and exits by itself', async () => {
    // On the built package, with plain node: a thread starts in milliseconds instead of seconds.
    const script = fileURLToPath(new URL('fixtures/crash-proof.mjs', import.meta.url))
    const { stdout } = await promisify(execFile)(process.execPath, [script], { timeout: 30_000 })
    const most = Math.max(256, 4 * availableParallelism())
    expect(stdout).toBe(
      [
        `RangeError: Expected concurrency to be at most ${most} (the most threads a pool may have), got 2147483648`,
        `RangeError: Expected maxThreads to be at most ${most} (the most threads a pool may have), got 1e+308`,
        'result 1',
        'RangeError: thrown in a timer after item 1 returned',
        'result 1',
        'TypeError: left unhandled by item 1',
        'still running\n',
      ].join('\n'),
    )
  }, 40_000)
})

describe('workerMap: threads of a run of its own', () => {
  it('starts one per core at once and the rest as items come, not all of concurrency', async () => {
    const run = vi.spyOn(Piscina.prototype, 'run')
    for await (const result of workerMap(stray, { exportName: 'sleep', concurrency: 100 })([1])) {
      expect(result).toBe(1)
      const piscina = run.mock.contexts[0] as Piscina
      expect(piscina.maxThreads).toBe(100)
      expect(piscina.threads).toHaveLength(Math.min(100, availableParallelism()))
    }
  })
})

describe('workerMap: the per-item timeout counts from the start of the task on its thread', () => {
  it('does not count the wait for a thread', async () => {
    const { pool } = poolAndPiscina({ maxThreads: 1 })
    try {
      await collect(workerMap(stray, { pool, exportName: 'sleep' })([0]))
      // Twelve items of 200 ms on one thread: the last waits 2.2 s for it, past its 2 s timeout.
      const run = workerMap<number, number>(stray, { pool, exportName: 'sleep', concurrency: Infinity, timeout: 2000 })
      const items = Array.from({ length: 12 }, () => 200)
      expect(await collect(run(items))).toEqual(items)
      // Whereas an item that runs past its timeout fails.
      const late = await rejection(collect(workerMap(stray, { pool, exportName: 'sleep', timeout: 300 })([3000])))
      expect(late).toEqual(new TimeoutError('Item 0 timed out after 300 ms'))
    } finally {
      await pool.destroy()
    }
  })

  it("does not count a thread's start-up or the first import of the module", async () => {
    const slowStart = new URL('fixtures/slow-start.mjs', import.meta.url)
    // Each import blocks its thread for 1.5 s.
    expect(await collect(workerMap(slowStart, { concurrency: 2, timeout: 500 })(['a', 'b', 'c']))).toEqual(['a', 'b', 'c'])
  })
})

describe('workerMap: an error raised outside a task', () => {
  it('fails the item running on that thread, and the pool replaces the thread', async () => {
    const { pool, piscina } = poolAndPiscina({ maxThreads: 1 })
    try {
      const run = workerMap<number, number>(stray, { pool, exportName: 'throwWhileRunning', onError: 'continue' })
      const error = await rejection(collect(run([7])))
      expect((error as AggregateError).errors).toEqual([new RangeError('thrown in a timer while item 7 runs')])
      expect(await collect(workerMap(stray, { pool, exportName: 'sleep' })([1, 2]))).toEqual([1, 2])
      expect(piscina.threads).toHaveLength(1)
    } finally {
      await pool.destroy()
    }
  })

  it.each([
    ['throwAfterReturn', new RangeError('thrown in a timer after item 1 returned')],
    ['rejectAfterReturn', new TypeError('left unhandled by item 1')],
  ])('%s on an idle thread fails the run, whose source is still pulling, and ends its pool', async (exportName, expected) => {
    const destroy = vi.spyOn(Piscina.prototype, 'destroy')
    const source = new AbortController()
    const results: number[] = []
    const error = await rejection(
      (async () => {
        for await (const result of workerMap<number, number>(stray, { exportName, concurrency: 1 })(oneThenWait(source.signal))) {
          results.push(result)
        }
      })(),
    )
    source.abort()
    expect(results).toEqual([1])
    expect(error).toEqual(expected)
    expect(destroy).toHaveBeenCalledOnce()
    expect((destroy.mock.contexts[0] as Piscina).threads).toHaveLength(0)
  })

  describe('on a shared pool', () => {
    let pool: WorkerPool
    let piscina: Piscina

    beforeAll(() => {
      ;({ pool, piscina } = poolAndPiscina({ maxThreads: 1 }))
    })

    afterAll(async () => {
      await pool.destroy()
    })

    it('while no run uses the pool, fails the next run to start on it, once', async () => {
      expect(await collect(workerMap(stray, { pool, exportName: 'throwAfterReturn' })([1]))).toEqual([1])
      const thread = piscina.threads[0]!.threadId
      await vi.waitFor(() => expect(piscina.threads[0]?.threadId ?? thread).not.toBe(thread), { timeout: 15_000 })
      const error = await rejection(collect(workerMap(stray, { pool, exportName: 'sleep' })([1])))
      expect(error).toEqual(new RangeError('thrown in a timer after item 1 returned'))
      expect(await collect(workerMap(stray, { pool, exportName: 'sleep' })([1]))).toEqual([1])
    })

    it('fails every run using the pool at that moment', async () => {
      const source = new AbortController()
      const other = new AbortController()
      const [failed, alsoFailed] = await Promise.all([
        rejection(collect(workerMap(stray, { pool, exportName: 'throwAfterReturn' })(oneThenWait(source.signal)))),
        rejection(collect(workerMap(stray, { pool, exportName: 'sleep' })(oneThenWait(other.signal)))),
      ])
      source.abort()
      other.abort()
      expect(failed).toEqual(new RangeError('thrown in a timer after item 1 returned'))
      expect(alsoFailed).toBe(failed)
    })
  })
})
