import { getEventListeners } from 'node:events'
import fc from 'fast-check'
import { expect, it } from 'vitest'
import { parallelMap, parallelMapSettled, type Settled, type TaskContext } from '../src/index.js'
import { failOnUnhandledRejections, range, tick } from './helpers.js'

failOnUnhandledRejections()

/** One run's shape, drawn at random. */
interface Plan {
  readonly count: number
  readonly concurrency: number
  readonly readAhead: number
  readonly ordered: boolean
  readonly onError: 'abort' | 'continue'
  /** parallelMapSettled instead of parallelMap (onError then has no effect). */
  readonly settled: boolean
  /** Items whose call fails. */
  readonly failing: ReadonlySet<number>
  /** Per item: whether its call rejects as soon as its signal aborts (otherwise it ignores the signal). */
  readonly honour: readonly boolean[]
  /** Per item: whether its call returns synchronously (a value, or a throw). */
  readonly sync: readonly boolean[]
  readonly asyncSource: boolean
  /** The source throws after yielding this many items. */
  readonly sourceFailsAt: number | undefined
  /** The consumer calls return() after receiving this many results. */
  readonly breakAfter: number | undefined
  /** options.signal aborts at a moment the scheduler picks. */
  readonly abort: boolean
}

/** true with probability 1/n */
function oneIn(n: number): fc.Arbitrary<boolean> {
  return fc.integer({ min: 1, max: n }).map((k) => k === 1)
}

const plans: fc.Arbitrary<Plan> = fc
  .record({
    count: fc.integer({ min: 0, max: 16 }),
    concurrency: fc.integer({ min: 1, max: 6 }),
    // A tight read-ahead is where stalls hide: weigh it up.
    extra: fc.oneof(
      { arbitrary: fc.constant(0), weight: 2 },
      { arbitrary: fc.integer({ min: 0, max: 6 }), weight: 3 },
      { arbitrary: fc.constant(Infinity), weight: 1 },
    ),
    ordered: fc.boolean(),
    onError: fc.constantFrom('abort' as const, 'continue' as const),
    settled: oneIn(4),
    failing: fc.uniqueArray(fc.integer({ min: 0, max: 15 }), { maxLength: 6 }),
    honour: fc.array(fc.boolean(), { minLength: 16, maxLength: 16 }),
    sync: fc.array(oneIn(4), { minLength: 16, maxLength: 16 }),
    asyncSource: fc.boolean(),
    sourceFailsAt: fc.option(fc.integer({ min: 0, max: 16 }), { freq: 5 }),
    breakAfter: fc.option(fc.integer({ min: 0, max: 16 }), { freq: 2 }),
    abort: oneIn(5),
  })
  .map(({ extra, failing, sourceFailsAt, breakAfter, ...rest }) => ({
    ...rest,
    readAhead: rest.concurrency + extra,
    failing: new Set(failing),
    sourceFailsAt: sourceFailsAt ?? undefined,
    breakAfter: breakAfter ?? undefined,
  }))

const sourceError = new Error('source failed')
const abortReason = new Error('aborted by the test')

/** Whether a failure stops the run: `onError: 'abort'`, which parallelMapSettled ignores. */
function aborts(plan: Plan): boolean {
  return plan.onError === 'abort' && !plan.settled
}

/** A result as the consumer records it: `10 * item` for a value, `-1 - item` for a settled failure. */
function encode(plan: Plan, result: unknown): number {
  if (!plan.settled) return result as number
  const record = result as Settled<number, number>
  expect(record.item).toBe(record.index)
  expect(record.attempts).toBe(1)
  if (record.status === 'fulfilled') return record.value
  expect(record.reason).toEqual(itemError(record.index))
  return -1 - record.index
}

function indexOf(value: number): number {
  return value >= 0 ? value / 10 : -1 - value
}

function itemError(item: number): Error {
  return new Error(`item ${item}`)
}

