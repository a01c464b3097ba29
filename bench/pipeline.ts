import { batch, drop, merge, parallelMap, slice, take, throttle, timeout } from '../src/index.js'
import { environment, median } from './measure.js'

/**
 * What composing operators costs (issue 15): 100k trivial items through `parallelMap` at
 * concurrency 8, then operators that never bind added one at a time, against a hand-written async
 * generator stage that fuses the same map, batch and take over the same source. Each round runs
 * every row once, starting with a different one; a row's ratio and cost pair it with the fused
 * generator and with `parallelMap` alone in the same round, median over the rounds. The cost is
 * given in wall time and in this process's CPU time (`process.cpuUsage()`), which leaves out the
 * time spent waiting for a core on a loaded machine.
 * Run: `npm run bench:pipeline` (`-- --quick` for fewer rounds).
 */

const ITEMS = 100_000
const CONCURRENCY = 8
const BATCH = 100
const quick = process.argv.includes('--quick')
const WARMUPS = quick ? 2 : 5
const RUNS = quick ? 5 : 15

const increment = (x: number): number => x + 1

/** Limits that never bind on this run: more items per window than the run has, deadlines far off. */
const unbound = {
  throttle: () => throttle({ limit: ITEMS + 1, interval: 60_000 }),
  timeout: () => timeout(600_000),
  timeoutEach: () => timeout({ each: 60_000 }),
  take: () => take(ITEMS + 1),
}

/** The items, mapped in order, as a pipeline to drain. */
type Row = (items: readonly number[]) => AsyncIterable<number | number[]>

const mapped = (items: readonly number[]): AsyncIterableIterator<number> =>
  parallelMap(increment, { concurrency: CONCURRENCY })(items)

/** map + batch + take in one async generator stage over the source: a careful hand-written loop. */
async function* fused(items: readonly number[]): AsyncGenerator<number[]> {
  let chunk: number[] = []
  let handed = 0
  // It awaits the source and every result, as a stage that does not know they are synchronous must.
  // eslint-disable-next-line @typescript-eslint/await-thenable
  for await (const item of items) {
    // eslint-disable-next-line @typescript-eslint/await-thenable
    chunk.push(await increment(item))
    if (chunk.length === BATCH) {
      yield chunk
      chunk = []
      if (++handed === ITEMS) return
    }
  }
  if (chunk.length > 0) yield chunk
}

const rows: [string, Row][] = [
  ['fused async generator (map + batch + take)', fused],
  ['parallelMap', mapped],
  ['parallelMap → take (before its end)', (items) => unbound.take()(mapped(items))],
  ['parallelMap → slice(0, ∞)', (items) => slice(0)(mapped(items))],
  ['parallelMap → drop(0)', (items) => drop(0)(mapped(items))],
  ['parallelMap → timeout(ms) (never fires)', (items) => unbound.timeout()(mapped(items))],
  ['parallelMap → timeout({ each }) (never fires)', (items) => unbound.timeoutEach()(mapped(items))],
  ['parallelMap → throttle (below its limit)', (items) => unbound.throttle()(mapped(items))],
  [`parallelMap → batch(${BATCH})`, (items) => batch(BATCH)(mapped(items))],
  ['merge(parallelMap)', (items) => merge(mapped(items))],
  // The floor of throttle and timeout({ each }): one clock read per item, in parallelMap's fn.
  [
    'parallelMap whose fn reads performance.now()',
    (items) => parallelMap((x: number) => increment(x + performance.now() * 0), { concurrency: CONCURRENCY })(items),
  ],
  ['parallelMap → throttle → batch', (items) => batch(BATCH)(unbound.throttle()(mapped(items)))],
  [
    'parallelMap → throttle → batch → take',
    (items) => unbound.take()(batch(BATCH)(unbound.throttle()(mapped(items)))),
  ],
]

/** Drains one row and returns the ms it took, in wall time and in CPU time, checking the item count. */
async function time(row: Row, items: readonly number[]): Promise<{ wall: number; cpu: number }> {
  const start = performance.now()
  const cpuStart = process.cpuUsage()
  let count = 0
  for await (const value of row(items)) count += Array.isArray(value) ? value.length : 1
  const cpu = process.cpuUsage(cpuStart)
  const wall = performance.now() - start
  if (count !== ITEMS) throw new Error(`expected ${ITEMS} items, got ${count}`)
  return { wall, cpu: (cpu.user + cpu.system) / 1000 }
}

const items = Array.from({ length: ITEMS }, (_, i) => i)
const samples = rows.map(() => [] as number[])
const cpuSamples = rows.map(() => [] as number[])
for (let round = 0; round < WARMUPS + RUNS; round++) {
  for (let i = 0; i < rows.length; i++) {
    const index = (round + i) % rows.length
    const { wall, cpu } = await time(rows[index]![1], items)
    if (round < WARMUPS) continue
    samples[index]!.push(wall)
    cpuSamples[index]!.push(cpu)
  }
}

const ns = (ms: number): number => (ms * 1e6) / ITEMS
const FUSED = 0
const ALONE = 1
console.log(environment())
console.log(`${ITEMS} items, concurrency ${CONCURRENCY}, ${RUNS} rounds after ${WARMUPS} warm-up rounds; medians.\n`)
console.log('| pipeline | ns/item | ÷ fused | + ns/item over parallelMap | CPU: ÷ fused | CPU: + ns/item |')
console.log('|---|---:|---:|---:|---:|---:|')
/** The median ratio to the fused generator, and the median ns/item over `parallelMap` alone, of one row. */
function paired(of: number[][], index: number): [string, string] {
  const perRound = of[index]!
  const overFused = median(perRound.map((ms, round) => ms / of[FUSED]![round]!)).toFixed(2)
  const extra = median(perRound.map((ms, round) => ns(ms - of[ALONE]![round]!))).toFixed(0)
  return [overFused, index === FUSED || index === ALONE ? '' : extra]
}
rows.forEach(([name], index) => {
  const [overFused, extra] = paired(samples, index)
  const [cpuOverFused, cpuExtra] = paired(cpuSamples, index)
  const cells = [ns(median(samples[index]!)).toFixed(0), overFused, extra, cpuOverFused, cpuExtra]
  console.log(`| ${name} | ${cells.join(' | ')} |`)
})
