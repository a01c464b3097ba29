import { cpus, loadavg } from 'node:os'
import type { Run } from './adapters.js'
import { Probe, type Workload } from './workloads.js'

/** One timed run. */
export interface Sample {
  readonly ms: number
  /** Most `fn` calls seen in flight at once; not measured on trivial workloads. */
  readonly peak: number | undefined
}

/**
 * Runs one library once over the workload and times it, from creating the iterable to its last
 * result; `collectGarbage`, when given, runs just before the clock starts. The output is checked
 * afterwards: a wrong or missing result throws.
 */
export async function measure(
  library: string,
  run: Run,
  workload: Workload,
  collectGarbage: (() => void) | undefined,
): Promise<Sample> {
  const items = Array.from({ length: workload.items }, (_, i) => i)
  const probe = workload.trivial ? undefined : new Probe()
  const fn = workload.fn(probe)
  collectGarbage?.()
  const start = performance.now()
  const output: number[] = []
  for await (const value of run(items, fn, workload.concurrency)) output.push(value)
  const ms = performance.now() - start
  check(library, workload, output)
  return { ms, peak: probe?.peak }
}

/** Ordered: exactly `1 … items`. As-completed: the same numbers in any order. */
function check(library: string, workload: Workload, output: number[]): void {
  const got = workload.ordered ? output : output.toSorted((a, b) => a - b)
  const wrong = got.findIndex((value, i) => value !== i + 1)
  if (got.length === workload.items && wrong === -1) return
  const at = wrong === -1 ? got.length : wrong
  throw new Error(
    `${library} gave a wrong result on "${workload.name}": ${got.length} of ${workload.items} values, ` +
      `${workload.ordered ? '' : 'sorted, '}position ${at} holds ${got[at]}, expected ${at + 1}`,
  )
}

export function median(values: readonly number[]): number {
  const sorted = values.toSorted((a, b) => a - b)
  const middle = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

/** The median over the rounds of `top[round] ÷ bottom[round]`: both timed in the same round. */
export function pairedRatio(top: readonly { readonly ms: number }[], bottom: readonly { readonly ms: number }[]): number {
  return median(top.map((sample, round) => sample.ms / bottom[round]!.ms))
}

/** Node, platform, CPUs and the load average now: the line every bench prints with its numbers. */
export function environment(): string {
  const load = loadavg().map((value) => value.toFixed(1)).join(' ')
  return `Node ${process.version}, ${process.platform}/${process.arch}, ${cpus().length} × ${cpus()[0]?.model.trim()}, load average ${load}`
}

/**
 * The CPU time this process has used, user and system, in ms: on a machine whose cores are shared,
 * unlike the wall clock it does not count the time spent waiting for a core. It counts V8's
 * garbage-collector threads, whose work is part of the cost.
 */
export function cpuTime(): number {
  const { user, system } = process.cpuUsage()
  return (user + system) / 1000
}
