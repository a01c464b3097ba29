import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { chmodSync, existsSync, openSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { once } from 'node:events'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { beforeAll, describe, expect, it } from 'vitest'
import { processesMatching, useScratch, waitFor, type Ran } from './cli/helpers.js'

// These tests run the built command as a user would: a child process with real pipes, signals and
// terminals. What needs no process of its own is tested in test/cli/run.test.ts, faster.
const ROOT = fileURLToPath(new URL('..', import.meta.url))
const BIN = join(ROOT, 'dist/cli/main.js')

function newestSource(dir: string): number {
  let newest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs)
  }
  return newest
}

beforeAll(() => {
  if (!existsSync(BIN) || statSync(BIN).mtimeMs < newestSource(join(ROOT, 'src'))) {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' })
    chmodSync(BIN, 0o755)
  }
}, 120_000)

const scratch = useScratch()

interface CliOptions {
  /** Written to standard input, which is then closed. */
  readonly input?: string
  /** Standard output goes to this file instead of a pipe. */
  readonly stdoutFile?: string
}

function start(args: readonly string[], options: { stdoutFile?: string; detached?: boolean } = {}): ChildProcess {
  const stdout = options.stdoutFile === undefined ? 'pipe' : openSync(options.stdoutFile, 'w')
  return spawn(BIN, args, { stdio: ['pipe', stdout, 'pipe'], detached: options.detached ?? false })
}

async function finish(child: ChildProcess): Promise<Ran> {
  let stdout = ''
  let stderr = ''
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const [code] = (await once(child, 'close')) as [number | null]
  return { code, stdout, stderr }
}

function cli(args: readonly string[], options: CliOptions = {}): Promise<Ran> {
  const child = start(args, options)
  child.stdin!.end(options.input ?? '')
  return finish(child)
}

describe('the command', () => {
  it('runs the command for each line of standard input, in input order', async () => {
    const { code, stdout, stderr } = await cli(['-j', '2', 'sh', '-c', 'echo "$1"; exit $2', 'sh', '{}', '{#}'], { input: 'a b\nc\n' })
    expect(stdout).toBe('a b\nc\n')
    expect(stderr).toBe('')
    expect(code).toBe(2)
  })

  it.each([
    [['-j', '-1', 'true'], 'foreach-parallel: Expected -j to be an integer >= 1 or a percentage of the CPU cores (like 50%), got "-1"\n'],
    [['sh', '-c', 'echo {}'], `foreach-parallel: {} in the script of 'sh -c' would make each item shell code; pass it as an argument: sh -c '… "$1"' _ {}\n`],
  ])('exits 255 with a one-line message for bad usage: %j', async (args, message) => {
    expect(await cli(args, { input: 'x\n' })).toEqual({ code: 255, stdout: '', stderr: message })
  })

  it('prints --help and --version', async () => {
    const help = await cli(['--help'])
    expect(help.stdout).toContain('-j, -P, --jobs N')
    expect(help.stdout).toContain('Differences from GNU parallel')
    expect(help.code).toBe(0)
    const version = await cli(['--version'])
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }
    expect(version.stdout).toBe(`${manifest.version}\n`)
  })
})

describe('streaming', () => {
  it('streams 100,000 lines without holding them: memory stays flat', async () => {
    const line = 'x'.repeat(1000)
    const child = start(['--dry-run', '-j', '8', '--', 'echo', '{}'])
    let lines = 0
    child.stdout!.on('data', (chunk: Buffer) => {
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++
    })
    const ended = once(child, 'close')
    // 100 MB in: holding it would take the peak well over the bound below (about 75 MB measured).
    for (let i = 0; i < 100_000; i++) {
      if (!child.stdin!.write(`${line}\n`)) await once(child.stdin!, 'drain')
    }
    await waitFor(() => lines === 100_000)
    // Standard input is still open, so the process is alive to be measured.
    const peakKb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))![1])
    child.stdin!.end()
    const [code] = (await ended) as [number]
    expect(code).toBe(0)
    expect(peakKb).toBeLessThan(120_000)
  })

  it('reads an endless input lazily and stops quietly when its reader goes away', async () => {
    const { stdout, stderr } = await finish(
      spawn('bash', ['-c', `yes | ${BIN} --dry-run -- echo | head -n 1000; echo "\${PIPESTATUS[1]}" >&2`], {
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    )
    expect(stdout).toBe('echo y\n'.repeat(1000))
    // 141: like a process killed by SIGPIPE, without a word on stderr.
    expect(stderr).toBe('141\n')
  })
})

