import { setMaxListeners } from 'node:events'
import { Agent, request as httpRequest } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import pLimit from 'p-limit'
import { parallelMapSettled, pipe, type Settled } from '../../src/index.js'
import { adaptiveConcurrency } from '../../src/limits/adaptive.js'
import type { Limiter } from '../../src/limits/limiter.js'
import type { Scenario } from './scenarios.js'

/** An answer other than 200. */
export class HttpError extends Error {
  override readonly name = 'HttpError'
  constructor(readonly status: number) {
    super(`HTTP ${status}`)
  }
}

const agent = new Agent({ keepAlive: true, maxSockets: Infinity })

/** One GET against the simulated service; rejects with an {@link HttpError} for anything but 200. */
function get(port: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: '/work', agent, signal }, (response) => {
      response.resume()
      response.on('end', () => (response.statusCode === 200 ? resolve() : reject(new HttpError(response.statusCode ?? 0))))
      response.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

/** Who drives the requests: `'auto'`, a fixed limit, or p-limit with a fixed limit. */
export type Contender = { readonly kind: 'auto' } | { readonly kind: 'fixed' | 'p-limit'; readonly limit: number }

export function contenderName(contender: Contender): string {
  return contender.kind === 'auto' ? "'auto'" : contender.kind === 'fixed' ? String(contender.limit) : `p-limit ${contender.limit}`
}

/** One finished request: when it ended and how long it took (ms since the run started). */
export interface Request {
  readonly at: number
  readonly ms: number
  readonly ok: boolean
  readonly status: number
}

/** What one run of a contender on a scenario saw. */
export interface Trace {
  readonly requests: Request[]
  /** When each successful result reached the consumer (ms since the run started). */
  readonly delivered: number[]
  /** The limit of each pipeline over time (`'auto'` only): `[at, limit]` pairs. */
  readonly limits: [number, number][][]
}

/** Runs `contender` on `scenario` against the service on `port`, from `start` (a performance.now() time). */
export async function run(port: number, scenario: Scenario, contender: Contender, start: number): Promise<Trace> {
  const requests: Request[] = []
  const delivered: number[] = []
  const end = start + scenario.end
  const work = async ({ signal }: { signal: AbortSignal }) => {
    const begin = performance.now()
    try {
      await get(port, signal)
      requests.push({ at: performance.now() - start, ms: performance.now() - begin, ok: true, status: 200 })
    } catch (error) {
      if (!(error instanceof HttpError)) throw error
      requests.push({ at: performance.now() - start, ms: performance.now() - begin, ok: false, status: error.status })
      throw error
    }
  }
  const pipelines = Array.from({ length: scenario.pipelines }, () => ({ limits: [] as [number, number][] }))
  if (contender.kind === 'p-limit') {
    const deliver = () => delivered.push(performance.now() - start)
    await Promise.all(pipelines.map(() => pLimitRun(contender.limit, end, work, deliver)))
    return { requests, delivered, limits: [] }
  }
  await Promise.all(
    pipelines.map(async (pipeline) => {
      let results: AsyncIterable<Settled<number, void>>
      if (contender.kind === 'auto') {
        const limiter = adaptiveConcurrency({ isOverload: (error) => error instanceof HttpError && error.status === 429 })
        trackLimit(limiter, pipeline.limits, start)
        results = pipe(endless(), parallelMapSettled((_, context) => work(context), { concurrency: limiter, ordered: scenario.ordered }))
      } else {
        results = pipe(endless(), parallelMapSettled((_, context) => work(context), { concurrency: contender.limit, ordered: scenario.ordered }))
      }
      for await (const result of results) {
        if (result.status === 'rejected' && !(result.reason instanceof HttpError)) throw result.reason
        if (result.status === 'fulfilled') delivered.push(performance.now() - start)
        if (scenario.consumerMs > 0) await sleep(scenario.consumerMs)
        if (performance.now() >= end) break
      }
    }),
  )
  return { requests, delivered, limits: pipelines.map((pipeline) => pipeline.limits) }
}

function* endless(): Generator<number> {
  for (let i = 0; ; i++) yield i
}

function trackLimit(limiter: Limiter, limits: [number, number][], start: number): void {
  limits.push([0, limiter.limit])
  limiter.addEventListener('change', () => limits.push([performance.now() - start, limiter.limit]))
}

/**
 * p-limit as its README uses it, with a queue that never runs dry: twice `n` tasks handed to
 * `limit()` up front and one more as each ends (a fixed number up front would run out early when
 * 429s, answered at once, use them up). At the end of the run the queue is cleared (p-limit then
 * never settles the cleared tasks' promises) and the running ones are aborted.
 */
async function pLimitRun(n: number, end: number, work: (context: { signal: AbortSignal }) => Promise<void>, deliver: () => void) {
  const limit = pLimit(n)
  const controller = new AbortController()
  // One signal for every request of the run, as the README's examples share one.
  setMaxListeners(0, controller.signal)
  let active = 0
  let idle!: () => void
  const finished = new Promise<void>((resolve) => (idle = resolve))
  const task = async () => {
    active++
    try {
      await work({ signal: controller.signal })
      deliver()
    } catch {
      // 429s are counted by `work`; aborts at the end of the run are expected
    } finally {
      active--
      if (!controller.signal.aborted) void limit(task)
      else if (active === 0) idle()
    }
  }
  for (let i = 0; i < 2 * n; i++) void limit(task)
  await sleep(end - performance.now())
  limit.clearQueue()
  controller.abort()
  if (active === 0) idle()
  await finished
}
