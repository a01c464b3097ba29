// Worker threads, two ways, each side by side in one process:
// - tiny tasks (a number doubled): what workerMap itself costs per item, against piscina's own
//   pool.run kept at the same concurrency, with no scheduler in between; every contender runs once
//   untimed first, so that all pools and all code are warm. pool.run's lanes keep a task in flight
//   per thread at every moment, as workerMap does with `ordered: false`; in order (the default), a
//   result that waits for a slower one before it holds read-ahead room, and with the default
//   read-ahead (2 × concurrency) a thread can run out of items while another lags;
// - CPU-bound tasks (chains of SHA-256): a plain loop, parallelMap on the main thread, and workerMap
//   (a run with its own pool, whose start-up is counted, and a run on a warm shared pool), against
//   pool.run with every item handed over at once.
// Usage: npm run bench:workers [-- --tiny 10000 --tiny-runs 20 --items 128 --rounds 2000 --runs 3]
// (--tiny 0 or --items 0 leaves that part out)
import { availableParallelism, loadavg } from 'node:os'
import { parseArgs } from 'node:util'
import { Piscina } from 'piscina'
import { collect, parallelMap } from '../src/index.js'
import { createPool, workerMap } from '../src/workers/index.js'
import { median } from './measure.js'
import sha256Chain, { type ChainSettings } from './sha256-chain.js'

const { values } = parseArgs({
  options: {
    tiny: { type: 'string', default: '10000' },
    'tiny-runs': { type: 'string', default: '20' },
    items: { type: 'string', default: '128' },
    rounds: { type: 'string', default: '2000' },
    runs: { type: 'string', default: '3' },
  },
})
const threads = availableParallelism()

type Contenders = Record<string, () => Promise<unknown[]>>

interface Times {
  /** Best and worst wall-clock time of a run, in ms. */
  best: number
  worst: number
  /** Least CPU time of a run, all threads of the process together, in ms: what the load disturbs least. */
  cpu: number
  /** The wall-clock time of every run, in ms, in run order: run i of two contenders is a pair. */
  runs: number[]
}

/**
 * Runs every contender `runs` times, after `warmUps` untimed rounds, and checks that they all
 * compute the same outputs. The contenders take turns, in one order and then in the reverse one, so
 * that a change in the machine's load hits them alike and none always runs after the same
 * neighbour (and collects its garbage).
 */
async function race(contenders: Contenders, runs: number, warmUps = 0): Promise<Record<string, Times>> {
  const times: Record<string, Times> = {}
  const entries = Object.entries(contenders)
  let expected: string | undefined
  const check = (name: string, output: unknown[]): void => {
    // Sorted: a contender with `ordered: false` hands the same results out in another order.
    const digest = output.map(String).sort().join()
    expected ??= digest
    if (digest !== expected) throw new Error(`${name} computed a different output`)
  }
  for (let round = 0; round < warmUps; round++) {
    for (const [name, contender] of entries) check(name, await contender())
  }
  for (let run = 0; run < runs; run++) {
    for (const [name, contender] of run % 2 === 0 ? entries : [...entries].reverse()) {
      const start = performance.now()
      const cpuStart = process.cpuUsage()
      const output = await contender()
      const { user, system } = process.cpuUsage(cpuStart)
      const ms = performance.now() - start
      check(name, output)
      const { best, worst, cpu, runs: all } = times[name] ?? { best: Infinity, worst: 0, cpu: Infinity, runs: [] }
      times[name] = { best: Math.min(best, ms), worst: Math.max(worst, ms), cpu: Math.min(cpu, (user + system) / 1000), runs: [...all, ms] }
    }
  }
  return times
}

/** The median, over the runs, of a contender's time over the baseline's time in the same run. */
function pairedRatio(times: Times, baseline: Times): number {
  return median(times.runs.map((ms, run) => ms / baseline.runs[run]!))
}

/** Calls `run` for every item, `concurrency` calls at a time, and collects the results in order. */
async function inFlight(items: readonly number[], concurrency: number, run: (item: number) => Promise<unknown>) {
  const results: unknown[] = new Array(items.length)
  let next = 0
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++
      results[index] = await run(items[index]!)
    }
  }
  await Promise.all(Array.from({ length: concurrency }, lane))
  return results
}

console.log(`${threads} cores, Node ${process.version}, load average ${loadavg()[0]!.toFixed(2)} at start`)

// ---- tiny tasks ---------------------------------------------------------------------------------