describe('output that cannot be written', () => {
  const long = `30.3${process.pid}`

  /** Runs `script` in bash; `$BIN` is the command. Its stderr is captured, its stdout too. */
  function bash(script: string): Promise<Ran> {
    return finish(spawn('bash', ['-c', script], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, BIN } }))
  }

  it('stops the run, its children included, when stderr is closed by its reader, and exits 141', async () => {
    const work = scratch()
    const results = join(work, 'results.json')
    // `wait` writes to stderr once `head` has gone; the long items are still running then. The group
    // closes its own copy of the pipe before `gone` exists, so that the write finds no reader.
    const script = `case $1 in first) echo err first >&2;; wait) i=0; while [ ! -e ${work}/gone ] && [ $i -lt 250 ]; do sleep 0.02; i=$((i+1)); done; echo err wait >&2;; *) exec sleep $1;; esac`
    const { stdout, stderr } = await bash(
      `printf 'first\nwait\n${long}\n${long}\n' | "$BIN" -j 4 --as-completed --results ${results} -- sh -c '${script}' sh {} 2>&1 | ` +
        `{ head -n 1; exec <&-; touch ${work}/gone; }; echo "status \${PIPESTATUS[1]}" >&2`,
    )
    expect(stdout).toBe('err first\n')
    expect(stderr).toBe('status 141\n')
    expect(processesMatching(`sleep ${long}`)).toEqual([])
    const records = JSON.parse(readFileSync(results, 'utf8')) as { item: string; status: string }[]
    expect(records.map((r) => r.status)).toEqual(['succeeded', 'succeeded', 'failed', 'failed'])
  })

  it('still prints the stderr of the items reported after stdout was closed', async () => {
    const work = scratch()
    // `c` writes to stderr, then runs until the stop; `b` ends once `c` has written and `head` (and
    // the group's copy of the pipe) has gone: its output meets the closed pipe and stops the run.
    const wait = `i=0; while [ ! -e ${work}/gone ] || [ ! -e ${work}/c ]; do [ $i -lt 250 ] || exit; sleep 0.02; i=$((i+1)); done`
    const script = `case $1 in b) ${wait};; c) echo err c >&2; touch ${work}/c; exec sleep ${long};; esac; echo out $1; echo err $1 >&2`
    const { stdout, stderr } = await bash(
      `printf 'a\nb\nc\n' | "$BIN" -j 3 -- sh -c '${script}' sh {} | { head -n 1; exec <&-; touch ${work}/gone; }; echo "status \${PIPESTATUS[1]}" >&2`,
    )
    expect(stdout).toBe('out a\n')
    expect(stderr).toBe('err a\nerr b\nerr c\nstatus 141\n')
    expect(processesMatching(`sleep ${long}`)).toEqual([])
  })

  it.each([[[]], [['--dry-run']]])('says so and exits 255 when stdout cannot be written (disk full) %j', async (options) => {
    const { code, stderr } = await cli([...options, '--', 'echo'], { input: 'a\nb\n', stdoutFile: '/dev/full' })
    expect(stderr).toBe('foreach-parallel: cannot write output: ENOSPC: no space left on device, write\n')
    expect(code).toBe(255)
  })

  it('exits 255 when stderr cannot be written', async () => {
    const { stdout, stderr } = await bash(`printf 'a\n' | "$BIN" -- sh -c 'echo $1 >&2' sh 2>/dev/full; echo "status $?"`)
    expect(stdout).toBe('status 255\n')
    expect(stderr).toBe('')
  })
})