/** Everything observed during one run. */
class Observed {
  pulled = 0
  pulling = false
  overlappedPulls = false
  sourceClosed = false
  sourceEnded = false
  running = 0
  maxRunning = 0
  calls = 0
  /** The signals of the asynchronous calls that have not settled yet. */
  readonly live = new Map<number, AbortSignal>()
  readonly signals = new Map<number, AbortSignal>()
  /** Calls running when something stopped their work: each must see its signal abort. */
  readonly mustAbort: AbortSignal[] = []

  /** Marks the live calls that the run must abort. */
  stopping(which: (item: number) => boolean = () => true): void {
    for (const [item, signal] of this.live) if (which(item)) this.mustAbort.push(signal)
  }

  /** Under 'abort', an item's own failure aborts the live calls a loop would not have reached. */
  failing(plan: Plan, item: number): void {
    if (aborts(plan)) this.stopping((other) => (plan.ordered ? other > item : other !== item))
  }
  failedCalls = 0
  received: number[] = []
  inNext = false
  readAheadViolation: string | undefined
}

function source(plan: Plan, s: fc.Scheduler, seen: Observed, readAhead: number): Iterable<number> | AsyncIterable<number> {
  const limit = plan.sourceFailsAt === undefined ? plan.count : Math.min(plan.count, plan.sourceFailsAt)
  const fails = plan.sourceFailsAt !== undefined && plan.sourceFailsAt <= plan.count
  // Items pulled minus items handed out; a result on its way to a waiting next() and an item
  // that failed (dropped under 'continue') count as handed out.
  const checkPull = (): void => {
    const ahead = seen.pulled - seen.received.length - seen.failedCalls - (seen.inNext ? 1 : 0)
    if (ahead > readAhead && seen.readAheadViolation === undefined) {
      seen.readAheadViolation = `pulled ${seen.pulled}, received ${seen.received.length}, failed ${seen.failedCalls}`
    }
  }
  const produce = (i: number): IteratorResult<number> => {
    if (i < limit) {
      seen.pulled++
      checkPull()
      return { done: false, value: i }
    }
    // A source that threw or said done is finished: it needs no return().
    seen.sourceEnded = true
    if (fails) {
      // Under 'abort' as-completed, a source error aborts every item in flight; ordered, they
      // finish first, as a loop would have done them.
      if (aborts(plan) && !plan.ordered) seen.stopping()
      throw sourceError
    }
    return { done: true, value: undefined }
  }
  if (!plan.asyncSource) {
    return {
      *[Symbol.iterator]() {
        try {
          for (let i = 0; ; i++) {
            const result = produce(i)
            if (result.done) return
            yield result.value
          }
        } finally {
          seen.sourceClosed = true
        }
      },
    }
  }
  let i = 0
  const iterator: AsyncIterableIterator<number> = {
    [Symbol.asyncIterator]() {
      return this
    },
    async next() {
      if (seen.pulling) seen.overlappedPulls = true
      seen.pulling = true
      try {
        await s.schedule(Promise.resolve(), 'pull')
        return produce(i++)
      } finally {
        seen.pulling = false
      }
    },
    async return() {
      seen.sourceClosed = true
      return { done: true, value: undefined }
    },
  }
  return iterator
}

function mapper(plan: Plan, s: fc.Scheduler, seen: Observed) {
  return (item: number, { signal }: TaskContext): number | Promise<number> => {
    seen.calls++
    if (plan.sync[item]) {
      if (plan.failing.has(item)) {
        seen.failedCalls++
        seen.failing(plan, item)
        throw itemError(item)
      }
      return item * 10
    }
    seen.running++
    seen.maxRunning = Math.max(seen.maxRunning, seen.running)
    seen.live.set(item, signal)
    seen.signals.set(item, signal)
    const work = s.schedule(Promise.resolve(), `item ${item}`).then(() => {
      if (plan.failing.has(item)) {
        seen.failing(plan, item)
        throw itemError(item)
      }
      return item * 10
    })
    const raced = plan.honour[item]
      ? new Promise<number>((resolve, reject) => {
          signal.addEventListener('abort', () => reject(signal.reason), { once: true })
          work.then(resolve, reject)
        })
      : work
    return raced.then(
      (value) => {
        seen.running--
        seen.live.delete(item)
        return value
      },
      (error: unknown) => {
        seen.running--
        seen.live.delete(item)
        seen.failedCalls++
        throw error
      },
    )
  }
}

