import type { Contender, Trace } from './client.js'
import type { Scenario } from './scenarios.js'

/**
 * What a run did within `[from, to)` ms: the results its consumer got, and the latency of the
 * successful requests that ended then.
 */
export interface Stats {
  /** Successful results handed to the consumer per second. */
  readonly throughput: number
  readonly p50: number
  readonly p99: number
  /** Requests answered 429. */
  readonly rejected: number
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!
}

export function stats(trace: Trace, from: number, to: number): Stats {
  const inside = trace.requests.filter((r) => r.at >= from && r.at < to)
  const latencies = inside
    .filter((r) => r.ok)
    .map((r) => r.ms)
    .sort((a, b) => a - b)
  const delivered = trace.delivered.filter((at) => at >= from && at < to).length
  return {
    throughput: (delivered * 1000) / (to - from),
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    rejected: inside.length - latencies.length,
  }
}

/** The stretches of a scenario, `[from, to)` in ms. */
export function phaseSpans(scenario: Scenario): [number, number][] {
  return scenario.phases.map((phase, i) => [phase.at, scenario.phases[i + 1]?.at ?? scenario.end])
}

/** The part of the top throughput that the best fixed limit reaches. */
const KNEE = 0.95

/**
 * The best fixed limit on a stretch: the knee, the lowest limit whose throughput is within 5% of
 * the top one. Past it more calls only queue in the service: they add latency, not throughput,
 * and which of the saturating limits comes out on top is noise (1-3% here). 5% is above that
 * noise and half the 10% the steady target allows.
 */
export function best(fixed: readonly { limit: number; stats: Stats }[]): { limit: number; stats: Stats } {
  const top = Math.max(...fixed.map((f) => f.stats.throughput))
  return fixed.filter((f) => f.stats.throughput >= KNEE * top).reduce((a, b) => (b.limit < a.limit ? b : a))
}

/** The limit at `at` ms from a trace of `[at, limit]` changes. */
export function limitAt(trace: readonly [number, number][], at: number): number {
  let limit = trace[0]![1]
  for (const [t, value] of trace) {
    if (t > at) break
    limit = value
  }
  return limit
}

/** The time-weighted median of the limit over `[from, to)`, sampled every 10 ms. */
export function medianLimit(trace: readonly [number, number][], from: number, to: number): number {
  const values: number[] = []
  for (let t = from; t < to; t += 10) values.push(limitAt(trace, t))
  return percentile(values.sort((a, b) => a - b), 0.5)
}

/**
 * How long after `from` the limit entered `±25%` of `target` to stay there for a second at least
 * (a re-measurement dip after that does not count); `undefined` if it never did before `to`.
 */
export function settleTime(trace: readonly [number, number][], from: number, to: number, target: number): number | undefined {
  const inside = (t: number) => Math.abs(limitAt(trace, t) - target) <= 0.25 * target
  for (let t = from; t < to; t += 10) {
    let stays = true
    for (let u = t; u < Math.min(to, t + 1000); u += 10) {
      if (!inside(u)) {
        stays = false
        break
      }
    }
    if (stays) return t - from
  }
  return undefined
}

/** A scenario's runs, with the numbers the report and the chart show. */
export interface ScenarioResult {
  readonly scenario: Scenario
  readonly runs: readonly { contender: Contender; trace: Trace; stats: Stats }[]
  /** The best fixed limit over the whole run. */
  readonly bestFixed: number
  /** Per stretch of the scenario: the best fixed limit there, and what `'auto'` did. */
  readonly phases: readonly {
    from: number
    to: number
    bestLimit: number
    best: Stats
    auto: Stats
    /** Median limit of `'auto'` over the second half of the stretch (first pipeline). */
    autoLimit: number
    /** ms until `'auto'` settled within ±25% of `bestLimit`; only after a change. */
    settle: number | undefined
  }[]
}
