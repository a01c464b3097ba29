import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { environment } from './measure.js'
import { fns, ITEMS, mixableSets, optionSets } from './option-sets.js'
import { table } from './report.js'

/**
 * Instructions per item of each option set (`npm run bench:instructions`; needs valgrind, e.g.
 * `apt-get install valgrind`). CPU time on a shared VM moves 10–20 % between runs; the count of
 * instructions Node executes does not (a few instructions in 2,000). Each entry runs in a process
 * of its own, bundled by esbuild (so that no loader's work is counted), under
 * `valgrind --tool=cachegrind`, twice: 10 passes and 30 passes of 100k items (3 and 9 for the sets
 * whose `fn` reads `signal`); instructions per item = (the second count − the first) ÷ the items
 * between, which leaves start-up, compilation and warm-up out. It counts neither cache misses nor
 * the collector's threads, so it decides between variants of the code, and `bench:options` says
 * what they cost in time. "Mixed process": the same count in a process where every set of
 * `bench:options`' mixed process has run a few passes first, as in an application that uses them
 * all (the scheduler's call sites have seen them all, its fields hold what they all store).
 *
 * `npm run bench:instructions -- none sync` measures one set, with `baseline`, the set's floor and its
 * mixed-process count.
 */

const PASSES: readonly [number, number] = [10, 30]
const COSTLY_PASSES: readonly [number, number] = [3, 9]

function valgrindMissing(): boolean {
  return spawnSync('valgrind', ['--version']).error !== undefined
}

/** The count of instructions one process executes. */
function instructions(bundle: string, args: readonly string[]): number {
  const run = spawnSync(
    'valgrind',
    [
      '--tool=cachegrind',
      '--cache-sim=no',
      '--cachegrind-out-file=/dev/null',
      '--smc-check=all-non-file',
      process.execPath,
      '--single-threaded',
      bundle,
      ...args,
    ],
    { encoding: 'utf8', maxBuffer: 1 << 24 },
  )
  // valgrind's summary, and the child's own errors, are on stderr.
  const output = run.stderr
  if (run.status !== 0) throw new Error(`${args.join(' ')} failed under valgrind:\n${output}`)
  const line = /I\s+refs:\s+([\d,]+)/.exec(output)
  if (line === null) throw new Error(`no instruction count in valgrind's output:\n${output}`)
  return Number(line[1]!.replaceAll(',', ''))
}

/**
 * `passes`: the short and the long run's passes. A set whose `fn` makes an `AbortController` per
 * item costs some 25,000 instructions an item, which valgrind takes minutes a pass to run: it
 * makes do with 3 and 9.
 */
function perItem(bundle: string, entry: readonly string[], [short, long]: readonly [number, number]): number {
  const [name, kind, ...rest] = entry
  const few = instructions(bundle, [name!, kind!, String(short), ...rest])
  const many = instructions(bundle, [name!, kind!, String(long), ...rest])
  return Math.round((many - few) / ((long - short) * ITEMS))
}

if (valgrindMissing()) {
  console.error('bench:instructions needs valgrind (apt-get install valgrind).')
  process.exit(1)
}
const [onlySet, onlyKind] = process.argv.slice(2)
const sets = optionSets.filter((set) => onlySet === undefined || set.name === onlySet)
const kinds = Object.keys(fns).filter((kind) => onlyKind === undefined || kind === onlyKind)
if (sets.length === 0 || kinds.length === 0) {
  throw new Error(`unknown set or kind; sets: ${optionSets.map((set) => set.name).join(', ')}; kinds: sync, async`)
}

const dir = mkdtempSync(join(tmpdir(), 'bench-instructions-'))
try {
  const bundle = join(dir, 'child.mjs')
  await build({
    entryPoints: [fileURLToPath(new URL('instructions-child.ts', import.meta.url))],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: bundle,
    logLevel: 'error',
  })
  console.log(`${environment()}\n${new Date().toISOString()}; instructions per item, 100k items, concurrency 8\n`)
  const header = ['fn', 'option set', 'instructions per item', '÷ baseline', 'floor ÷ baseline', 'mixed process', 'baseline']
  const rows: string[][] = []
  for (const kind of kinds) {
    const base = perItem(bundle, ['baseline', kind], PASSES)
    for (const set of sets) {
      const passes = set.floor?.readsSignal === true ? COSTLY_PASSES : PASSES
      const ours = perItem(bundle, [set.name, kind], passes)
      const floor = set.floor === undefined ? undefined : perItem(bundle, [set.name, kind, '--floor'], passes)
      const mixed = mixableSets.includes(set) ? perItem(bundle, [set.name, kind, '--mixed'], passes) : undefined
      const row = [
        kind,
        set.name,
        ours.toLocaleString('en-US'),
        `${(ours / base).toFixed(2)}×`,
        floor === undefined ? '' : `${(floor / base).toFixed(2)}×`,
        mixed === undefined ? '' : `${mixed.toLocaleString('en-US')} (${(mixed / base).toFixed(2)}×)`,
        base.toLocaleString('en-US'),
      ]
      rows.push(row)
      console.error(row.join('  '))
    }
  }
  console.log(table(header, rows))
} finally {
  rmSync(dir, { recursive: true, force: true })
}
