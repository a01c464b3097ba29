import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { beforeAll, describe, expect, it } from 'vitest'
import { useScratch, type Ran } from './helpers.js'

// The same command lines through GNU parallel and through foreach-parallel, outputs and exit statuses
// compared. GNU parallel runs every command through a shell; -q makes it pass the words as they are,
// which is what foreach-parallel always does, so the command lines below mean the same to both.

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const BIN = join(ROOT, 'dist/cli/main.js')

function gnuParallelVersion(): string | undefined {
  const found = spawnSync('parallel', ['--version'], { encoding: 'utf8' })
  return found.status === 0 && found.stdout.startsWith('GNU parallel') ? found.stdout.split('\n')[0] : undefined
}

const version = gnuParallelVersion()
if (version === undefined) {
  console.warn(
    '\n*** GNU parallel is not installed: the comparisons with it in test/cli/gnu-parallel.test.ts are SKIPPED. ' +
      'Install it (apt-get install parallel) to run them; .ci/run does. ***\n',
  )
}

const scratch = useScratch()

function run(program: string, args: readonly string[], input = ''): Promise<Ran> {
  const child = spawn(program, args, { stdio: ['pipe', 'pipe', 'pipe'] })
  child.stdin.end(input)
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  return once(child, 'close').then(([code]) => ({ code: code as number | null, stdout, stderr }))
}

interface Case {
  readonly args: (dir: string) => string[]
  readonly input?: string
  /** Files the command line reads, written in the case's directory first. */
  readonly files?: Record<string, string>
  /** A joblog to compare too: the file name the command line writes it to. */
  readonly joblog?: string
}

/** An executable in the case's directory that prints its first argument and exits with it as its status. */
const STATUS_SCRIPT = '#!/bin/sh\necho "$1"\nexit "$1"\n'

const CASES: Record<string, Case> = {
  'replacement strings': {
    args: () => ['-k', '-j1', 'echo', '{}', '{.}', '{/}', '{//}', '{/.}', '{#}', '{%}', ':::', 'a', 'dir/b.txt', '/c.d/e', '.f', 'g.', 'h.i/', 'j/k.tar.gz'],
  },
  'the item appended when there is no replacement string': { args: () => ['-k', 'echo', 'item:'], input: 'a\nb c\n\nd\n' },
  '::: groups combined, {N} and its transforms': {
    args: () => ['-k', 'echo', '{2}', '{1}', '{-1}', '{3.}', '{1/}', '{2//}', ':::', 'x/a', 'y/b', ':::', 'p/q', ':::', 'r.s', 't.u'],
  },
  '{} with several sources, and several appended': { args: () => ['-k', 'echo', 'x{}y', '{.}', ':::', 'a.1', 'b', ':::', '1', '2'] },
  '-a and :::: files mixed with :::': {
    args: (dir) => ['-k', '-a', join(dir, 'one'), 'echo', ':::', 'x', '::::', join(dir, 'two')],
    files: { one: 'a\nb\n', two: '1\n2\n' },
  },
  '-k keeps the input order whatever the completion order': {
    args: () => ['-k', '-j3', '-q', 'sh', '-c', 'sleep 0.$1; echo $1', 'sh', ':::', '3', '1', '2'],
  },
  '-0 reads NUL-separated items, newlines kept': {
    args: () => ['-k', '-0', '-q', 'printf', '[%s]\\n'],
    input: 'a\nb\0c d\0\0e',
  },
  '--tag': { args: () => ['-k', '--tag', '-q', 'sh', '-c', 'echo out $1; echo more', 'sh', ':::', 'a', 'b c'] },
  '--tag, several sources': { args: () => ['-k', '--tag', 'echo', ':::', 'a', 'b', ':::', '1'] },
  '--line-buffer with -k': { args: () => ['-k', '--line-buffer', '-j2', '-q', 'sh', '-c', 'echo $1; sleep 0.$1; echo $1', 'sh', ':::', '2', '1'] },
  'exit status: the number of failures': { args: (dir) => ['-k', '-j4', join(dir, 'status'), ':::', '0', '1', '2', '0', '3'] },
  'exit status: a command that cannot start': { args: () => ['-k', 'no-such-command-here', ':::', 'a', 'b'] },
  '--halt now,fail=1: the failing status': { args: (dir) => ['-k', '-j1', '--halt', 'now,fail=1', join(dir, 'status'), ':::', '0', '0', '4', '0'] },
  '--halt soon,fail=2': { args: (dir) => ['-k', '-j1', '--halt', 'soon,fail=2', join(dir, 'status'), ':::', '0', '5', '0', '6', '7', '0'] },
  '--halt now,success=1': { args: (dir) => ['-k', '-j1', '--halt', 'now,success=1', join(dir, 'status'), ':::', '3', '0', '2'] },
  '--halt soon,fail=30%': { args: (dir) => ['-k', '-j1', '--halt', 'soon,fail=30%', join(dir, 'status'), ':::', '0', '1', '1', '0', '1', '0', '0', '0', '0', '0'] },
  '--halt now,fail=50% that never triggers': { args: (dir) => ['-k', '-j1', '--halt', 'now,fail=50%', join(dir, 'status'), ':::', '0', '1', '0', '0'] },
  '--retries: tries in all': {
    args: (dir) => ['-k', '--retries', '3', '-q', 'sh', '-c', `echo x >> ${dir}/tries.$1; cat ${dir}/tries.$1 | wc -l; exit 1`, 'sh', ':::', 'a'],
  },
  '--joblog fields': { args: (dir) => ['-k', '-j1', '--joblog', join(dir, 'log'), join(dir, 'status'), ':::', '0', '3', '0'], joblog: 'log' },
  '--joblog of a command stopped by --timeout': {
    args: (dir) => ['-k', '--timeout', '0.3', '--joblog', join(dir, 'log'), 'sleep', ':::', '0', '5'],
    joblog: 'log',
  },
  '--resume-failed': {
    args: (dir) => ['-k', '-j1', '--joblog', join(dir, 'log'), '--resume-failed', join(dir, 'status'), ':::', '0', '3', '0', '4'],
    files: { log: 'Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n1\t:\t1.000\t     0.001\t0\t2\t0\t0\tx\n2\t:\t1.000\t     0.001\t0\t2\t3\t0\tx\n' },
    joblog: 'log',
  },
  '--resume': {
    args: (dir) => ['-k', '-j1', '--joblog', join(dir, 'log'), '--resume', join(dir, 'status'), ':::', '0', '3', '0', '4'],
    files: { log: 'Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n1\t:\t1.000\t     0.001\t0\t2\t0\t0\tx\n2\t:\t1.000\t     0.001\t0\t2\t3\t0\tx\n' },
    joblog: 'log',
  },
}

