import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { once } from 'node:events'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

// These tests run the built command as a user would: a child process with real pipes.
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

let dir: string
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'foreach-parallel-cli-'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

let dirs = 0
/** A fresh directory for one test's files. */
function scratch(): string {
  const path = join(dir, String(dirs++))
  mkdirSync(path)
  return path
}

interface Ran {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

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

/** Command lines of the processes running now whose command line starts with `text`. */
function processesMatching(text: string): string[] {
  const found: string[] = []
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim()
      if (command.startsWith(text)) found.push(command)
    } catch {
      // The process ended while we looked.
    }
  }
  return found
}

async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 20))
}

/** A small RFC 4180 reader: quoted fields may hold commas, doubled quotes and line breaks. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let field = ''
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"'
        i++
      } else if (c === '"') quoted = false
      else field += c
    } else if (c === '"') quoted = true
    else if (c === ',') {
      row.push(field)
      field = ''
    } else if (c === '\n') {
      row.push(field)
      rows.push(row)
      row = []
      field = ''
    } else field += c
  }
  return rows
}

describe('items and commands', () => {
  it('replaces every {} by the item, one argument per line, without a shell', async () => {
    const { code, stdout } = await cli(['--', 'printf', '<%s|%s>\\n', '{}', 'x{}x'], { input: 'a b\nit\'s $HOME\r\nlast' })
    expect(stdout).toBe("<a b|xa bx>\n<it's $HOME|xit's $HOMEx>\n<last|xlastx>\n")
    expect(code).toBe(0)
  })

  it('appends the item as the last argument when no {} appears, and accepts the command without --', async () => {
    const { code, stdout } = await cli(['-j', '2', 'echo', 'item:'], { input: 'one\ntwo\n' })
    expect(stdout).toBe('item: one\nitem: two\n')
    expect(code).toBe(0)
  })

  it('reads the items from --arg-file', async () => {
    const file = join(scratch(), 'items.txt')
    writeFileSync(file, 'x\ny\n')
    const { code, stdout } = await cli(['-a', file, '--', 'echo'])
    expect(stdout).toBe('x\ny\n')
    expect(code).toBe(0)
  })

  it('runs through /bin/sh -c with --shell, quoting the item', async () => {
    const { code, stdout } = await cli(['--shell', '--', 'echo {} | tr a-z A-Z'], { input: "it's; rm -rf /\n" })
    expect(stdout).toBe("IT'S; RM -RF /\n")
    expect(code).toBe(0)
  })

  it('prints the commands with --dry-run and runs none of them', async () => {
    const work = scratch()
    const { code, stdout } = await cli(['--dry-run', '--', 'touch', `${work}/{}`], { input: 'a\nb c\n' })
    expect(stdout).toBe(`touch ${work}/a\ntouch '${work}/b c'\n`)
    expect(readdirSync(work)).toEqual([])
    expect(code).toBe(0)
    const shell = await cli(['--dry-run', '--shell', '--', 'echo {} >', 'out'], { input: "it's\n" })
    expect(shell.stdout).toBe("echo 'it'\\''s' > out\n")
  })
})

describe('output', () => {
  it('keeps the input order by default, whatever the completion order', async () => {
    const work = scratch()
    // `slow` ends only after `fast` has ended.
    const script = `if [ "$1" = slow ]; then while [ ! -e ${work}/fast ]; do sleep 0.02; done; fi; echo "$1"; [ "$1" = slow ] || touch ${work}/fast`
    const { code, stdout } = await cli(['-j', '2', '--', 'sh', '-c', script, 'sh', '{}'], { input: 'slow\nfast\n' })
    expect(stdout).toBe('slow\nfast\n')
    expect(code).toBe(0)
  })

  it('prints each output as soon as its command ends with --as-completed', async () => {
    const work = scratch()
    const out = join(work, 'out')
    // `slow` ends only once `fast` has been printed (or after a bounded wait, if it never is).
    const script = `if [ "$1" = slow ]; then i=0; while ! grep -q fast ${out} && [ $i -lt 150 ]; do sleep 0.02; i=$((i+1)); done; fi; echo "$1"`
    const { code } = await cli(['--as-completed', '-j', '2', '--', 'sh', '-c', script, 'sh', '{}'], {
      input: 'slow\nfast\n',
      stdoutFile: out,
    })
    expect(readFileSync(out, 'utf8')).toBe('fast\nslow\n')
    expect(code).toBe(0)
  })

  it("never interleaves one command's output with another's", async () => {
    const script = 'for i in 1 2 3; do echo "$1-$i"; echo "$1-err-$i" >&2; sleep 0.02; done'
    const { code, stdout, stderr } = await cli(['--as-completed', '-j', '4', '--', 'sh', '-c', script, 'sh', '{}'], {
      input: 'a\nb\nc\nd\n',
    })
    const groups = (text: string) => text.trim().split('\n').map((line) => line.split('-')[0])
    for (const lines of [groups(stdout), groups(stderr)]) {
      expect(lines).toHaveLength(12)
      for (let i = 0; i < 12; i += 3) expect(new Set(lines.slice(i, i + 3)).size).toBe(1)
      expect(new Set(lines).size).toBe(4)
    }
    expect(code).toBe(0)
  })
})

describe('the throttle limit', () => {
  it('runs at most -j commands at once, and reaches it', async () => {
    const work = scratch()
    mkdirSync(join(work, 'running'))
    // The first commands wait (a bounded time) until 3 are running; each notes how many are.
    const script = [
      `mkdir ${work}/running/$1`,
      'i=0',
      `while [ ! -e ${work}/reached ] && [ "$(ls ${work}/running | wc -l)" -lt 3 ] && [ $i -lt 100 ]; do sleep 0.02; i=$((i+1)); done`,
      `touch ${work}/reached`,
      `ls ${work}/running | wc -l >> ${work}/counts`,
      'sleep 0.05',
      `rmdir ${work}/running/$1`,
    ].join('; ')
    const { code } = await cli(['-j', '3', '--', 'sh', '-c', script, 'sh', '{}'], { input: '1\n2\n3\n4\n5\n6\n' })
    const counts = readFileSync(join(work, 'counts'), 'utf8').trim().split('\n').map(Number)
    expect(counts).toHaveLength(6)
    expect(Math.max(...counts)).toBe(3)
    expect(code).toBe(0)
  })
})

describe('timeouts and retries', () => {
  // Sleep lengths unique to this test process, so that another run of the suite cannot be mistaken
  // for a leftover child.
  const long1 = `30.1${process.pid}`
  const long2 = `30.2${process.pid}`

  it('stops a command that outlives --item-timeout; the item fails and the others go on', async () => {
    const results = join(scratch(), 'results.json')
    const { code, stderr } = await cli(['--item-timeout', '1', '--results', results, '--', 'sleep'], {
      input: `0\n${long1}\n0\n`,
    })
    expect(code).toBe(1)
    expect(stderr).toContain(`"${long1}": timed out after 1 s`)
    const records = JSON.parse(readFileSync(results, 'utf8')) as { item: string; status: string; error: string | null }[]
    expect(records.map((r) => [r.item, r.status])).toEqual([
      ['0', 'succeeded'],
      [long1, 'failed'],
      ['0', 'succeeded'],
    ])
    expect(records[1]!.error).toBe('timed out after 1 s')
    expect(processesMatching(`sleep ${long1}`)).toEqual([])
  })

  it('stops the whole run at --timeout: running items fail, even while standard input stays open', async () => {
    const results = join(scratch(), 'results.ndjson')
    const child = start(['--timeout', '1.5', '--results', results, '--', 'sleep'])
    child.stdin!.write(`0\n${long2}\n`)
    const { code, stderr } = await finish(child)
    child.stdin!.destroy()
    expect(code).toBe(1)
    expect(stderr).toContain('--timeout of 1.5 s reached: 1 succeeded, 0 failed, 1 stopped while running')
    const records = readFileSync(results, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>)
    expect(records).toMatchObject([
      { item: '0', status: 'succeeded', exitCode: 0 },
      { item: long2, status: 'failed', exitCode: null, signal: 'SIGTERM', error: '--timeout of 1.5 s reached' },
    ])
    expect(processesMatching(`sleep ${long2}`)).toEqual([])
  })

  it('ends a --dry-run at --timeout while standard input stays open', async () => {
    const child = start(['--dry-run', '--timeout', '0.5', '--', 'echo'])
    child.stdin!.write('a\n')
    const { code, stdout } = await finish(child)
    child.stdin!.destroy()
    expect(stdout).toBe('echo a\n')
    expect(code).toBe(0)
  })

  it('runs a failed command again with --retries', async () => {
    const work = scratch()
    const results = join(work, 'results.json')
    // Fails on its first run, succeeds on the second.
    const script = `n=$(cat ${work}/$1 2>/dev/null || echo 0); n=$((n+1)); echo $n > ${work}/$1; [ $n -ge 2 ]`
    const args = ['--', 'sh', '-c', script, 'sh', '{}']
    const retried = await cli(['--retries', '2', '--results', results, ...args], { input: 'a\nb\n' })
    expect(retried.code).toBe(0)
    const records = JSON.parse(readFileSync(results, 'utf8')) as { attempts: number }[]
    expect(records.map((r) => r.attempts)).toEqual([2, 2])
    const once = await cli(args, { input: 'c\n' })
    expect(once.code).toBe(1)
  })
})

describe('exit status', () => {
  it('is the number of failed items', async () => {
    const { code, stdout } = await cli(['--', 'sh', '-c', 'echo $1; exit $1', 'sh'], { input: '0\n1\n2\n0\n3\n' })
    expect(stdout).toBe('0\n1\n2\n0\n3\n')
    expect(code).toBe(3)
  })

  it('is 100 for 100 failures and 101 for more', async () => {
    const hundred = await cli(['-j', '16', '--', 'false'], { input: 'x\n'.repeat(100) })
    expect(hundred.code).toBe(100)
    const more = await cli(['-j', '16', '--', 'false'], { input: 'x\n'.repeat(101) })
    expect(more.code).toBe(101)
  })

  it('counts a command that cannot start as failed, and says why', async () => {
    const { code, stderr } = await cli(['--', 'no-such-command-here'], { input: 'a\n' })
    expect(stderr).toContain('command not found: no-such-command-here')
    expect(code).toBe(1)
  })

  it.each([
    [['-j', '0', '--', 'true'], 'Expected --throttle-limit to be an integer >= 1, got "0"'],
    [['-j', '1.5', '--', 'true'], 'Expected --throttle-limit to be an integer >= 1, got "1.5"'],
    [['--throttle-limit', 'many', '--', 'true'], 'Expected --throttle-limit to be an integer >= 1, got "many"'],
    [['--timeout', '0', '--', 'true'], 'Expected --timeout to be a finite number > 0, got "0"'],
    [['--item-timeout', 'soon', '--', 'true'], 'Expected --item-timeout to be a finite number > 0, got "soon"'],
    [['--retries=-1', '--', 'true'], 'Expected --retries to be an integer >= 0, got "-1"'],
    [['--frobnicate', '--', 'true'], "Unknown option '--frobnicate'"],
    [['-j', '2'], 'no command given'],
    [['-j', '2', '--'], 'no command given'],
    [['--results', 'out.txt', '--', 'true'], 'Expected --results to end in .json, .ndjson or .csv, got "out.txt"'],
    [['--keep-order', '--as-completed', '--', 'true'], '--keep-order and --as-completed exclude each other'],
    [['-a', '/no/such/file', '--', 'true'], 'cannot read --arg-file'],
    [['--results', '/no/such/dir/r.json', '--', 'true'], 'cannot write --results: ENOENT'],
    [['--timeout', '2200000', '--', 'true'], 'Expected --timeout to be at most 2147483.647 seconds (the longest timer delay), got "2200000"'],
  ])('is 255 for bad usage: %j', async (args, message) => {
    const { code, stdout, stderr } = await cli(args, { input: 'x\n' })
    expect(stderr).toContain(message)
    expect(stdout).toBe('')
    expect(code).toBe(255)
  })

  it('prints --help and --version', async () => {
    const help = await cli(['--help'])
    expect(help.stdout).toContain('--throttle-limit N')
    expect(help.stdout).toContain('141 when stdout or stderr was closed by its reader')
    expect(help.code).toBe(0)
    const version = await cli(['--version'])
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }
    expect(version.stdout).toBe(`${manifest.version}\n`)
  })
})

describe('results files', () => {
  const input = 'ok\na,b\nsay "hi"\n'
  const args = (file: string) => ['--results', file, '--', 'sh', '-c', '[ "$1" = ok ] || exit 2', 'sh', '{}']

  it('writes a JSON array of records', async () => {
    const file = join(scratch(), 'r.json')
    const { code } = await cli(args(file), { input })
    expect(code).toBe(2)
    const records = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>[]
    expect(records).toMatchObject([
      { item: 'ok', index: 0, status: 'succeeded', exitCode: 0, signal: null, attempts: 1, error: null },
      { item: 'a,b', index: 1, status: 'failed', exitCode: 2, error: 'exit code 2' },
      { item: 'say "hi"', index: 2, status: 'failed', exitCode: 2, error: 'exit code 2' },
    ])
    for (const record of records) {
      expect(record['duration']).toBeTypeOf('number')
      expect(Number.isNaN(Date.parse(record['startedAt'] as string))).toBe(false)
    }
  })

  it('writes NDJSON, one record per line', async () => {
    const file = join(scratch(), 'r.ndjson')
    await cli(args(file), { input })
    const lines = readFileSync(file, 'utf8').split('\n')
    expect(lines.pop()).toBe('')
    expect(lines.map((line) => (JSON.parse(line) as { item: string }).item)).toEqual(['ok', 'a,b', 'say "hi"'])
  })

  it('writes CSV with a header and quoted fields', async () => {
    const file = join(scratch(), 'r.csv')
    await cli(args(file), { input })
    const rows = parseCsv(readFileSync(file, 'utf8'))
    expect(rows[0]).toEqual(['item', 'status', 'exitCode', 'duration', 'error'])
    expect(rows.slice(1).map((row) => [row[0], row[1], row[2], row[4]])).toEqual([
      ['ok', 'succeeded', '0', ''],
      ['a,b', 'failed', '2', 'exit code 2'],
      ['say "hi"', 'failed', '2', 'exit code 2'],
    ])
    expect(rows.slice(1).every((row) => /^\d+$/.test(row[3]!))).toBe(true)
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
