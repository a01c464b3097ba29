/**
 * The main entry's guarantees, checked with nothing but standard JavaScript, so that the same cases
 * run on Node (test/runtimes/conformance.test.ts, against src/) and, through
 * scripts/check-runtimes.ts, on Deno, Bun and headless Chromium against the built dist/. Every case
 * gets the API as an argument and names the exports it covers; every function the entry exports
 * must be covered by some case.
 *
 * No fake timers here (they are not portable): a case that needs time uses a few real milliseconds
 * and asserts lower bounds only, and every other ordering is driven by promises the case settles.
 */
import type * as Api from '../../src/index.js'
import { deferred } from '../../src/internal/deferred.js'

/** The main entry, as a module namespace. */
export type MainEntry = typeof Api

/** One check of the conformance subset. */
export interface ConformanceCase {
  readonly name: string
  /** The exports this case exercises. */
  readonly covers: readonly (keyof MainEntry)[]
  readonly run: (api: MainEntry) => Promise<void>
}

/** What one case gave on one runtime. */
export interface ConformanceResult {
  readonly name: string
  readonly passed: boolean
  readonly error?: string
}

class ConformanceError extends Error {
  override readonly name = 'ConformanceError'
}

function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new ConformanceError(message)
}

/** JSON with the keys of every object sorted, so that equal values give equal text. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  )
}

function checkEqual(actual: unknown, expected: unknown, what: string): void {
  const [a, e] = [canonical(actual), canonical(expected)]
  check(a === e, `${what}: expected ${e}, got ${a}`)
}

/** The rejection of `promise`, or a failure when it fulfils. */
async function rejection(promise: Promise<unknown>, what: string): Promise<unknown> {
  try {
    await promise
  } catch (error) {
    return error
  }
  throw new ConformanceError(`${what}: expected a rejection, got a result`)
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Resolves once `condition()` holds, looking after each macrotask; fails after `limit` turns. */
async function until(condition: () => boolean, what: string, limit = 1_000): Promise<void> {
  for (let turn = 0; !condition(); turn++) {
    if (turn === limit) throw new ConformanceError(`gave up waiting for ${what}`)
    await sleep(0)
  }
}

/** Rejects with the signal's reason as soon as it aborts; never settles otherwise. */
function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason)
    else signal.addEventListener('abort', () => reject(signal.reason), { once: true })
  })
}

/** A hand-written async source over `items` that counts its pulls and records its `return()`. */
class Probe<T> implements AsyncIterableIterator<T> {
  pulled = 0
  returned = false
  readonly #items: Iterator<T>

  constructor(items: Iterable<T>) {
    this.#items = items[Symbol.iterator]()
  }

  [Symbol.asyncIterator](): this {
    return this
  }

  async next(): Promise<IteratorResult<T>> {
    const result = this.#items.next()
    if (!result.done) this.pulled++
    return result
  }

  async return(): Promise<IteratorResult<T>> {
    this.returned = true
    return { done: true, value: undefined }
  }
}

function* naturals(): Generator<number> {
  for (let n = 0; ; n++) yield n
}