/** The joblog's rows by job number, without the times, which differ from run to run. */
function joblogRows(path: string, dir: string): string[] {
  const [header, ...rows] = readFileSync(path, 'utf8').trimEnd().split('\n')
  return [header!, ...rows.map((row) => row.split('\t')).sort((a, b) => Number(a[0]) - Number(b[0])).map((f) => [f[0], f[1], f[4], f[5], f[6], f[7], f[8]!.replaceAll(dir, 'DIR')].join('\t'))]
}

interface Outcome {
  readonly ran: Ran
  readonly joblog: string[] | undefined
}

const outcomes = new Map<string, { gnu: Outcome; ours: Outcome }>()

/** Runs one side of a case in a fresh directory. */
async function side(name: string, which: 'gnu' | 'ours'): Promise<Outcome> {
  const test = CASES[name]!
  const dir = join(scratch(), which)
  mkdirSync(dir)
  writeFileSync(join(dir, 'status'), STATUS_SCRIPT)
  chmodSync(join(dir, 'status'), 0o755)
  for (const [file, text] of Object.entries(test.files ?? {})) writeFileSync(join(dir, file), text)
  const args = test.args(dir)
  const ran = which === 'gnu' ? await run('parallel', ['--will-cite', ...args], test.input) : await run(BIN, args, test.input)
  const log = test.joblog === undefined ? undefined : join(dir, test.joblog)
  const joblog = log === undefined || !existsSync(log) ? undefined : joblogRows(log, dir)
  return { ran: { ...ran, stdout: ran.stdout.replaceAll(dir, 'DIR') }, joblog }
}

describe.skipIf(version === undefined)(`the same command lines as ${version ?? 'GNU parallel'}`, () => {
  beforeAll(async () => {
    if (!existsSync(BIN)) execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' })
    // All at once: each case is two short runs, mostly spent starting a process.
    await Promise.all(
      Object.keys(CASES).map(async (name) => {
        const [gnu, ours] = await Promise.all([side(name, 'gnu'), side(name, 'ours')])
        outcomes.set(name, { gnu, ours })
      }),
    )
  }, 120_000)

  it.each(Object.keys(CASES))('%s: same output and exit status', (name) => {
    const { gnu, ours } = outcomes.get(name)!
    expect(ours.ran.stdout).toBe(gnu.ran.stdout)
    expect(ours.ran.code).toBe(gnu.ran.code)
    expect(ours.joblog).toEqual(gnu.joblog)
  })
})