it('keeps order, the concurrency cap, the read-ahead bound and cleans up, under any interleaving', async () => {
  await fc.assert(
    fc.asyncProperty(fc.scheduler(), plans, async (s, plan) => {
      const seen = new Observed()
      const controller = new AbortController()
      const options = {
        concurrency: plan.concurrency,
        readAhead: plan.readAhead,
        ordered: plan.ordered,
        onError: plan.onError,
        signal: controller.signal,
      }
      const operator = plan.settled
        ? parallelMapSettled(mapper(plan, s, seen), options)
        : parallelMap(mapper(plan, s, seen), options)
      const iterator: AsyncIterator<unknown> = operator(source(plan, s, seen, plan.readAhead))
      if (plan.abort) {
        void s.schedule(Promise.resolve(), 'abort').then(() => {
          seen.stopping()
          controller.abort(abortReason)
        })
      }

      let error: { value: unknown } | undefined
      let broke = false
      const consume = async (): Promise<void> => {
        try {
          for (;;) {
            seen.inNext = true
            const result = await iterator.next()
            seen.inNext = false
            if (result.done) return
            seen.received.push(encode(plan, result.value))
            if (seen.received.length === plan.breakAfter) {
              broke = true
              seen.stopping()
              await iterator.return!()
              // Structured concurrency: return() resolved after every call settled.
              expect(seen.running).toBe(0)
              return
            }
          }
        } catch (thrown) {
          seen.inNext = false
          error = { value: thrown }
          if (thrown === abortReason) {
            // The rejection came at once; return() waits for the aborted calls.
            await iterator.return!()
          }
          expect(seen.running).toBe(0)
        }
      }
      let finished = false
      void consume().then(() => (finished = true))
      // Releases one scheduled task at a time until the consumer is done; a consumer that waits
      // while nothing is scheduled is a stall.
      for (;;) {
        await tick()
        if (finished) break
        if (s.count() === 0) throw new Error('stalled: the consumer waits for a result that never comes')
        await s.waitNext(1)
      }
      await s.waitIdle()

      // Guarantee 4: cancellation reached every call that was running when the run stopped.
      for (const signal of seen.mustAbort) expect(signal.aborted).toBe(true)

      // Guarantee 1 and 2.
      expect(seen.maxRunning).toBeLessThanOrEqual(plan.concurrency)
      expect(seen.readAheadViolation).toBeUndefined()
      expect(seen.overlappedPulls).toBe(false)
      // Nothing left running, the source closed or finished, no listener left.
      expect(seen.running).toBe(0)
      expect(seen.sourceClosed || seen.sourceEnded).toBe(true)
      expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0)
      // Later next() calls: the abort reason again after an abort, done otherwise.
      const later = iterator.next()
      if (error?.value === abortReason) await expect(later).rejects.toBe(abortReason)
      else expect(await later).toEqual({ done: true, value: undefined })

      // Guarantee 3, and the error policies.
      const pulledItems = range(seen.pulled)
      const succeeding = pulledItems.filter((i) => !plan.failing.has(i)).map((i) => i * 10)
      const everything = pulledItems.map((i) => (plan.failing.has(i) ? -1 - i : i * 10))
      const received = seen.received
      expect(new Set(received).size).toBe(received.length)
      for (const value of received) expect(plan.settled ? everything : succeeding).toContain(value)
      const indexes = received.map(indexOf)
      if (plan.ordered) expect(indexes).toEqual([...indexes].sort((a, b) => a - b))

      const interrupted = broke || error?.value === abortReason
      if (interrupted) return
      const firstFailure = pulledItems.find((i) => plan.failing.has(i))
      const sourceFailed = plan.sourceFailsAt !== undefined && plan.sourceFailsAt <= plan.count
      if (plan.settled) {
        // A record for every pulled item; only the source's error is thrown.
        expect(seen.calls).toBe(seen.pulled)
        expect([...received].sort((a, b) => a - b)).toEqual([...everything].sort((a, b) => a - b))
        expect(error?.value).toBe(sourceFailed ? sourceError : undefined)
        return
      }
      if (plan.onError === 'continue') {
        // Every pulled item was processed; the successes all came out.
        expect(seen.calls).toBe(seen.pulled)
        expect([...received].sort((a, b) => a - b)).toEqual(succeeding)
        if (sourceFailed) expect(error?.value).toBe(sourceError)
        else if (firstFailure === undefined) expect(error).toBeUndefined()
        else {
          expect(error?.value).toBeInstanceOf(AggregateError)
          const failures = (error!.value as AggregateError).errors
          expect(failures).toEqual(pulledItems.filter((i) => plan.failing.has(i)).map(itemError))
        }
        expect(seen.pulled).toBe(sourceFailed ? Math.min(plan.count, plan.sourceFailsAt!) : plan.count)
        return
      }
      // 'abort'
      if (firstFailure === undefined && !sourceFailed) {
        expect(error).toBeUndefined()
        expect(received).toHaveLength(plan.count)
        return
      }
      expect(error).toBeDefined()
      if (error!.value !== sourceError) expect(plan.failing.has(Number((error!.value as Error).message.slice(5)))).toBe(true)
      if (plan.ordered) {
        // A loop would have done everything before the first failure, and nothing after it; the
        // items before it are never aborted. A source error counts as a failure after the last
        // item pulled: every item finishes, and an item's failure is thrown instead of it.
        const failedAt = firstFailure ?? seen.pulled
        expect(received).toEqual(range(failedAt).map((i) => i * 10))
        expect(error!.value).toEqual(firstFailure === undefined ? sourceError : itemError(firstFailure))
        for (const [item, signal] of seen.signals) if (item < failedAt) expect(signal.aborted).toBe(false)
      }
    }),
    { numRuns: 200 },
  )
})