/** The cases, in the order they run. */
export const cases: readonly ConformanceCase[] = [
  {
    name: 'parallelMap keeps the concurrency cap, reaches it, and keeps input order',
    covers: ['parallelMap', 'pipe', 'collect'],
    async run({ parallelMap, pipe, collect }) {
      let running = 0
      let most = 0
      const delays = [30, 5, 20, 1, 10, 0, 15, 2]
      const out = await pipe(
        delays,
        parallelMap(
          async (ms: number) => {
            most = Math.max(most, ++running)
            await sleep(ms)
            running--
            return ms * 2
          },
          { concurrency: 3 },
        ),
        collect,
      )
      checkEqual(out, delays.map((ms) => ms * 2), 'output')
      checkEqual(most, 3, 'most calls running at once')
    },
  },
  {
    name: 'ordered: false yields in completion order',
    covers: ['parallelMap'],
    async run({ parallelMap }) {
      const gates = ['a', 'b', 'c'].map(() => deferred<void>())
      const out: string[] = []
      const iterating = (async () => {
        const op = parallelMap(
          async (item: string, { index }) => {
            await gates[index]!.promise
            return item
          },
          { concurrency: 3, ordered: false },
        )
        for await (const item of op(['a', 'b', 'c'])) out.push(item)
      })()
      for (const [index, expected] of [
        [2, 1],
        [0, 2],
        [1, 3],
      ] as const) {
        gates[index]!.resolve()
        await until(() => out.length === expected, `result ${expected}`)
      }
      await iterating
      checkEqual(out, ['c', 'a', 'b'], 'output')
    },
  },
  {
    name: 'overlapping next() calls are answered in call order',
    covers: ['parallelMap'],
    async run({ parallelMap }) {
      const iterator = parallelMap((n: number) => sleep(3 - n).then(() => n), { concurrency: 3 })([0, 1, 2])
      const results = await Promise.all([iterator.next(), iterator.next(), iterator.next(), iterator.next()])
      checkEqual(results, [{ value: 0, done: false }, { value: 1, done: false }, { value: 2, done: false }, { done: true }], 'results')
    },
  },
  {
    name: '[Symbol.asyncDispose] of an operator closes it as return() does',
    covers: ['take', 'merge'],
    async run({ take, merge }) {
      const [taken, left, right] = [new Probe(naturals()), new Probe(naturals()), new Probe(naturals())]
      const iterators = [take(10)(taken), merge(left, right)]
      for (const iterator of iterators) {
        checkEqual(await iterator.next(), { value: 0, done: false }, 'the first item')
        await iterator[Symbol.asyncDispose]()
        checkEqual(await iterator.next(), { done: true }, 'next() after dispose')
      }
      check(taken.returned && left.returned && right.returned, 'a source was left open')
    },
  },
  {
    name: 'an early break closes the source, aborts the calls in flight and waits for them',
    covers: ['parallelMap'],
    async run({ parallelMap }) {
      const source = new Probe(naturals())
      const signals: AbortSignal[] = []
      let running = 0
      const op = parallelMap(
        async (n: number, { signal }) => {
          signals.push(signal)
          running++
          try {
            // Item 0 waits for a timer, so that every pull and start (microtasks) happens first.
            if (n === 0) await sleep(5)
            else await untilAborted(signal)
            return n
          } finally {
            running--
          }
        },
        { concurrency: 4 },
      )
      for await (const n of op(source)) {
        checkEqual(n, 0, 'first result')
        break
      }
      check(source.returned, 'the source was not closed')
      checkEqual(running, 0, 'calls still running after the loop')
      // Four at once; a fifth may start in the slot item 0 frees before the consumer breaks.
      check(signals.length === 4 || signals.length === 5, `${signals.length} calls started`)
      checkEqual(signals.slice(1).filter((signal) => !signal.aborted).length, 0, 'calls not aborted')
      check(source.pulled <= 8, `read ${source.pulled} items ahead (readAhead is 8)`)
    },
  },
  {
    name: "onError 'abort': the task's own error, after the items before it, siblings aborted",
    covers: ['parallelMap', 'collect'],
    async run({ parallelMap, collect }) {
      const boom = new Error('boom')
      const out: number[] = []
      const aborted: number[] = []
      const op = parallelMap(
        async (n: number, { signal }) => {
          if (n === 2) {
            await sleep(5)
            throw boom
          }
          if (n < 2) return n
          try {
            return await untilAborted(signal)
          } catch (error) {
            aborted.push(n)
            throw error
          }
        },
        { concurrency: 4 },
      )
      const error = await rejection(
        (async () => {
          for await (const n of op([0, 1, 2, 3, 4])) out.push(n)
        })(),
        'the run',
      )
      check(error === boom, `thrown: ${String(error)}`)
      checkEqual(out, [0, 1], 'yielded before the error')
      checkEqual(aborted.sort(), [3, 4], 'aborted siblings')
      const source = new Probe([1, 2, 3])
      check((await rejection(collect(parallelMap(() => Promise.reject(boom))(source)), 'collect')) === boom, 'collect')
      check(source.returned, 'the source was not closed after the failure')
    },
  },
  {
    name: "onError 'continue' goes on and throws an AggregateError of the failures in input order",
    covers: ['parallelMap', 'collect'],
    async run({ parallelMap, collect }) {
      const out: number[] = []
      const op = parallelMap(
        async (n: number) => {
          await sleep(5 - n)
          if (n % 2 === 1) throw new Error(`odd ${n}`)
          return n
        },
        { concurrency: 5, onError: 'continue' },
      )
      const error = await rejection(
        (async () => {
          for await (const n of op([0, 1, 2, 3, 4])) out.push(n)
        })(),
        'the run',
      )
      checkEqual(out, [0, 2, 4], 'results')
      check(error instanceof AggregateError, `thrown: ${String(error)}`)
      checkEqual(
        error.errors.map((e: Error) => e.message),
        ['odd 1', 'odd 3'],
        'failures',
      )
      checkEqual(await collect(parallelMap((n: number) => n)([])), [], 'an empty source')
    },
  },
  {
    name: 'a per-item timeout fails the item with TimeoutError and aborts its signal, even if fn ignores it',
    covers: ['parallelMap', 'TimeoutError', 'collect'],
    async run({ parallelMap, collect, TimeoutError }) {
      let signal: AbortSignal | undefined
      const error = await rejection(
        collect(
          parallelMap(
            (_: number, context) => {
              signal = context.signal
              return new Promise<never>(() => {})
            },
            { timeout: 20 },
          )([1]),
        ),
        'the run',
      )
      check(error instanceof TimeoutError, `thrown: ${String(error)}`)
      checkEqual((error as Error).name, 'TimeoutError', 'name')
      check(signal?.aborted === true, "the item's signal was not aborted")
    },
  },
  {
    name: 'options.signal rejects a pending next() with its reason and reaches the work',
    covers: ['parallelMap'],
    async run({ parallelMap }) {
      const controller = new AbortController()
      const reason = new Error('stop')
      let workAborted = false
      const iterator = parallelMap(
        async (_: number, { signal }) => {
          await untilAborted(signal).catch((error: unknown) => {
            workAborted = true
            throw error
          })
        },
        { signal: controller.signal },
      )([1, 2])
      const pending = iterator.next()
      await sleep(1)
      controller.abort(reason)
      check((await rejection(pending, 'next()')) === reason, 'not rejected with the reason')
      await iterator.return?.()
      check(workAborted, 'the work was not aborted')
    },
  },
  {
    name: 'parallelMapSettled yields a record per item and retry counts attempts',
    covers: ['parallelMapSettled', 'collect'],
    async run({ parallelMapSettled, collect }) {
      const attempts = new Map<string, number[]>()
      const records = await collect(
        parallelMapSettled(
          (item: string, { attempt }) => {
            attempts.set(item, [...(attempts.get(item) ?? []), attempt])
            if (item === 'never') throw new Error('no')
            if (item === 'third' && attempt < 3) throw new Error('not yet')
            return item.toUpperCase()
          },
          { retry: { retries: 2, minDelay: 1, maxDelay: 1 } },
        )(['ok', 'third', 'never']),
      )
      checkEqual(
        records.map((r) => [r.status, r.item, r.index, r.attempts, r.status === 'fulfilled' ? r.value : (r.reason as Error).message]),
        [
          ['fulfilled', 'ok', 0, 1, 'OK'],
          ['fulfilled', 'third', 1, 3, 'THIRD'],
          ['rejected', 'never', 2, 3, 'no'],
        ],
        'records',
      )
      checkEqual(attempts.get('third'), [1, 2, 3], 'attempts seen by fn')
      check(records.every((r) => typeof r.duration === 'number' && r.duration >= 0), 'durations')
    },
  },
  {
    name: 'parallel runs task functions under its cap, and drain consumes a source',
    covers: ['parallel', 'drain', 'collect'],
    async run({ parallel, collect, drain }) {
      let running = 0
      let most = 0
      const task = (n: number) => async () => {
        most = Math.max(most, ++running)
        await sleep(n)
        running--
        return n
      }
      const out = await collect(parallel([8, 1, 4, 2, 6].map(task), { concurrency: 2, ordered: true }))
      checkEqual(out, [8, 1, 4, 2, 6], 'ordered output')
      checkEqual(most, 2, 'most tasks running at once')
      const unordered = await collect(parallel([20, 0].map(task)))
      checkEqual(unordered, [0, 20], 'default: as completed')
      const source = new Probe([1, 2, 3])
      checkEqual(await drain(source), undefined, 'drain result')
      checkEqual(source.pulled, 3, 'items drained')
    },
  },
  {
    name: 'sources: sync and async iterables, generators and a web ReadableStream',
    covers: ['parallelMap', 'collect'],
    async run({ parallelMap, collect }) {
      const double = parallelMap((n: number) => n * 2)
      async function* generated() {
        yield* [1, 2]
      }
      const stream = new ReadableStream<number>({
        start(controller) {
          for (const n of [1, 2, 3]) controller.enqueue(n)
          controller.close()
        },
      })
      checkEqual(await collect(double(new Set([1, 2]))), [2, 4], 'a Set')
      checkEqual(await collect(double(generated())), [2, 4], 'an async generator')
      // DOM's ReadableStream type is not async-iterable without the DOM.AsyncIterable lib.
      checkEqual(await collect(double(stream as unknown as AsyncIterable<number>)), [2, 4, 6], 'a ReadableStream')
    },
  },
  {
    name: 'bad options are errors at creation: a RangeError, and a TypeError naming the nearest key',
    covers: ['parallelMap', 'throttle'],
    async run({ parallelMap, throttle }) {
      let error: unknown
      try {
        parallelMap((n: number) => n, { concurrency: 0 })
      } catch (e) {
        error = e
      }
      check(error instanceof RangeError && /concurrency/.test(error.message), `concurrency 0: ${String(error)}`)
      error = undefined
      try {
        throttle({ limit: 1, interval: 10, intervall: 5 } as never)
      } catch (e) {
        error = e
      }
      check(error instanceof TypeError && /intervall/.test(error.message) && /interval\b/.test(error.message), `a typo: ${String(error)}`)
    },
  },
  {
    name: 'take, drop and slice: array semantics, and the source is closed once the last item is out',
    covers: ['take', 'drop', 'slice', 'pipe', 'collect'],
    async run({ take, drop, slice, pipe, collect }) {
      const source = new Probe(naturals())
      checkEqual(await pipe(source, take(3), collect), [0, 1, 2], 'take(3)')
      checkEqual(source.pulled, 3, 'items pulled by take(3)')
      check(source.returned, 'take(3) did not close its source')
      checkEqual(await pipe([0, 1, 2, 3], drop(2), collect), [2, 3], 'drop(2)')
      checkEqual(await pipe(naturals(), slice(2, 5), collect), [2, 3, 4], 'slice(2, 5)')
    },
  },
  {
    name: 'batch: arrays of size n, the last partial, and maxWait sends a partial batch while the source waits',
    covers: ['batch', 'pipe', 'collect'],
    async run({ batch, pipe, collect }) {
      checkEqual(await pipe([1, 2, 3, 4, 5], batch(2), collect), [[1, 2], [3, 4], [5]], 'batch(2)')
      const more = deferred<void>()
      async function* stalled() {
        yield 1
        await more.promise
        yield 2
      }
      const iterator = batch(10, { maxWait: 10 })(stalled())
      checkEqual(await iterator.next(), { value: [1], done: false }, 'the batch sent by maxWait')
      more.resolve()
      checkEqual(await iterator.next(), { value: [2], done: false }, 'the last batch')
      checkEqual(await iterator.next(), { done: true }, 'the end')
    },
  },
  {
    name: 'merge interleaves sources as items arrive and closes all of them on early exit',
    covers: ['merge'],
    async run({ merge }) {
      async function* slow() {
        await sleep(20)
        yield 'slow'
      }
      const out: string[] = []
      for await (const item of merge(slow(), ['fast'])) out.push(item)
      checkEqual(out, ['fast', 'slow'], 'output')
      const [left, right] = [new Probe(naturals()), new Probe(naturals())]
      for await (const item of merge(left, right)) {
        checkEqual(item, 0, 'first item')
        break
      }
      check(left.returned && right.returned, 'a source was left open')
    },
  },
  {
    name: 'throttle delays (never drops) items beyond limit per interval',
    covers: ['throttle', 'pipe', 'collect'],
    async run({ throttle, pipe, collect }) {
      const times: number[] = []
      const out = await pipe(
        [1, 2, 3],
        throttle({ limit: 2, interval: 40 }),
        async function* (source) {
          for await (const item of source) {
            times.push(performance.now())
            yield item
          }
        },
        collect,
      )
      checkEqual(out, [1, 2, 3], 'output')
      // A lower bound only, which a slow machine cannot break (less a millisecond of timer rounding).
      check(times[2]! - times[0]! >= 39, `the third item came ${times[2]! - times[0]!} ms after the first`)
    },
  },
  {
    name: 'timeout: a whole-run deadline closes the upstream and rejects with TimeoutError; onTimeout end ends quietly',
    covers: ['timeout', 'TimeoutError', 'parallelMap', 'pipe', 'collect'],
    async run({ timeout, TimeoutError, parallelMap, pipe, collect }) {
      const source = new Probe(naturals())
      const aborted: number[] = []
      const error = await rejection(
        pipe(
          source,
          parallelMap(
            (n: number, { signal }) =>
              untilAborted(signal).catch((reason: unknown) => {
                aborted.push(n)
                throw reason
              }),
            { concurrency: 2 },
          ),
          timeout(20),
          collect,
        ),
        'the run',
      )
      check(error instanceof TimeoutError, `thrown: ${String(error)}`)
      await until(() => source.returned, 'the source to close')
      await until(() => aborted.length === 2, 'the calls in flight to abort')
      async function* silent() {
        yield 1
        await new Promise<never>(() => {})
      }
      checkEqual(await pipe(silent(), timeout({ each: 20, onTimeout: 'end' }), collect), [1], "onTimeout: 'end'")
    },
  },
  {
    name: 'startJob: runs in the background, receive() hands results out once, wait() and the states',
    covers: ['startJob', 'Job', 'parallelMap'],
    async run({ startJob, Job, parallelMap }) {
      const job = startJob(({ signal, reportProgress }) =>
        parallelMap((n: number) => n * n, { signal, onProgress: reportProgress, total: 3 })([1, 2, 3]),
      )
      check(job instanceof Job, 'startJob gives a Job')
      checkEqual([job.state, job.name], ['Running', `Job${job.id}`], 'state and name at start')
      checkEqual(await job.wait(), true, 'wait()')
      checkEqual(job.state, 'Completed', 'state')
      checkEqual(job.progress?.done, 3, 'progress.done')
      checkEqual(job.receive({ keep: true }), [1, 4, 9], 'receive({ keep: true })')
      checkEqual(job.receive(), [1, 4, 9], 'receive()')
      checkEqual(job.receive(), [], 'receive() again')
      const failed = startJob(() => {
        throw new Error('no source')
      })
      await failed.wait()
      checkEqual([failed.state, (failed.error as Error).message], ['Failed', 'no source'], 'a failing factory')
    },
  },
  {
    name: 'jobs: stop() aborts the work, waitAny and waitAll, iteration streams the results',
    covers: ['startJob', 'waitAll', 'waitAny'],
    async run({ startJob, waitAll, waitAny }) {
      let stoppedWork = false
      const endless = startJob(async function* ({ signal }) {
        yield 'first'
        await untilAborted(signal).catch(() => (stoppedWork = true))
      })
      const quick = startJob(['a', 'b'])
      checkEqual(await waitAny([endless, quick]), quick, 'waitAny')
      checkEqual(await waitAll([endless, quick], { timeout: 10 }), false, 'waitAll at its timeout')
      await endless.stop()
      checkEqual([endless.state, stoppedWork], ['Stopped', true], 'after stop()')
      checkEqual(endless.receive(), ['first'], 'results from before the stop')
      checkEqual(await waitAll([endless, quick]), true, 'waitAll')
      const streamed: number[] = []
      for await (const n of startJob([1, 2, 3])) streamed.push(n)
      checkEqual(streamed, [1, 2, 3], 'iteration')
    },
  },
  {
    name: 'JobTable: throttleLimit queues jobs as NotStarted, get, list, receive, remove and dispose',
    covers: ['JobTable'],
    async run({ JobTable }) {
      const table = new JobTable<string>({ throttleLimit: 1 })
      const gate = deferred<void>()
      const first = table.start(async function* () {
        await gate.promise
        yield 'one'
      }, { name: 'backup-1' })
      let secondStarted = false
      const second = table.start(() => {
        secondStarted = true
        return ['two']
      }, { name: 'backup-2' })
      const other = table.start(['three'], { name: 'other' })
      checkEqual([first.state, second.state, other.state, secondStarted], ['Running', 'NotStarted', 'NotStarted', false], 'states')
      check(table.get('backup-2') === second && table.get(first.id) === first, 'get()')
      checkEqual(table.list({ name: 'backup-*' }).map((job) => job.name), ['backup-1', 'backup-2'], 'list({ name })')
      gate.resolve()
      checkEqual(await table.wait({ timeout: 5_000 }), true, 'wait()')
      checkEqual([second.state, secondStarted], ['Completed', true], 'the queued job')
      checkEqual(table.receive(), ['one', 'two', 'three'], 'receive(), in start order')
      await table.remove('other')
      checkEqual(table.list().length, 2, 'jobs after remove()')
      const endless = table.start(async function* ({ signal }) {
        yield 'started'
        await untilAborted(signal)
      })
      await table[Symbol.asyncDispose]()
      checkEqual([endless.state, table.list().length], ['Stopped', 0], 'after dispose')
    },
  },
  {
    name: 'jobs: per-item reports show in job.itemReports while the item runs',
    covers: ['startJob', 'parallelMap'],
    async run({ startJob, parallelMap }) {
      const gate = deferred<void>()
      const job = startJob(({ signal, reportItem }) =>
        parallelMap(
          async (n: number, { report }) => {
            report('half')
            await gate.promise
            return n
          },
          { signal, onReport: reportItem },
        )([1]),
      )
      while (job.itemReports.size === 0) await new Promise((resolve) => setTimeout(resolve, 1))
      checkEqual([...job.itemReports.values()], [{ index: 0, item: 1, value: 'half' }], 'itemReports')
      gate.resolve()
      await job.wait()
      checkEqual([job.itemReports.size, job.receive()], [0, [1]], 'after the end')
    },
  },
  {
    name: 'limits: a shared concurrencyLimit caps two runs together, follows a live change; adaptive stays in range',
    covers: ['concurrencyLimit', 'adaptiveConcurrency', 'parallelMap', 'collect'],
    async run({ concurrencyLimit, adaptiveConcurrency, parallelMap, collect }) {
      const limiter = concurrencyLimit(2)
      const gates: { resolve: () => void }[] = []
      let running = 0
      let most = 0
      const fn = async (n: number): Promise<number> => {
        running++
        most = Math.max(most, running)
        const gate = deferred<void>()
        gates.push(gate)
        await gate.promise
        running--
        return n
      }
      const one = collect(parallelMap(fn, { concurrency: limiter })([1, 2, 3]))
      const two = collect(parallelMap(fn, { concurrency: limiter })([4, 5, 6]))
      await until(() => running === 2, 'two running')
      await sleep(5)
      checkEqual([running, limiter.running], [2, 2], 'running under a shared limit of 2')
      limiter.limit = 3
      checkEqual(limiter.limit, 3, 'the new limit')
      await until(() => running === 3, 'three running after the limit rose')
      let released = 0
      while (released < 6) {
        await until(() => gates.length > released, 'a call to release')
        gates[released++]!.resolve()
      }
      checkEqual([await one, await two, most, limiter.running], [[1, 2, 3], [4, 5, 6], 3, 0], 'results')

      const adaptive = adaptiveConcurrency({ min: 2, max: 8 })
      const limits: number[] = []
      const out = await collect(parallelMap(async (n: number) => n, { concurrency: adaptive, onProgress: (p) => limits.push(p.limit) })([1, 2, 3]))
      checkEqual(out, [1, 2, 3], 'adaptive results')
      check(limits.length > 0 && limits.every((l) => l >= 2 && l <= 8), `Progress.limit within [2, 8]: ${limits.join()}`)
    },
  },
]

