// Worker threads, two ways, each side by side in one process:
// - tiny tasks (a number doubled): what workerMap itself costs per item, against piscina's own
//   pool.run kept at the same concurrency, with no scheduler in between;
// - CPU-bound tasks (chains of SHA-256): a plain loop, parallelMap on the main thread, and workerMap
//   (a run with its own pool, whose start-up is counted, and a run on a warm shared pool), against
//   pool.run with every item handed over at once.
// Usage: npm run bench:workers [-- --tiny 10000 --tiny-runs 10 --items 128 --rounds 2000 --runs 3]
// (--tiny 0 or --items 0 leaves that part out)
import { availableParallelism, loadavg } from 'node:os'
import { parseArgs } from 'node:util'
import { Piscina } from 'piscina'
import { collect, parallelMap } from '../src/index.js'
import { createPool, workerMap } from '../src/workers/index.js'
import sha256Chain, { type ChainSettings } from './sha256-chain.js'

const { values } = parseArgs({
  options: {
    tiny: { type: 'string', default: '10000' },
    'tiny-runs': { type: 'string', default: '10' },
    items: { type: 'string', default: '128' },
    rounds: { type: 'string', default: '2000' },
    runs: { type: 'string', default: '3' },
  },
})
const threads = availableParallelism()

type Contenders = Record<string, () => Promise<unknown[]>>

/**
 * Runs every contender `runs` times, interleaved so that a change in the machine's load hits them
 * alike, and checks that they all compute the same output. Returns each one's best time in ms.
 */
interface Times {
  /** Best and worst wall-clock time of a run, in ms. */
  best: number
  worst: number
  /** Least CPU time of a run, all threads of the process together, in ms: what the load disturbs least. */
  cpu: number
}

async function race(contenders: Contenders, runs: number): Promise<Record<string, Times>> {
  const times: Record<string, Times> = {}
  let expected: string | undefined
  for (let run = 0; run < runs; run++) {
    for (const [name, contender] of Object.entries(contenders)) {
      const start = performance.now()
      const cpuStart = process.cpuUsage()
      const output = await contender()
      const { user, system } = process.cpuUsage(cpuStart)
      const ms = performance.now() - start
      const digest = output.join()
      expected ??= digest
      if (digest !== expected) throw new Error(`${name} computed a different output`)
      const { best, worst, cpu } = times[name] ?? { best: Infinity, worst: 0, cpu: Infinity }
      times[name] = { best: Math.min(best, ms), worst: Math.max(worst, ms), cpu: Math.min(cpu, (user + system) / 1000) }
    }
  }
  return times
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
  const warmUp = tiny.slice(0, 100 * threads)
  await Promise.all([
    inFlight(warmUp, threads, (n) => warmDefaults.run(n)),
    inFlight(warmUp, threads, (n) => warmAsOurs.run(n)),
    collect(workerMap(double, { pool: warmPool })(warmUp)),
  ])

  /** pool.run on a pool started for the run and destroyed at its end, as workerMap's own pool is. */
  async function newPiscina(): Promise<unknown[]> {
    const pool = new Piscina(piscinaAsOurs)
    const results = await inFlight(tiny, threads, (n) => pool.run(n))
    await pool.destroy()
    return results
  }

  const warmBaseline = `pool.run, warm, workerMap's settings`
  const newBaseline = `pool.run, new pool per run, workerMap's settings`
  const tinyTimes = await race({
    [`pool.run, warm, piscina's defaults`]: () => inFlight(tiny, threads, (n) => warmDefaults.run(n)),
    [warmBaseline]: () => inFlight(tiny, threads, (n) => warmAsOurs.run(n)),
    'workerMap, warm shared pool': () => collect(workerMap(double, { pool: warmPool })(tiny)),
    [newBaseline]: newPiscina,
    'workerMap, own pool per run (default)': () => collect(workerMap(double)(tiny)),
  }, tinyRuns)
  await Promise.all([warmDefaults.destroy(), warmAsOurs.destroy(), warmPool.destroy()])

  console.log(
    `\n${tiny.length} tiny tasks (a number doubled on a worker thread), ${threads} threads, ${threads} tasks in flight, ` +
      `best of ${tinyRuns} runs, load average ${loadavg()[0]!.toFixed(2)} now`,
  )
  const baselineOf = (name: string): Times => tinyTimes[name.includes('new') || name.includes('own') ? newBaseline : warmBaseline]!
  console.table(
    Object.entries(tinyTimes).map(([contender, { best, worst, cpu }]) => ({
      contender,
      'µs/task': +((best * 1000) / tiny.length).toFixed(1),
      'worst µs/task': +((worst * 1000) / tiny.length).toFixed(1),
      'CPU µs/task': +((cpu * 1000) / tiny.length).toFixed(1),
      'vs pool.run': `${(best / baselineOf(contender).best).toFixed(2)}x`,
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
