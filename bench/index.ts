import { writeFile } from 'node:fs/promises'
import { cpus, loadavg } from 'node:os'
import { adapters, OURS, type Adapter, type Run } from './adapters.js'
import { measure, median, type Sample } from './measure.js'
import { workloads, type Workload } from './workloads.js'

/**
 * `--gc`: a full collection before every timed run (`npm run bench` passes `--expose-gc`). Off by
 * default: the collection also discards optimized code, so it measures a re-warming process rather
 * than the steady state (see the README).
 */
const collectGarbage = process.argv.includes('--gc') ? exposedGc() : undefined
const RESULTS = new URL(collectGarbage ? 'results-gc.md' : 'results.md', import.meta.url)

function exposedGc(): () => void {
  const { gc } = globalThis as { gc?: () => void }
  if (gc === undefined) throw new Error('--gc needs node --expose-gc')
  return gc
}

const HEADER = ['library', 'median ms', 'ns/item', 'range ms', 'vs foreach-parallel', 'peak in flight']

/** A library's entry for one workload: its runner, or why it has none. */
function runnerOf(adapter: Adapter, workload: Workload): Run | string {
  return workload.ordered ? adapter.ordered : adapter.asCompleted
}

/**
 * Runs every library on one workload: warm-up rounds, then timed rounds. Each round runs every
 * library once, starting with a different one, so that a burst of load on the shared machine
 * does not land on one library only.
 */
async function bench(workload: Workload): Promise<string[][]> {
  const entries = adapters
    .filter((adapter) => !adapter.baseline || workload.trivial)
    .map((adapter) => ({ adapter, runner: runnerOf(adapter, workload), samples: [] as Sample[] }))
  const runnable = entries.filter((entry) => typeof entry.runner !== 'string')
  for (let round = 0; round < workload.warmups + workload.runs; round++) {
    for (let i = 0; i < runnable.length; i++) {
      const entry = runnable[(round + i) % runnable.length]!
      const sample = await measure(entry.adapter.name, entry.runner as Run, workload, collectGarbage)
      if (round >= workload.warmups) entry.samples.push(sample)
    }
  }
  const ours = entries.find((entry) => entry.adapter.name === OURS)!.samples
  // Ratios pair the two runs of the same round, which ran seconds apart at most: a slow spell on
  // the shared machine then shifts both sides instead of one.
  const ratio = (top: readonly Sample[], bottom: readonly Sample[]) =>
    median(top.map((sample, round) => sample.ms / bottom[round]!.ms)).toFixed(2)
  return entries.map(({ adapter, runner, samples }) => {
    if (typeof runner === 'string') return [adapter.name, 'n/a', '', '', runner, '']
    const times = samples.map((sample) => sample.ms)
    const ms = median(times)
    const peaks = samples.map((sample) => sample.peak ?? 0)
    return [
      adapter.name,
      ms.toFixed(1),
      Math.round((ms * 1e6) / workload.items).toLocaleString('en-US'),
      `${Math.min(...times).toFixed(1)}–${Math.max(...times).toFixed(1)}`,
      adapter.name === OURS ? '1' : adapter.baseline ? `ours = ${ratio(ours, samples)}× this` : `${ratio(samples, ours)}×`,
      workload.trivial ? '' : `${Math.max(...peaks)} / ${workload.concurrency}`,
    ]
  })
}

/** A markdown table with padded columns, readable both raw and rendered. */
function table(rows: readonly (readonly string[])[]): string {
  const widths = HEADER.map((_, column) => Math.max(...[HEADER, ...rows].map((row) => row[column]!.length)))
  const line = (row: readonly string[]) => `| ${row.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`
  return [line(HEADER), `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`, ...rows.map(line)].join('\n')
}

function environment(): string {
  const load = loadavg().map((value) => value.toFixed(1)).join(' ')
  return `Node ${process.version}, ${process.platform}/${process.arch}, ${cpus().length} × ${cpus()[0]?.model.trim()}, load average ${load}`
}

function heading(workload: Workload): string {
  const items = workload.items.toLocaleString('en-US')
  return `#### ${workload.name}: ${items} items, concurrency ${workload.concurrency.toLocaleString('en-US')}`
}

const started = new Date()
console.log(`${environment()}\n${started.toISOString()}\n`)
const sections: string[] = []
for (const workload of workloads) {
  const section = `${heading(workload)}\n\n${table(await bench(workload))}\n`
  console.log(section)
  sections.push(section)
}
const seconds = ((Date.now() - started.getTime()) / 1000).toFixed(0)
const legend = [
  `${environment()} at the end; started ${started.toISOString()}; ${seconds} s in all.`,
  collectGarbage ? 'A full garbage collection ran before every timed run (`--gc`).' : 'No forced garbage collection.',
  '',
  'Median of the timed runs after warm-up; range is the fastest and slowest timed run.',
  '"vs foreach-parallel" is the library\'s time ÷ foreach-parallel\'s in the same round, median over the rounds',
  '(above 1: slower than foreach-parallel); on the baseline row it is foreach-parallel\'s time ÷ the baseline\'s.',
  '"peak in flight" is the most `fn` calls seen running at once, against the concurrency asked for.',
].join('\n')
await writeFile(RESULTS, `${sections.join('\n')}\n${legend}\n`)
console.log(`${legend}\nWritten to ${RESULTS.pathname}.`)