describe('signals', () => {
  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const)('%s stops the children, prints a summary, writes the results and exits %i', async (signal, status) => {
    const work = scratch()
    const results = join(work, 'results.json')
    const marker = `sleep 30.${status}`
    const script = `if [ "$1" = fast ]; then echo fast; exit; fi; touch ${work}/started.$1; exec ${marker}`
    // Its own process group, as a shell gives a pipeline: the signal goes to the whole group.
    const child = start(['-j', '3', '--results', results, '--', 'sh', '-c', script, 'sh', '{}'], { detached: true })
    const ran = finish(child)
    child.stdin!.write('fast\nslow1\nslow2\n')
    await waitFor(() => existsSync(join(work, 'started.slow1')) && existsSync(join(work, 'started.slow2')))
    await waitFor(() => processesMatching(marker).length === 2)
    process.kill(-child.pid!, signal)
    const { code, stdout, stderr } = await ran
    child.stdin!.destroy()
    expect(code).toBe(status)
    expect(stdout).toBe('fast\n')
    expect(stderr).toMatch(new RegExp(`stopped by ${signal} after [\\d.]+ s: 1 succeeded, 0 failed, 2 stopped while running`))
    const records = JSON.parse(readFileSync(results, 'utf8')) as Record<string, unknown>[]
    expect(records).toMatchObject([
      { item: 'fast', status: 'succeeded' },
      { item: 'slow1', status: 'failed', error: `stopped by ${signal}` },
      { item: 'slow2', status: 'failed', error: `stopped by ${signal}` },
    ])
    expect(processesMatching(marker)).toEqual([])
  })

  it('leaves no command running when it is killed with SIGKILL', async () => {
    const work = scratch()
    const marker = `sleep 30.9${process.pid}`
    // Each command starts a child of its own, in its process group, as a pipeline would.
    const script = `touch ${work}/started.$1; ${marker} & wait`
    const child = start(['-j', '3', '--', 'sh', '-c', script, 'sh', '{}'])
    const ran = finish(child)
    child.stdin!.write('a\nb\nc\n')
    await waitFor(() => processesMatching(marker).length === 3)
    child.kill('SIGKILL')
    expect((await ran).code).toBe(null)
    // The watchdog sends SIGTERM at once, and SIGKILL half a second later to what is left.
    await waitFor(() => processesMatching(marker).length === 0 && processesMatching('sh -c touch').length === 0)
  })
})

describe('--progress', () => {
  it('draws a bar on a terminal', async () => {
    const work = scratch()
    const items = join(work, 'items')
    writeFileSync(items, 'a\nb\nc\n')
    const command = `${BIN} --progress -j 2 -a ${items} -- sh -c 'sleep 0.2; echo done-$1' sh`
    expect(execFileSync('which', ['script'], { encoding: 'utf8' })).toContain('script')
    // `script` runs the command on a pseudo-terminal and copies what it draws.
    const { code, stdout } = await finish(spawn('script', ['-qfec', command, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'] }))
    expect(code).toBe(0)
    expect(stdout).toContain('100% 3/3 | 0 failed | 0 running')
    // A full bar, as wide as the terminal leaves room for (8 to 24 cells).
    expect(stdout).toMatch(/\u2588{8,24} 100% 3\/3/)
    for (const item of ['a', 'b', 'c']) expect(stdout).toContain(`done-${item}`)
  })

  it('reads the items of a pipe given to -a once, without counting them first', async () => {
    const command = `bash -c '${BIN} --progress -a <(printf "x\\ny\\nz\\n") -- echo item:'`
    const { code, stdout } = await finish(spawn('script', ['-qfec', command, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'] }))
    expect(code).toBe(0)
    expect(stdout).toContain('item: x')
    expect(stdout).toContain('item: y')
    expect(stdout).toContain('item: z')
    expect(stdout).toContain('3 done | 0 failed | 0 running')
  })

  it('is silent when stderr is not a terminal', async () => {
    const { code, stdout, stderr } = await cli(['--progress', '--', 'echo'], { input: 'a\n' })
    expect(stdout).toBe('a\n')
    expect(stderr).toBe('')
    expect(code).toBe(0)
  })
})