/** The functions and classes `api` exports that no case covers. */
export function uncovered(api: MainEntry): string[] {
  const covered = new Set<string>(cases.flatMap((c) => c.covers))
  return Object.keys(api).filter((name) => typeof (api as Record<string, unknown>)[name] === 'function' && !covered.has(name))
}

/** Most time one case may take, so that a hang on some runtime fails that case instead of the run. */
const CASE_LIMIT_MS = 10_000

/** Runs every case on `api`, one after another, plus the coverage check. Never throws. */
export async function runConformance(api: MainEntry): Promise<ConformanceResult[]> {
  const results: ConformanceResult[] = []
  for (const { name, run } of cases) {
    let timer: ReturnType<typeof setTimeout> | undefined
    const limit = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ConformanceError(`did not finish in ${CASE_LIMIT_MS} ms`)), CASE_LIMIT_MS)
    })
    try {
      await Promise.race([run(api), limit])
      results.push({ name, passed: true })
    } catch (error) {
      results.push({ name, passed: false, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) })
    } finally {
      clearTimeout(timer)
    }
  }
  const missing = uncovered(api)
  results.push({
    name: 'every export of the main entry is covered by a case',
    passed: missing.length === 0,
    ...(missing.length > 0 && { error: `not covered: ${missing.join(', ')} (add a case to test/runtimes/conformance.ts)` }),
  })
  return results
}