const tiny = Array.from({ length: Number(values.tiny) }, (_, i) => i)
const tinyRuns = Number(values['tiny-runs'])
if (tiny.length > 0) {
  const double = new URL('double.mjs', import.meta.url)
  // piscina as it comes, and piscina set up as workerMap sets it up: event loops that turn between
  // tasks (atomics disabled, so that an error raised outside a task surfaces at once).
  const piscinaDefaults = { filename: double.href, minThreads: threads, maxThreads: threads }
  const piscinaAsOurs = { ...piscinaDefaults, atomics: 'disabled', idleTimeout: Infinity } as const
  const warmDefaults = new Piscina(piscinaDefaults)
  const warmAsOurs = new Piscina(piscinaAsOurs)
  const warmPool = createPool()
  // workerMap aborts a task (a break, a sibling's failure, a timeout) through piscina's per-task
  // signal; piscina treats such a task apart (its thread runs no other task meanwhile). The cost of
  // that alone, with a signal that never aborts: a plain object, as workerMap's own is.
  const neverAborts = { aborted: false, addEventListener() {}, removeEventListener() {} }

  /** pool.run on a pool started for the run and destroyed at its end, as workerMap's own pool is. */
  async function newPiscina(): Promise<unknown[]> {
    const pool = new Piscina(piscinaAsOurs)
    const results = await inFlight(tiny, threads, (n) => pool.run(n))
    await pool.destroy()
    return results
  }

  const warmBaseline = `pool.run, warm, workerMap's settings`
  const newBaseline = `pool.run, new pool per run, workerMap's settings`
  // Two races, so that the threads the second one starts and stops do not disturb the warm pools'.
  const warmTimes = await race({
    [`pool.run, warm, piscina's defaults`]: () => inFlight(tiny, threads, (n) => warmDefaults.run(n)),
    [warmBaseline]: () => inFlight(tiny, threads, (n) => warmAsOurs.run(n)),
    [`pool.run, warm, workerMap's settings, abortable`]: () =>
      inFlight(tiny, threads, (n) => warmAsOurs.run(n, { signal: neverAborts })),
    'workerMap, warm shared pool, ordered: false': () =>
      collect(workerMap(double, { pool: warmPool, ordered: false })(tiny)),
    'workerMap, warm shared pool, in order (default)': () => collect(workerMap(double, { pool: warmPool })(tiny)),
  }, tinyRuns, 1)
  await Promise.all([warmDefaults.destroy(), warmAsOurs.destroy(), warmPool.destroy()])
  const tinyTimes = {
    ...warmTimes,
    ...(await race({
      [newBaseline]: newPiscina,
      'workerMap, own pool per run, ordered: false': () => collect(workerMap(double, { ordered: false })(tiny)),
      'workerMap, own pool per run, in order (default)': () => collect(workerMap(double)(tiny)),
    }, tinyRuns, 1)),
  }

  console.log(
    `\n${tiny.length} tiny tasks (a number doubled on a worker thread), ${threads} threads, ${threads} tasks in flight, ` +
      `best of ${tinyRuns} runs after a warm-up run, load average ${loadavg()[0]!.toFixed(2)} now`,
  )
  const baselineOf = (name: string): Times => tinyTimes[name.includes('new') || name.includes('own') ? newBaseline : warmBaseline]!
  console.table(
    Object.entries(tinyTimes).map(([contender, { best, worst, cpu }]) => ({
      contender,
      'µs/task': +((best * 1000) / tiny.length).toFixed(1),
      'worst µs/task': +((worst * 1000) / tiny.length).toFixed(1),
      'CPU µs/task': +((cpu * 1000) / tiny.length).toFixed(1),
      'vs pool.run': `${(best / baselineOf(contender).best).toFixed(2)}x`,
      'paired median': `${pairedRatio(tinyTimes[contender]!, baselineOf(contender)).toFixed(2)}x`,
      'CPU vs pool.run': `${(cpu / baselineOf(contender).cpu).toFixed(2)}x`,
    })),
  )
}

// ---- CPU-bound tasks ----------------------------------------------------------------------------

const items = Array.from({ length: Number(values.items) }, (_, i) => i)
const runs = Number(values.runs)
if (items.length > 0) {
  const settings: ChainSettings = { rounds: Number(values.rounds), blockSize: 16 * 1024 }
  const task = new URL('sha256-chain.ts', import.meta.url)
  const pool = createPool({ workerData: settings })
  const piscina = new Piscina({
    filename: task.href,
    name: 'piscinaTask',
    minThreads: threads,
    maxThreads: threads,
    workerData: settings,
  })
  // Warms both pools: every thread has started and loaded the task module.
  const first = items.slice(0, threads)
  await Promise.all([
    collect(workerMap(task, { pool })(first)),
    Promise.all(first.map((item) => piscina.run(item))),
  ])

  const loop = 'plain loop'
  const mainThread = `parallelMap, main thread (concurrency ${threads})`
  const cpuTimes = await race({
    [loop]: async () => items.map((item) => sha256Chain(item, { workerData: settings })),
    [mainThread]: () =>
      collect(
        parallelMap<number, string>((item) => sha256Chain(item, { workerData: settings }), { concurrency: threads })(items),
      ),
    [`workerMap, own pool (${threads} threads, start-up counted)`]: () =>
      collect(workerMap<number, string>(task, { workerData: settings })(items)),
    [`workerMap, warm shared pool (${threads} threads)`]: () => collect(workerMap<number, string>(task, { pool })(items)),
    // The floor for any scheduler: every item handed to a warm piscina pool at once.
    [`pool.run directly, all at once, warm (${threads} threads)`]: () => Promise.all(items.map((item) => piscina.run(item))),
  }, runs)
  await Promise.all([pool.destroy(), piscina.destroy()])

  console.log(
    `\n${items.length} items × ${settings.rounds} rounds of SHA-256 over ${settings.blockSize / 1024} KiB, ` +
      `best of ${runs} runs, load average ${loadavg()[0]!.toFixed(2)} now`,
  )
  console.table(
    Object.entries(cpuTimes).map(([contender, { best, worst }]) => ({
      contender,
      'best ms': Math.round(best),
      'worst ms': Math.round(worst),
      'vs loop': `${(cpuTimes[loop]!.best / best).toFixed(2)}x`,
      'vs main thread': `${(cpuTimes[mainThread]!.best / best).toFixed(2)}x`,
    })),
  )
}
