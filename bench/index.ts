import { writeFile } from 'node:fs/promises'
import { adapters, OURS, type Run } from './adapters.js'
import { environment, measure, median, pairedRatio, type Sample } from './measure.js'
import { detail, LEGEND, summary, type Result, type Section } from './report.js'
import { workloads, type Workload } from './workloads.js'

/**
 * `--gc`: a full collection before every timed run (`npm run bench` passes `--expose-gc`). Off by
 * default: the collection also discards optimized code, so it measures a re-warming process rather
 * than the steady state (see docs/benchmarks.md).
 */
const collectGarbage = process.argv.includes('--gc') ? exposedGc() : undefined
const RESULTS = new URL(collectGarbage ? 'results-gc.md' : 'results.md', import.meta.url)

function exposedGc(): () => void {
  const { gc } = globalThis as { gc?: () => void }
  if (gc === undefined) throw new Error('--gc needs node --expose-gc')
  return gc
}

/**
 * Runs every library on one workload: warm-up rounds, then timed rounds. Each round runs every
 * library once, starting with a different one, so that a burst of load on the shared machine does
 * not land on one library only; ratios pair the runs of the same round, seconds apart at most.
 */
async function bench(workload: Workload): Promise<Result[]> {
  const entries = adapters
    .filter((adapter) => !adapter.baseline || workload.trivial)
    .map((adapter) => ({
      adapter,
      runner: workload.ordered ? adapter.ordered : adapter.asCompleted,
      samples: [] as Sample[],
    }))
  const runnable = entries.filter((entry): entry is typeof entry & { runner: Run } => typeof entry.runner !== 'string')
  for (let round = 0; round < workload.warmups + workload.runs; round++) {
    for (let i = 0; i < runnable.length; i++) {
      const entry = runnable[(round + i) % runnable.length]!
      const sample = await measure(entry.adapter.name, entry.runner, workload, collectGarbage)
      if (round >= workload.warmups) entry.samples.push(sample)
    }
  }
  const ours = runnable.find((entry) => entry.adapter.name === OURS)!.samples
  return entries.map(({ adapter, runner, samples }): Result => {
    if (typeof runner === 'string') return { library: adapter.name, missing: runner }
    const times = samples.map((sample) => sample.ms)
    return {
      library: adapter.name,
      baseline: adapter.baseline === true,
      ms: median(times),
      min: Math.min(...times),
      max: Math.max(...times),
      ratio: adapter.baseline ? pairedRatio(ours, samples) : pairedRatio(samples, ours),
      peak: workload.trivial ? undefined : Math.max(...samples.map((sample) => sample.peak ?? 0)),
    }
  })
}

const started = new Date()
console.log(`${environment()}\n${started.toISOString()}\n`)
const sections: Section[] = []
for (const workload of workloads) {
  const section = { workload, results: await bench(workload) }
  console.log(`${detail(section)}\n`)
  sections.push(section)
}
const seconds = ((Date.now() - started.getTime()) / 1000).toFixed(0)
const about = [
  `${environment()} at the end; started ${started.toISOString()}; ${seconds} s in all.`,
  collectGarbage ? 'A full garbage collection ran before every timed run (`--gc`).' : 'No forced garbage collection.',
].join('\n')
const report = [summary(sections), about, LEGEND, ...sections.map(detail)].join('\n\n')
await writeFile(RESULTS, `${report}\n`)
console.log(`${summary(sections)}\n\n${about}\n\n${LEGEND}\nWritten to ${RESULTS.pathname}.`)
