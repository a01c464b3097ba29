import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { baseline, type Fn } from './adapters.js'
import { cpuTime, environment, median, pairedRatio } from './measure.js'
import { CONCURRENCY, fns, ITEMS, mixableSets, optionSets, valueOf, withFloor, type Pass } from './option-sets.js'
import { table } from './report.js'

/**
 * What each option of `parallelMap` costs (`npm run bench:options`): 100k trivial items at
 * concurrency 8, one row per option set, each against the one-promise-per-item baseline and the
 * closest peer composition. Every option set runs against the baseline in a process of its own
 * (`--rows KIND NAME`), so that V8 compiles the scheduler for that set alone, as an application that
 * uses one set does; one more process (`--rows KIND` with every name) takes turns through every
 * set, so that the call sites see them all; and each peer runs against foreach-parallel in a
 * process of its own (`--peer KIND NAME`).
 */

/** Rounds of the processes that time foreach-parallel against the baseline. */
const ROUNDS = { warmups: 5, runs: 15 }
/** Rounds of the processes that time a peer against foreach-parallel: some peers take seconds a run. */
const PEER_ROUNDS = { warmups: 2, runs: 7 }

/**
 * The clock of a pass: CPU time by default (see `cpuTime`), or the wall clock with
 * `BENCH_CLOCK=wall` (children inherit it), for an idle machine, where it is what a user waits.
 */
const WALL = process.env['BENCH_CLOCK'] === 'wall'
const clock: () => number = WALL ? () => performance.now() : cpuTime

interface Entry {
  readonly name: string
  readonly pass: Pass
  readonly fn: Fn
  readonly ms: number[]
}

/** One pass, checked as it goes (the output is not kept: a streaming consumer does not keep it). */
async function time(entry: Entry, items: readonly number[]): Promise<number> {
  let count = 0
  let wrong = -1
  const start = clock()
  for await (const output of entry.pass(items, entry.fn)) {
    if (valueOf(output) !== ++count && wrong === -1) wrong = count - 1
  }
  const ms = clock() - start
  if (count !== items.length || wrong !== -1) {
    throw new Error(`${entry.name}: ${count} of ${items.length} results, first wrong at ${wrong}`)
  }
  return ms
}

/** Warm-up rounds, then timed rounds; each round runs every entry once, starting with a different one. */
async function takeTurns(entries: readonly Entry[], { warmups, runs }: typeof ROUNDS): Promise<void> {
  const items = Array.from({ length: ITEMS }, (_, i) => i)
  for (let round = 0; round < warmups + runs; round++) {
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[(round + i) % entries.length]!
      const ms = await time(entry, items)
      if (round >= warmups) entry.ms.push(ms)
    }
  }
}

const samples = (ms: readonly number[]) => ms.map((value) => ({ ms: value }))

/** What a child process reports: per entry, its median and its paired ratio to the first entry. */
type ChildReport = Record<string, { readonly ms: number; readonly ratio: number }>

/**
 * One process: `--rows` times option sets against the baseline (and, when a set reads `signal`,
 * the baseline with an `AbortController` per item); `--peer` times one set against its peer. A
 * peer runs in a process of its own because the garbage it leaves is collected during whatever
 * runs next, which would otherwise be foreach-parallel or the baseline half the time.
 */
async function child(mode: string, setNames: readonly string[], kind: string): Promise<ChildReport> {
  const fn = fns[kind]!
  const sets = optionSets.filter((set) => setNames.includes(set.name))
  const oursEntries = sets.map((set): Entry => ({ name: set.name, pass: set.ours, fn, ms: [] }))
  let entries: Entry[]
  if (mode === '--peer') entries = [oursEntries[0]!, { name: 'peer', pass: sets[0]!.peer, fn, ms: [] }]
  else {
    const floor = sets.length === 1 && sets[0]!.floor !== undefined ? sets[0]!.floor : undefined
    const floors = floor === undefined ? [] : [{ name: 'floor', pass: baseline, fn: withFloor(fn, floor), ms: [] }]
    entries = [{ name: 'baseline', pass: baseline, fn, ms: [] }, ...floors, ...oursEntries]
  }
  await takeTurns(entries, mode === '--peer' ? PEER_ROUNDS : ROUNDS)
  const report: ChildReport = {}
  for (const entry of entries) {
    report[entry.name] = { ms: median(entry.ms), ratio: pairedRatio(samples(entry.ms), samples(entries[0]!.ms)) }
  }
  return report
}

