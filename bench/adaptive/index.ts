// `concurrency: 'auto'` against fixed limits and p-limit, on a simulated service in its own process.
// Usage: npm run bench:adaptive [-- --only steady,capacity]
// Writes bench/adaptive/results.md (the tables) and bench/adaptive/results.svg (the chart).
import { fork } from 'node:child_process'
import { once } from 'node:events'
import { writeFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { environment } from '../measure.js'
import { best, medianLimit, phaseSpans, settleTime, stats, type ScenarioResult, type Stats } from './analysis.js'
import { chart } from './chart.js'
import { contenderName, run, type Contender } from './client.js'
import { scenarios, type Scenario } from './scenarios.js'
import type { Command } from './server.js'

const FIXED = [1, 2, 4, 8, 16, 32, 64]
const { values } = parseArgs({ options: { only: { type: 'string' } } })
const only = values.only?.split(',')
const chosen = scenarios.filter((scenario) => only === undefined || only.includes(scenario.name))

const server = fork(new URL('server.ts', import.meta.url), { execArgv: ['--import', 'tsx'] })
const [listening] = (await once(server, 'message')) as [{ port: number }]
const port = listening.port

async function send(command: Command): Promise<void> {
  server.send(command)
  await once(server, 'message')
}

async function runOn(scenario: Scenario, contender: Contender) {
  await send({ type: 'phases', phases: scenario.phases })
  await send({ type: 'start' })
  const trace = await run(port, scenario, contender, performance.now())
  const result = { contender, trace, stats: stats(trace, 0, scenario.end) }
  console.log(`  ${contenderName(contender).padEnd(12)} ${line(result.stats)}`)
  return result
}

function line(s: Stats): string {
  const rejected = s.rejected > 0 ? `, ${s.rejected} × 429` : ''
  return `${s.throughput.toFixed(0).padStart(4)}/s  p50 ${s.p50.toFixed(1).padStart(6)} ms  p99 ${s.p99.toFixed(1).padStart(6)} ms${rejected}`
}

async function measure(scenario: Scenario): Promise<ScenarioResult> {
  console.log(scenario.title)
  const runs = [await runOn(scenario, { kind: 'auto' })]
  for (const limit of FIXED) runs.push(await runOn(scenario, { kind: 'fixed', limit }))
  const fixed = runs.filter((r) => r.contender.kind === 'fixed')
  const limitOf = (r: (typeof runs)[number]) => (r.contender.kind === 'auto' ? 0 : r.contender.limit)
  const bestFixed = best(fixed.map((r) => ({ limit: limitOf(r), stats: r.stats }))).limit
  if (scenario.consumerMs === 0) runs.push(await runOn(scenario, { kind: 'p-limit', limit: bestFixed }))
  const auto = runs[0]!
  const phases = phaseSpans(scenario).map(([from, to], i) => {
    const there = best(fixed.map((r) => ({ limit: limitOf(r), stats: stats(r.trace, from, to) })))
    const trace = auto.trace.limits[0]!
    return {
      from,
      to,
      bestLimit: there.limit,
      best: there.stats,
      auto: stats(auto.trace, from, to),
      autoLimit: medianLimit(trace, (from + to) / 2, to),
      settle: i === 0 ? undefined : settleTime(trace, from, to, there.limit),
    }
  })
  return { scenario, runs, bestFixed, phases }
}

function ms(value: number): string {
  return `${value.toFixed(1)} ms`
}

function table(result: ScenarioResult): string {
  const bestStats = result.runs.find((r) => r.contender.kind === 'fixed' && r.contender.limit === result.bestFixed)!.stats
  const rows = result.runs.map(({ contender, stats: s }) => {
    const name = contenderName(contender) + (contender.kind === 'fixed' && contender.limit === result.bestFixed ? ' (best fixed)' : '')
    const cells = [
      name,
      `${s.throughput.toFixed(0)}/s (${(s.throughput / bestStats.throughput).toFixed(2)}×)`,
      ms(s.p50),
      `${ms(s.p99)} (${(s.p99 / bestStats.p99).toFixed(2)}×)`,
    ]
    if (result.runs.some((r) => r.stats.rejected > 0)) cells.push(String(s.rejected))
    return `| ${cells.join(' | ')} |`
  })
  const head = ['limit', 'throughput (÷ best fixed)', 'p50', 'p99 (÷ best fixed)']
  if (result.runs.some((r) => r.stats.rejected > 0)) head.push('429s')
  const out = [`### ${result.scenario.title}`, '', `| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows]
  if (result.phases.length > 1) {
    out.push('', "| stretch | best fixed limit | its throughput | 'auto' throughput | 'auto' limit (median, 2nd half) | settled within ±25% after |")
    out.push('|---|---|---|---|---|---|')
    for (const p of result.phases) {
      const settle = p.settle === undefined ? (p.from === 0 ? '—' : 'not within the stretch') : `${(p.settle / 1000).toFixed(2)} s`
      out.push(
        `| ${p.from / 1000}–${p.to / 1000} s | ${p.bestLimit} | ${p.best.throughput.toFixed(0)}/s | ` +
          `${p.auto.throughput.toFixed(0)}/s | ${p.autoLimit} | ${settle} |`,
      )
    }
  } else {
    const limits = result.runs[0]!.trace.limits.map((trace) => medianLimit(trace, result.scenario.end / 2, result.scenario.end))
    out.push('', `'auto' limit, median over the second half: ${limits.join(' and ')}.`)
  }
  return out.join('\n')
}

const started = new Date()
console.log(`${environment()}\n${started.toISOString()}\n`)
const results: ScenarioResult[] = []
try {
  for (const scenario of chosen) results.push(await measure(scenario))
} finally {
  server.disconnect()
}
const report = [
  '# `npm run bench:adaptive`',
  '',
  `${environment()} at the end; started ${started.toISOString()}, ${((Date.now() - started.getTime()) / 1000).toFixed(0)} s in all.`,
  '',
  ...results.flatMap((result) => [table(result), '']),
].join('\n')
await writeFile(new URL('results.md', import.meta.url), report)
await writeFile(new URL('results.svg', import.meta.url), await chart(results))
console.log(`\n${report}\nWritten to bench/adaptive/results.md and results.svg.`)
