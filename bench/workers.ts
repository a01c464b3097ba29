// CPU-bound work three ways: a plain loop, parallelMap on the main thread, and workerMap on worker
// threads (a run with its own pool, whose start-up is counted, and a run on a warm shared pool),
// against piscina's own pool.run with no scheduler in between.
// Usage: npm run bench:workers [-- --items 128 --rounds 2000 --runs 3]
import { availableParallelism, loadavg } from 'node:os'
import { parseArgs } from 'node:util'
import { collect, parallelMap } from '../src/index.js'
import { createPool, workerMap } from '../src/workers/index.js'
import type { WorkerTask } from '../src/workers/worker.js'
import sha256Chain, { type ChainSettings } from './sha256-chain.js'

const { values } = parseArgs({
  options: {
    items: { type: 'string', default: '128' },
    rounds: { type: 'string', default: '2000' },
    runs: { type: 'string', default: '3' },
  },
})
const items = Array.from({ length: Number(values.items) }, (_, i) => i)
const settings: ChainSettings = { rounds: Number(values.rounds), blockSize: 16 * 1024 }
const runs = Number(values.runs)
const threads = availableParallelism()
const task = new URL('sha256-chain.ts', import.meta.url)

async function time(run: () => Promise<string[]>): Promise<{ ms: number; results: string[] }> {
  const start = performance.now()
  const results = await run()
  return { ms: performance.now() - start, results }
}

const pool = createPool({ workerData: settings })
// Warms the shared pool: every thread has started and loaded the task module.
await collect(workerMap(task, { pool })(items.slice(0, threads)))

const contenders: Record<string, () => Promise<string[]>> = {
  'plain loop': async () => items.map((item, index) => sha256Chain(item, { index, attempt: 1, workerData: settings })),
  [`parallelMap, main thread (concurrency ${threads})`]: () =>
    collect(
      parallelMap<number, string>((item, { index, attempt }) => sha256Chain(item, { index, attempt, workerData: settings }), {
        concurrency: threads,
      })(items),
    ),
  [`workerMap, own pool (${threads} threads, start-up counted)`]: () =>
    collect(workerMap<number, string>(task, { workerData: settings })(items)),
  [`workerMap, warm shared pool (${threads} threads)`]: () => collect(workerMap<number, string>(task, { pool })(items)),
  // The floor for any scheduler: every item handed to the same warm pool at once.
  [`pool.run directly, warm shared pool (${threads} threads)`]: () =>
    Promise.all(
      items.map((item, index) => pool.run({ module: task.href, exportName: 'default', item, index, attempt: 1 } satisfies WorkerTask)),
    ),
}

console.log(`${items.length} items × ${settings.rounds} rounds of SHA-256 over ${settings.blockSize / 1024} KiB, ` +
  `${threads} cores (load average ${loadavg()[0]!.toFixed(2)} at start), best of ${runs} runs, Node ${process.version}\n`)
const best: Record<string, number> = {}
const spread: Record<string, [number, number]> = {}
let expected: string[] | undefined
for (let run = 0; run < runs; run++) {
  for (const [name, contender] of Object.entries(contenders)) {
    const { ms, results } = await time(contender)
    expected ??= results
    if (results.join() !== expected.join()) throw new Error(`${name} computed different digests`)
    best[name] = Math.min(best[name] ?? Infinity, ms)
    const [low, high] = spread[name] ?? [Infinity, 0]
    spread[name] = [Math.min(low, ms), Math.max(high, ms)]
  }
}
await pool.destroy()

const baseline = best['plain loop']!
const mainThread = best[`parallelMap, main thread (concurrency ${threads})`]!
const rows = Object.keys(contenders).map((name) => ({
  contender: name,
  'best ms': Math.round(best[name]!),
  'range ms': spread[name]!.map(Math.round).join('–'),
  'vs loop': `${(baseline / best[name]!).toFixed(2)}x`,
  'vs main thread': `${(mainThread / best[name]!).toFixed(2)}x`,
}))
console.table(rows)
