import { OURS } from './adapters.js'
import type { Workload } from './workloads.js'

/** One library's numbers on one workload. */
export interface Measured {
  readonly library: string
  readonly baseline: boolean
  readonly ms: number
  readonly min: number
  readonly max: number
  /** This library's time ÷ foreach-parallel's; on the baseline, foreach-parallel's ÷ the baseline's. */
  readonly ratio: number
  /** Most `fn` calls seen in flight at once; not measured on trivial workloads. */
  readonly peak: number | undefined
}

/** A library without this mode, and why. */
export interface Missing {
  readonly library: string
  readonly missing: string
}

export type Result = Measured | Missing

export interface Section {
  readonly workload: Workload
  readonly results: readonly Result[]
}

export const LEGEND = [
  'Median of the timed runs after warm-up; range is the fastest and slowest timed run.',
  '"vs foreach-parallel" is the library\'s time ÷ foreach-parallel\'s in the same round, median over the rounds',
  '(above 1: slower than foreach-parallel); on the baseline row it is foreach-parallel\'s time ÷ the baseline\'s.',
  '"peak in flight" is the most `fn` calls seen running at once, against the concurrency asked for.',
  'The baseline is measured on the trivial workloads only (—); n/a: the library has no such mode.',
].join('\n')

function ratioCell(result: Measured): string {
  if (result.library === OURS) return '1'
  return result.baseline ? `ours = ${result.ratio.toFixed(2)}× this` : `${result.ratio.toFixed(2)}×`
}

/** One row per workload, one column per library: median time and ratio. */
export function summary(sections: readonly Section[]): string {
  const libraries = sections[0]!.results.map((result) => result.library)
  const rows = sections.map(({ workload, results }) => [
    workload.name,
    ...libraries.map((library) => {
      const result = results.find((r) => r.library === library)
      if (result === undefined) return '—'
      if ('missing' in result) return 'n/a'
      const ms = `${result.ms.toFixed(1)} ms`
      return result.library === OURS ? ms : `${ms} (${ratioCell(result)})`
    }),
  ])
  return table(['workload', ...libraries], rows)
}

/** Every number measured on one workload. */
export function detail({ workload, results }: Section): string {
  const rows = results.map((result) => {
    if ('missing' in result) return [result.library, 'n/a', '', '', result.missing, '']
    return [
      result.library,
      result.ms.toFixed(1),
      Math.round((result.ms * 1e6) / workload.items).toLocaleString('en-US'),
      `${result.min.toFixed(1)}–${result.max.toFixed(1)}`,
      ratioCell(result),
      result.peak === undefined ? '' : `${result.peak} / ${workload.concurrency}`,
    ]
  })
  const header = ['library', 'median ms', 'ns/item', 'range ms', 'vs foreach-parallel', 'peak in flight']
  const items = workload.items.toLocaleString('en-US')
  const concurrency = workload.concurrency.toLocaleString('en-US')
  return `#### ${workload.name}: ${items} items, concurrency ${concurrency}\n\n${table(header, rows)}`
}

/** A markdown table with padded columns, readable both raw and rendered. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((_, column) => Math.max(...[header, ...rows].map((row) => row[column]!.length)))
  const line = (row: readonly string[]) => `| ${row.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`
  return [line(header), `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`, ...rows.map(line)].join('\n')
}
