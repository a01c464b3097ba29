import * as vega from 'vega'
import { compile, type TopLevelSpec } from 'vega-lite'
import { limitAt, percentile, type ScenarioResult } from './analysis.js'

const BUCKET = 250

/** One row of the chart's data. */
interface Point {
  scenario: string
  series: string
  t: number
  value: number
}

/** p50 latency of the successful requests per 250 ms bucket. */
function latencyPoints(result: ScenarioResult, kind: 'auto' | 'fixed', limit: number, series: string): Point[] {
  const run = result.runs.find((r) =>
    kind === 'auto' ? r.contender.kind === 'auto' : r.contender.kind === 'fixed' && r.contender.limit === limit,
  )!
  const buckets = new Map<number, number[]>()
  for (const request of run.trace.requests) {
    if (!request.ok) continue
    const bucket = Math.floor(request.at / BUCKET)
    const list = buckets.get(bucket) ?? []
    list.push(request.ms)
    buckets.set(bucket, list)
  }
  return [...buckets.entries()]
    .sort(([a], [b]) => a - b)
    .map(([bucket, list]) => ({
      scenario: result.scenario.title,
      series,
      t: ((bucket + 0.5) * BUCKET) / 1000,
      value: percentile(list.sort((a, b) => a - b), 0.5),
    }))
}

function limitPoints(result: ScenarioResult): Point[] {
  const auto = result.runs.find((r) => r.contender.kind === 'auto')!
  const points: Point[] = []
  auto.trace.limits.forEach((trace, pipeline) => {
    const series = pipeline === 0 ? "'auto'" : "'auto', 2nd pipeline"
    for (let t = 0; t <= result.scenario.end; t += 50) {
      points.push({ scenario: result.scenario.title, series, t: t / 1000, value: limitAt(trace, t) })
    }
  })
  for (const phase of result.phases) {
    for (const t of [phase.from, phase.to]) {
      points.push({ scenario: result.scenario.title, series: 'best fixed', t: t / 1000, value: phase.bestLimit })
    }
  }
  return points
}

function panel(title: string, points: Point[], axis: string, colors: { domain: string[]; range: string[] }) {
  return {
    title: { text: title, fontSize: 12 },
    width: 360,
    height: 110,
    data: { values: points },
    mark: { type: 'line' as const, interpolate: 'step-after' as const, strokeWidth: 1.5 },
    encoding: {
      x: { field: 't', type: 'quantitative' as const, title: 'seconds' },
      y: { field: 'value', type: 'quantitative' as const, title: axis },
      color: { field: 'series', type: 'nominal' as const, title: null, scale: colors },
      strokeDash: {
        condition: { test: "datum.series === 'best fixed'", value: [4, 3] },
        value: [1, 0],
      },
      detail: { field: 'series', type: 'nominal' as const },
    },
  }
}

/**
 * An SVG with, per scenario, the limit `'auto'` chose over time (against the best fixed limit of
 * each stretch, dashed) and the p50 latency per 250 ms of `'auto'` and of the best fixed limit of
 * the whole run.
 */
export async function chart(results: readonly ScenarioResult[]): Promise<string> {
  const colors = { domain: ["'auto'", "'auto', 2nd pipeline", 'best fixed'], range: ['#1f77b4', '#2ca02c', '#ff7f0e'] }
  const blocks = results.map((result) => ({
    vconcat: [
      panel(`${result.scenario.title}: limit`, limitPoints(result), 'limit', colors),
      panel(
        'p50 latency, ms',
        [
          ...latencyPoints(result, 'auto', 0, "'auto'"),
          ...latencyPoints(result, 'fixed', result.bestFixed, 'best fixed'),
        ],
        'ms',
        colors,
      ),
    ],
  }))
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    background: 'white',
    columns: 2,
    concat: blocks,
    config: { legend: { orient: 'bottom' }, axis: { labelFontSize: 10, titleFontSize: 10 } },
  } as TopLevelSpec
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' })
  const svg = await view.toSVG()
  view.finalize()
  return svg
}