it('answers overlapping next() calls in call order, and return() ends the pending ones at once', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.scheduler(),
      fc.record({
        count: fc.integer({ min: 0, max: 10 }),
        concurrency: fc.integer({ min: 1, max: 4 }),
        ordered: fc.boolean(),
        calls: fc.integer({ min: 1, max: 14 }),
        returnAfter: fc.option(fc.integer({ min: 0, max: 14 })),
      }),
      async (s, plan) => {
        let running = 0
        const iterator = parallelMap(
          async (x: number, { signal }: TaskContext) => {
            running++
            try {
              await Promise.race([
                s.schedule(Promise.resolve(), `item ${x}`),
                new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
              ])
              return x
            } finally {
              running--
            }
          },
          { concurrency: plan.concurrency, ordered: plan.ordered },
        )(range(plan.count))
        const answered: number[] = []
        const results: IteratorResult<number>[] = []
        const pending = range(plan.calls).map((call) =>
          iterator.next().then((result) => {
            answered.push(call)
            results[call] = result
          }),
        )
        let returned: Promise<unknown> | undefined
        for (;;) {
          await tick()
          if (answered.length === plan.returnAfter && returned === undefined) {
            returned = iterator.return!()
            // The pending calls end at once, without any task being released.
            await tick()
            expect(answered).toHaveLength(plan.calls)
          }
          if (answered.length === plan.calls) break
          await s.waitNext(1)
        }
        const stoppedEarly = returned !== undefined
        // A consumer that asked for fewer items than there are closes the iterator at the end.
        returned ??= iterator.return!()
        await s.waitFor(Promise.all([...pending, returned]))
        expect(running).toBe(0)
        expect(answered).toEqual(range(plan.calls))
        // Values first, then done for good.
        const firstDone = results.findIndex((r) => r.done)
        const values = results.slice(0, firstDone === -1 ? undefined : firstDone).map((r) => r.value as number)
        if (firstDone !== -1) expect(results.slice(firstDone).every((r) => r.done)).toBe(true)
        expect(new Set(values).size).toBe(values.length)
        if (plan.ordered) expect(values).toEqual(range(values.length))
        for (const value of values) expect(value).toBeLessThan(plan.count)
        if (!stoppedEarly) expect(values).toHaveLength(Math.min(plan.count, plan.calls))
      },
    ),
    { numRuns: 150 },
  )
})