function spawnChild(args: readonly string[]): ChildReport {
  const script = fileURLToPath(import.meta.url)
  const result = spawnSync(process.execPath, [...process.execArgv, script, ...args], { encoding: 'utf8' })
  if (result.status !== 0) throw new Error(`bench child ${args.join(' ')} failed:\n${result.stderr}`)
  return JSON.parse(result.stdout) as ChildReport
}

/**
 * The issue's targets: every set within 2× the baseline; reading `signal` within the baseline
 * plus one `AbortController` per item (its floor, measured in the same process); a per-item
 * timeout at least 3× faster than p-map + p-timeout; a Limiter within 10 % of the plain number
 * (`none`), paired in the mixed process.
 * Where a set has a floor, also whether what it adds to the floor is what `none` adds to the
 * baseline (reading `signal`) or less than the baseline itself (the others).
 */
function target(
  name: string,
  vsBaseline: number,
  peerVsOurs: number,
  floor: number | undefined,
  none: number,
  mixedVsNone: number,
): string {
  const verdict = (met: boolean, what: string) => `${met ? 'met' : 'MISSED'}: ${what}`
  if (name === 'fn reads signal') {
    return `${verdict(vsBaseline <= floor!, '≤ floor')}; ${verdict(vsBaseline <= floor! + none - 1, `≤ floor + none - 1 = ${fixed(floor! + none - 1)}×`)}`
  }
  const twice = verdict(vsBaseline <= 2, '≤ 2×')
  if (name.startsWith('timeout')) return `${twice}; ${verdict(peerVsOurs >= 3, 'peer ≥ 3×')}`
  if (name.startsWith('concurrencyLimit')) {
    // Paired with none in the mixed process: each in a process of its own, they are not.
    return `${twice}; ${verdict(mixedVsNone <= 1.1, `mixed process: ${fixed(mixedVsNone)} × none ≤ 1.1`)}`
  }
  if (floor !== undefined) return `${twice}; ${verdict(vsBaseline <= floor + 1, `≤ floor + 1 = ${fixed(floor + 1)}×`)}`
  return twice
}

const fixed = (value: number, digits = 2) => value.toFixed(digits)

function parent(): void {
  const started = new Date()
  console.log(`${environment()}\n${started.toISOString()}; times are ${WALL ? 'wall-clock' : 'CPU'} ms\n`)
  for (const kind of Object.keys(fns)) {
    const mixed = spawnChild(['--rows', kind, ...mixableSets.map((set) => set.name)])
    const own = optionSets.map((set) => spawnChild(['--rows', kind, set.name]))
    const peers = optionSets.map((set) => spawnChild(['--peer', kind, set.name]).peer!)
    const none = own[0]![optionSets[0]!.name]!.ratio
    const mixedNone = mixed[optionSets[0]!.name]!.ratio
    const rows = optionSets.map((set, i) => {
      const mine = own[i]![set.name]!
      const floor = own[i]!.floor?.ratio
      return [
        set.name,
        fixed(mine.ms, 1),
        `${fixed(mine.ratio)}×`,
        floor === undefined ? '' : `${fixed(floor)}×`,
        mixed[set.name] === undefined ? '' : `${fixed(mixed[set.name]!.ratio)}×`,
        `${set.peerName}: ${fixed(peers[i]!.ms, 1)} ms, ${fixed(peers[i]!.ratio)}×`,
        target(set.name, mine.ratio, peers[i]!.ratio, floor, none, (mixed[set.name]?.ratio ?? NaN) / mixedNone),
      ]
    })
    const baselineMs = own.map((report) => report.baseline!.ms)
    console.log(`#### ${kind} fn, ${ITEMS.toLocaleString('en-US')} items, concurrency ${CONCURRENCY}\n`)
    const header = ['option set', 'median ms', '÷ baseline', 'floor ÷ baseline', '÷ baseline, mixed process']
    console.log(table([...header, 'peer: median, its time ÷ ours', 'target'], rows))
    console.log(`\nBaseline: median ${fixed(median(baselineMs), 1)} ms over the processes.\n`)
  }
  const seconds = ((Date.now() - started.getTime()) / 1000).toFixed(0)
  console.log(`${environment()} at the end; ${seconds} s in all.`)
}

const args = process.argv.slice(2)
if (args[0] === '--rows' || args[0] === '--peer') {
  const report = await child(args[0], args.slice(2), args[1]!)
  process.stdout.write(JSON.stringify(report))
} else {
  parent()
}
