import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  batch,
  drop,
  merge,
  parallelMap,
  slice,
  take,
  throttle,
  timeout,
  TimeoutError,
  type Source,
  type TaskContext,
} from '../src/index.js'
import { failOnUnhandledRejections, naturals, tick } from './helpers.js'

// Guarantee 5 through random pipelines, with real timers: operators composed over parallelMap
// (and merges of them), with more parallelMaps among them (inner and outer), left every way. When the loop has exited no call is running, except
// after a deadline (a timeout() or the signal), where a later return() waits for them instead;
// and no timer is left once the pipeline is disposed. A fixed seed keeps the runs the same.
failOnUnhandledRejections()

/** A stage; `map` is a parallelMap with the run's calls and options, for a nested one. */
type Stage = (source: Source<unknown>, map: (source: Source<unknown>) => AsyncIterableIterator<unknown>) => AsyncIterableIterator<unknown>

const stage: fc.Arbitrary<[string, Stage]> = fc.oneof(
  fc.nat(6).map((n): [string, Stage] => [`take(${n})`, take(n)]),
  fc.tuple(fc.nat(3), fc.nat(5)).map(([a, b]): [string, Stage] => [`slice(${a}, ${a + b})`, slice(a, a + b)]),
  fc.nat(3).map((n): [string, Stage] => [`drop(${n})`, drop(n)]),
  fc
    .tuple(fc.integer({ min: 1, max: 4 }), fc.option(fc.integer({ min: 1, max: 5 }), { nil: undefined }))
    .map(([size, maxWait]): [string, Stage] => [`batch(${size}, ${maxWait})`, batch(size, { maxWait })]),
  fc
    .tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }))
    .map(([limit, interval]): [string, Stage] => [`throttle(${limit}/${interval})`, throttle({ limit, interval })]),
  // A timeout that never fires in these runs: the deadline exits are drawn separately.
  fc.constant<[string, Stage]>(['timeout(each 10 s)', timeout({ each: 10_000 })]),
  fc.constant<[string, Stage]>(['parallelMap', (source, map) => map(source)]),
)

const exit = fc.oneof(
  fc.constant({ kind: 'end' as const }),
  fc.record({ kind: fc.constantFrom('break' as const, 'throw' as const, 'return' as const), after: fc.nat(8) }),
  fc.record({ kind: fc.constantFrom('timeout' as const, 'abort' as const), ms: fc.integer({ min: 1, max: 25 }) }),
)

const pipeline = fc.record({
  items: fc.option(fc.nat(30), { nil: undefined }),
  before: fc.option(stage, { nil: undefined }),
  concurrency: fc.integer({ min: 1, max: 6 }),
  ordered: fc.boolean(),
  onError: fc.constantFrom('abort' as const, 'continue' as const),
  durations: fc.array(fc.nat(4), { minLength: 5, maxLength: 5 }),
  cleanup: fc.nat(3),
  failAt: fc.option(fc.nat(30), { nil: undefined }),
  merged: fc.boolean(),
  after: fc.array(stage, { maxLength: 3 }),
  exit,
})

type Case = typeof pipeline extends fc.Arbitrary<infer C> ? C : never

const STOPPED = new Error('stopped')

/** Calls that take a few ms, one of which may fail, and that settle a few ms after an abort. */
class Work {
  running = 0
  constructor(readonly run: Case) {}

  readonly fn = (_item: unknown, { signal, index }: TaskContext): Promise<number> => {
    this.running++
    const { durations, cleanup, failAt } = this.run
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort)
        if (index === failAt) reject(new Error(`item ${index} failed`))
        else resolve(index)
      }, durations[index % durations.length])
      const onAbort = (): void => {
        clearTimeout(timer)
        setTimeout(reject, cleanup, signal.reason)
      }
      signal.addEventListener('abort', onAbort, { once: true })
    }).finally(() => this.running--)
  }
}

function build(run: Case, work: Work, signal: AbortSignal | undefined): AsyncIterableIterator<unknown> {
  const options = { concurrency: run.concurrency, ordered: run.ordered, onError: run.onError, signal }
  const map = (source: Source<unknown>): AsyncIterableIterator<unknown> => parallelMap(work.fn, options)(source)
  const mapped = (): AsyncIterableIterator<unknown> => {
    const source: Source<unknown> = run.items === undefined ? naturals() : Array.from({ length: run.items }, (_, i) => i)
    return map(run.before ? run.before[1](source, map) : source)
  }
  let iterator = run.merged ? merge(mapped(), mapped()) : mapped()
  for (const [, next] of run.after) iterator = next(iterator, map)
  // An endless run read to its end needs an end.
  if (run.exit.kind === 'end' && run.items === undefined) iterator = take(5)(iterator)
  if (run.exit.kind === 'timeout') iterator = timeout(run.exit.ms)(iterator)
  return iterator
}

const activeTimers = (): number => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length

/** What was running when the loop exited, after the pipeline was disposed, and why it ended. */
async function leave(run: Case): Promise<{ atExit: number; afterDispose: number; error: unknown }> {
  const work = new Work(run)
  const controller = new AbortController()
  const aborting = run.exit.kind === 'abort' ? setTimeout(() => controller.abort(STOPPED), run.exit.ms) : undefined
  let atExit = -1
  let error: unknown
  const iterator = build(run, work, controller.signal)
  try {
    let seen = 0
    const { exit } = run
    if (exit.kind === 'return') {
      for (; seen < exit.after && !(await iterator.next()).done; seen++);
      const pending = iterator.next()
      // It may reject while this waits (an item's error): awaited below, it is the loop's error.
      pending.catch(() => {})
      await new Promise((resolve) => setTimeout(resolve, exit.after % 3))
      await iterator.return!()
      await pending
    } else {
      for await (const _ of iterator) {
        seen++
        if (exit.kind === 'break' && seen > exit.after) break
        if (exit.kind === 'throw' && seen > exit.after) throw new Error('consumer failed')
      }
    }
  } catch (thrown) {
    error = thrown
  } finally {
    atExit = work.running
    // What `await using` does (parallelMap's own iterator may lack [Symbol.asyncDispose]).
    await iterator.return!()
  }
  clearTimeout(aborting)
  return { atExit, afterDispose: work.running, error }
}

/** A deadline's error: the loop exits at once, and a later `return()` waits for the calls instead. */
function isDeadline(error: unknown): boolean {
  if (error === STOPPED) return true
  return error instanceof TimeoutError && /^(The run timed out|No item came)/.test(error.message)
}

describe('stress: random pipelines over parallelMap, real timers', () => {
  it('leave no call running once the loop has exited, and no timer once disposed', async () => {
    let deadlines = 0
    let earlyExits = 0
    await fc.assert(
      fc.asyncProperty(pipeline, async (run) => {
        const timersBefore = activeTimers()
        const { atExit, afterDispose, error } = await leave(run)
        expect(afterDispose).toBe(0)
        if (isDeadline(error)) deadlines++
        else expect(atExit).toBe(0)
        if (run.exit.kind !== 'end') earlyExits++
        await tick()
        expect(activeTimers()).toBeLessThanOrEqual(timersBefore)
      }),
      { seed: 15, numRuns: 300 },
    )
    // The runs did exercise the paths they are meant to.
    expect(deadlines).toBeGreaterThan(20)
    expect(earlyExits).toBeGreaterThan(100)
  }, 60_000)
})
