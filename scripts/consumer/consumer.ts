// A user's program, compiled against the installed package (see scripts/check-install.ts): it
// type-checks with strict settings and skipLibCheck off, then runs under Node.
import assert from 'node:assert/strict'
import { collect, parallelMap, parallelMapSettled, pipe, take, TimeoutError, type Settled, type TaskContext } from 'foreach-parallel'
import { workerMap } from 'foreach-parallel/workers'
import { entries } from './entries.js'

// The main entry: at most two at a time, results in input order, inferred through pipe.
let running = 0
let most = 0
async function square(n: number, { signal }: TaskContext): Promise<number> {
  running++
  most = Math.max(most, running)
  await new Promise((resolve) => setTimeout(resolve, n))
  running--
  signal.throwIfAborted()
  return n * n
}
const squares: number[] = await pipe([3, 1, 2, 4], parallelMap(square, { concurrency: 2 }), take(3), collect)
assert.deepEqual(squares, [9, 1, 4])
assert.equal(most, 2)

// A per-item timeout fails the item with the exported TimeoutError, even if the call never settles.
const never = (): Promise<string> => new Promise<string>(() => {})
const records: Settled<number, string>[] = await pipe([1], parallelMapSettled(never, { timeout: 10 }), collect)
assert.equal(records[0]?.status, 'rejected')
assert.ok(records[0]?.status === 'rejected' && records[0].reason instanceof TimeoutError)

// The workers entry: the built worker script is found inside the installed package.
const cubes = await collect(workerMap<number, number>(new URL('./cube.js', import.meta.url), { concurrency: 2 })([1, 2, 3]))
assert.deepEqual(cubes, [1, 8, 27])

// Every entry point of the package's exports loads and exports functions.
for (const [name, entry] of Object.entries(entries)) {
  assert.ok(Object.values(entry).some((value) => typeof value === 'function'), `${name} exports no function`)
}
console.log(`consumer: ok (${Object.keys(entries).join(', ')})`)
