import { Readable } from 'node:stream'
import { parallelMap as siParallelMap, transform as siTransform } from 'streaming-iterables'
import { parallelMap } from '../src/index.js'
import type { Fn } from './adapters.js'
import { cpuTime, environment, median, pairedRatio } from './measure.js'
import { table } from './report.js'

/**
 * `concurrency: Infinity` over a sync source (`npm run bench:infinity`): ns/item and first-result
 * latency from 1e3 to 1e6 items, and the heap each in-flight item costs beyond the caller's own
 * promise, side by side with streaming-iterables and `Readable.map` (which rejects `Infinity`: it
 * gets the item count as its concurrency, up to 1e4 items). Needs `node --expose-gc`.
 */

const SIZES = [1e3, 1e4, 1e5, 1e6]
/** Items in flight at once for the heap measurement. */
const IN_FLIGHT = 1e5

type Run = (items: readonly number[], fn: Fn) => AsyncIterable<number>

interface Library {
  readonly name: string
  readonly ordered: Run | undefined
  readonly asCompleted: Run | undefined
  /** Most items it is timed on. */
  readonly upTo?: number
}

const libraries: readonly Library[] = [
  {
    name: 'foreach-parallel',
    ordered: (items, fn) => parallelMap(fn, { concurrency: Infinity })(items),
    asCompleted: (items, fn) => parallelMap(fn, { concurrency: Infinity, ordered: false })(items),
  },
  {
    name: 'streaming-iterables',
    ordered: (items, fn) => siParallelMap(Infinity, fn, items),
    asCompleted: (items, fn) => siTransform(Infinity, fn, items),
  },
  {
    name: 'Readable.map',
    ordered: (items, fn) => Readable.from(items).map(fn, { concurrency: items.length }),
    asCompleted: undefined,
    // At a concurrency of 1e5 a pass takes minutes: its cost per item grows with the items in flight.
    upTo: 1e4,
  },
]

const fns: Record<string, Fn> = {
  sync: (x) => x + 1,
  async: async (x) => x + 1,
}

const { gc } = globalThis as { gc?: () => void }
if (gc === undefined) throw new Error('bench/infinity.ts needs node --expose-gc')
const collect = gc

interface Sample {
  /** CPU time of the whole pass (see `cpuTime`). */
  readonly ms: number
  /** From the first `next()` call to its answer. */
  readonly firstMs: number
}

/** One pass: the wall time to the first result, the CPU time to the last; the results are checked. */
async function pass(name: string, run: Run, items: readonly number[], fn: Fn): Promise<Sample> {
  const cpuStart = cpuTime()
  const start = performance.now()
  const iterator = run(items, fn)[Symbol.asyncIterator]()
  const first = await iterator.next()
  const firstMs = performance.now() - start
  let count = first.done ? 0 : 1
  let sum = first.done ? 0 : first.value
  for (let result = await iterator.next(); !result.done; result = await iterator.next()) {
    count++
    sum += result.value
  }
  const ms = cpuTime() - cpuStart
  const n = items.length
  if (count !== n || sum !== (n * (n + 1)) / 2) throw new Error(`${name}: ${count} of ${n} results, sum ${sum}`)
  return { ms, firstMs }
}

/** Rounds for a size: fewer for the large ones, whose runs are long and steadier. */
function roundsFor(size: number): { warmups: number; runs: number } {
  return size >= 1e6 ? { warmups: 1, runs: 5 } : size >= 1e5 ? { warmups: 2, runs: 9 } : { warmups: 10, runs: 31 }
}

interface Measured {
  readonly library: string
  readonly samples: Sample[]
}

async function timeCase(ordered: boolean, kind: string, size: number): Promise<Measured[]> {
  const items = Array.from({ length: size }, (_, i) => i)
  const fn = fns[kind]!
  const entries = libraries.flatMap((library) => {
    const run = ordered ? library.ordered : library.asCompleted
    if (run === undefined || size > (library.upTo ?? Infinity)) return []
    return [{ library: library.name, run, samples: [] as Sample[] }]
  })
  const { warmups, runs } = roundsFor(size)
  for (let round = 0; round < warmups + runs; round++) {
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[(round + i) % entries.length]!
      const sample = await pass(entry.library, entry.run, items, fn)
      if (round >= warmups) entry.samples.push(sample)
    }
  }
  return entries
}

const heapUsed = (): number => {
  collect()
  collect()
  return process.memoryUsage().heapUsed
}

const turn = () => new Promise((resolve) => setImmediate(resolve))

