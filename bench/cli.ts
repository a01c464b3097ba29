// The command against xargs -P and GNU parallel: commands per second for `true`, one per item, in
// the same run, the contenders taking turns round after round so that a change in the machine's
// load hits them alike. The ratios are computed within each round, then their median is reported.
// Usage: npm run bench:cli [-- --items 2000 --jobs 8 --rounds 3]
import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { availableParallelism, loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { median } from './measure.js'

const { values } = parseArgs({
  options: {
    items: { type: 'string', default: '2000' },
    jobs: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '3' },
  },
})
const items = Number(values.items)
const jobs = values.jobs!
const rounds = Number(values.rounds)
const input = Array.from({ length: items }, (_, i) => `${i + 1}\n`).join('')
const bin = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url))

interface Contender {
  readonly name: string
  readonly command: string
  readonly args: readonly string[]
}

const contenders: Contender[] = [
  { name: `foreach-parallel -j ${jobs} true`, command: process.execPath, args: [bin, '-j', jobs, 'true'] },
  { name: `xargs -P ${jobs} -n 1 true`, command: 'xargs', args: ['-P', jobs, '-n', '1', 'true'] },
]
const gnu = spawnSync('parallel', ['--version'], { encoding: 'utf8' })
const hasGnu = gnu.status === 0 && gnu.stdout.startsWith('GNU parallel')
if (hasGnu) contenders.push({ name: `GNU parallel -j ${jobs} true`, command: 'parallel', args: ['--will-cite', '-j', jobs, 'true'] })
else console.warn('GNU parallel is not installed (apt-get install parallel): it is left out.')

/** Seconds from spawn to exit for one run of the contender over the items. */
async function time({ command, args, name }: Contender): Promise<number> {
  const start = performance.now()
  const child = spawn(command, args, { stdio: ['pipe', 'ignore', 'inherit'] })
  child.stdin.end(input)
  const [code] = (await once(child, 'close')) as [number | null]
  if (code !== 0) throw new Error(`${name} exited with ${code}`)
  return (performance.now() - start) / 1000
}

const loadBefore = loadavg()
const seconds = contenders.map(() => [] as number[])
for (let round = 0; round < rounds; round++) {
  for (const [i, contender] of contenders.entries()) seconds[i]!.push(await time(contender))
}
const loadAfter = loadavg()

/** Median over the rounds of `ours / theirs` in commands per second, i.e. their time over ours. */
const ratio = (theirs: number) => median(seconds[0]!.map((ours, round) => seconds[theirs]![round]! / ours))

console.log(`\n${items} items, \`true\` per item, -j ${jobs}; ${rounds} rounds, taking turns; ${availableParallelism()} cores`)
console.log(`load average before: ${loadBefore.map((n) => n.toFixed(2)).join(' ')}; after: ${loadAfter.map((n) => n.toFixed(2)).join(' ')}\n`)
console.log('| command | median s | commands/s | foreach-parallel vs it (same-round ratio) |')
console.log('|---|---:|---:|---:|')
for (const [i, contender] of contenders.entries()) {
  const s = median(seconds[i]!)
  const versus = i === 0 ? '' : `${ratio(i).toFixed(2)}x`
  console.log(`| ${contender.name} | ${s.toFixed(2)} | ${Math.round(items / s)} | ${versus} |`)
}
console.log(`\nrounds (s): ${contenders.map((c, i) => `${c.name.split(' ')[0]} ${seconds[i]!.map((s) => s.toFixed(2)).join(', ')}`).join('; ')}`)
console.log('Targets: at least 0.5x xargs and 2x GNU parallel.')
