import { baseline } from './adapters.js'
import { fns, ITEMS, mixableSets, optionSets, valueOf, withFloor } from './option-sets.js'

/**
 * One measured process of `npm run bench:instructions`: `ROUNDS` passes of one entry (an option
 * set, `baseline`, or the set's `floor`) over `ITEMS` items, each checked. Bundled and run under
 * cachegrind by `instructions.ts`. With `--mixed`, every set of the mixed process first runs
 * `MIXED_WARMUPS` passes, so that the passes counted find the scheduler as an application that uses
 * them all would leave it.
 */

const MIXED_WARMUPS = 3

const [name = '', kind = '', roundsArg = ''] = process.argv.slice(2)
const fn = fns[kind]
const rounds = Number(roundsArg)
const set = optionSets.find((candidate) => candidate.name === name)
if (fn === undefined || !(rounds > 0) || (set === undefined && name !== 'baseline')) {
  throw new Error(`usage: instructions-child SET|baseline sync|async ROUNDS (got ${process.argv.slice(2).join(' ')})`)
}
const mode = process.argv[5]
const floor = mode === '--floor'
const pass = set === undefined || floor ? baseline : set.ours
const passFn = floor && set?.floor !== undefined ? withFloor(fn, set.floor) : fn
const items = Array.from({ length: ITEMS }, (_, i) => i)
// The warm-up is only run, not checked: the counted passes below check their results as before.
if (mode === '--mixed') {
  for (let round = 0; round < MIXED_WARMUPS; round++) {
    for (const other of mixableSets) for await (const _ of other.ours(items, fn));
  }
}
for (let round = 0; round < rounds; round++) {
  let count = 0
  for await (const output of pass(items, passFn)) {
    if (valueOf(output) !== ++count) throw new Error(`${name}: wrong result at ${count - 1}`)
  }
  if (count !== ITEMS) throw new Error(`${name}: ${count} of ${ITEMS} results`)
}