/**
 * Heap bytes per in-flight item beyond the caller's promise: `IN_FLIGHT` calls of a `fn` whose
 * promise waits to be released, all running at once through the library, minus the same number
 * of such promises just held in an array.
 */
async function bytesPerItem(run: Run | undefined | 'reaction'): Promise<number> {
  const resolvers: ((value: number) => void)[] = []
  const fn = (): Promise<number> => new Promise<number>((resolve) => resolvers.push(resolve))
  const release = () => resolvers.forEach((resolve, i) => resolve(i + 1))
  const items = Array.from({ length: IN_FLIGHT }, (_, i) => i)
  const before = heapUsed()
  if (run === undefined || run === 'reaction') {
    const held = items.map(fn)
    const settled: number[] = []
    // The reaction row: what hearing of each call's end as it happens costs, whoever does it.
    if (run === 'reaction') {
      for (const [i, promise] of held.entries()) {
        void promise.then(
          (value) => settled.push(value),
          () => settled.push(-i),
        )
      }
    }
    const bytes = heapUsed() - before
    release()
    await Promise.all(held)
    return bytes / IN_FLIGHT
  }
  const iterator = run(items, fn)[Symbol.asyncIterator]()
  const first = iterator.next()
  for (let turns = 0; resolvers.length < IN_FLIGHT; turns++) {
    if (turns > 10_000) throw new Error(`only ${resolvers.length} of ${IN_FLIGHT} calls started`)
    await turn()
  }
  const bytes = heapUsed() - before
  release()
  let count = 0
  for (let result = await first; !result.done; result = await iterator.next()) count++
  if (count !== IN_FLIGHT) throw new Error(`${count} of ${IN_FLIGHT} results after the release`)
  return bytes / IN_FLIGHT
}

const fixed = (value: number, digits: number) => value.toFixed(digits)
const msOf = (samples: readonly Sample[]) => samples.map((sample) => sample.ms)

async function main(): Promise<void> {
  const started = new Date()
  console.log(`${environment()}\n${started.toISOString()}\n`)
  for (const ordered of [false, true]) {
    for (const kind of Object.keys(fns)) {
      const rows: string[][] = []
      const oursNs: number[] = []
      for (const size of SIZES) {
        const measured = await timeCase(ordered, kind, size)
        const ours = measured[0]!.samples
        for (const { library, samples } of measured) {
          const ns = (median(msOf(samples)) * 1e6) / size
          if (library === 'foreach-parallel') oursNs.push(ns)
          rows.push([
            size.toExponential(0),
            library,
            Math.round(ns).toLocaleString('en-US'),
            fixed(median(samples.map((sample) => sample.firstMs)), 3),
            fixed(Math.max(...samples.map((sample) => sample.firstMs)), 3),
            library === 'foreach-parallel' ? '1' : `${fixed(pairedRatio(samples, ours), 2)}×`,
          ])
        }
      }
      const order = ordered ? 'ordered' : 'as-completed'
      console.log(`#### ${kind} fn, ${order}, concurrency Infinity\n`)
      console.log(table(['items', 'library', 'CPU ns/item', 'first result ms', 'slowest first ms', 'time ÷ ours'], rows))
      console.log(`\nforeach-parallel ns/item at 1e6 ÷ at 1e3: ${fixed(oursNs.at(-1)! / oursNs[0]!, 2)}×\n`)
    }
  }
  const baseline = await bytesPerItem(undefined)
  const rows: string[][] = []
  for (const library of libraries) {
    for (const [order, run] of [
      ['as-completed', library.asCompleted],
      ['ordered', library.ordered],
    ] as const) {
      if (run === undefined) continue
      rows.push([library.name, order, Math.round((await bytesPerItem(run)) - baseline).toLocaleString('en-US')])
    }
  }
  console.log(`#### Heap per in-flight item, ${IN_FLIGHT.toLocaleString('en-US')} items in flight\n`)
  console.log(table(['library', 'order', 'bytes per item beyond the promise'], rows))
  const reaction = Math.round((await bytesPerItem('reaction')) - baseline)
  console.log(`\nThe promises alone: ${Math.round(baseline)} bytes per item (with the caller's resolver).`)
  console.log(
    `One \`then(onFulfilled, onRejected)\` per promise with two closures, nothing else: ${reaction} bytes per item` +
      ' beyond the promise (what a scheduler that hears of every call as it ends holds at least).',
  )
  const seconds = ((Date.now() - started.getTime()) / 1000).toFixed(0)
  console.log(`\n${environment()} at the end; ${seconds} s in all.`)
}

await main()
