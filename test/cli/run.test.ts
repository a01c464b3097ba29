import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { finished } from 'node:stream/promises'
import { join } from 'node:path'
import { PassThrough, Readable, Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { parseCommandLine } from '../../src/cli/args.js'
import { JOBLOG_HEADER } from '../../src/cli/joblog.js'
import { run, Stopped } from '../../src/cli/run.js'
import { parseCsv, processesMatching, useScratch, waitFor, type Ran } from './helpers.js'

// The command run in this process, as main.ts runs it, with real commands: no Node start-up per
// test. test/cli.test.ts runs the built command for what needs a process of its own.

const scratch = useScratch()

interface CliOptions {
  /** Written to standard input, which is then closed. */
  readonly input?: string
  /** Standard input, instead of `input`. */
  readonly stdin?: Readable
  /** Standard output goes to this file instead of being captured. */
  readonly stdoutFile?: string
  /** Stops the run as a signal would. */
  readonly signal?: AbortSignal
  /** Receives standard output's chunks as they are written. */
  readonly stdoutChunks?: Buffer[]
}

async function cli(args: readonly string[], options: CliOptions = {}): Promise<Ran> {
  const parsed = parseCommandLine(args)
  if (parsed.kind !== 'run') throw new Error(`expected a run, got ${parsed.kind}`)
  const captured = { stdout: options.stdoutChunks ?? [], stderr: [] as Buffer[] }
  const capture = (into: Buffer[]) =>
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        into.push(chunk)
        done()
      },
    }) as unknown as NodeJS.WriteStream
  const file = options.stdoutFile === undefined ? undefined : createWriteStream(options.stdoutFile)
  const code = await run(parsed.options, {
    stdin: options.stdin ?? Readable.from([Buffer.from(options.input ?? '')]),
    stdout: file === undefined ? capture(captured.stdout) : (file as unknown as NodeJS.WriteStream),
    stderr: capture(captured.stderr),
    signal: options.signal ?? new AbortController().signal,
  })
  if (file !== undefined) await finished(file.end())
  return { code, stdout: Buffer.concat(captured.stdout).toString(), stderr: Buffer.concat(captured.stderr).toString() }
}

describe('items and commands', () => {
  it('replaces every {} by the item, one argument per line, without a shell', async () => {
    const { code, stdout } = await cli(['--', 'printf', '<%s|%s>\\n', '{}', 'x{}x'], { input: 'a b\nit\'s $HOME\nlast' })
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

describe('hostile items', () => {
  const hostile = (work: string) => [
    `$(touch ${work}/PWNED)`,
    `\`touch ${work}/PWNED\``,
    `a; touch ${work}/PWNED`,
    `it's "quoted" \\ too`,
    `two\nlines; touch ${work}/PWNED`,
    '-n',
    '--help',
  ]

  it('reach the command as they are, one argument each, and never run as shell code, with or without --shell', async () => {
    const work = scratch()
    const items = hostile(work)
    const plain = await cli(['-0', '--', 'printf', '[%s]\\n', '{}'], { input: items.join('\0') })
    expect(plain.stdout).toBe(items.map((item) => `[${item}]\n`).join(''))
    const shell = await cli(['-0', '--shell', '--', "printf '[%s]\\n' {}"], { input: `${items.join('\0')}\0` })
    expect(shell.stdout).toBe(plain.stdout)
    const args = await cli(['--', 'printf', '[%s]\\n', ':::', ...items])
    expect(args.stdout).toBe(plain.stdout)
    expect([plain.code, shell.code, args.code]).toEqual([0, 0, 0])
    expect(existsSync(join(work, 'PWNED'))).toBe(false)
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

  it('stops a command that outlives --timeout; the item fails and the others go on', async () => {
    const results = join(scratch(), 'results.json')
    const { code, stderr } = await cli(['--timeout', '1', '--results', results, '--', 'sleep'], {
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

  it('stops the whole run at --total-timeout: running items fail, even while standard input stays open', async () => {
    const results = join(scratch(), 'results.ndjson')
    const stdin = new PassThrough()
    stdin.write(`0\n${long2}\n`)
    const { code, stderr } = await cli(['--total-timeout', '1.5', '--results', results, '--', 'sleep'], { stdin })
    expect(code).toBe(1)
    expect(stderr).toContain('--total-timeout of 1.5 s reached: 1 succeeded, 0 failed, 1 stopped while running')
    const records = readFileSync(results, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>)
    expect(records).toMatchObject([
      { item: '0', status: 'succeeded', exitCode: 0 },
      { item: long2, status: 'failed', exitCode: null, signal: 'SIGTERM', error: '--total-timeout of 1.5 s reached' },
    ])
    expect(processesMatching(`sleep ${long2}`)).toEqual([])
  })

  it('ends a --dry-run at --total-timeout while standard input stays open', async () => {
    const stdin = new PassThrough()
    stdin.write('a\n')
    const { code, stdout } = await cli(['--dry-run', '--total-timeout', '0.5', '--', 'echo'], { stdin })
    expect(stdout).toBe('echo a\n')
    expect(code).toBe(0)
  })

  it('tries a failing command up to --retries times in all', async () => {
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

  it('counts a command that cannot start as failed, and says why', async () => {
    const { code, stderr } = await cli(['--', 'no-such-command-here'], { input: 'a\n' })
    expect(stderr).toContain('no-such-command-here: not found')
    expect(code).toBe(1)
  })

  it.each([
    [['-a', '/no/such/file', '--', 'true'], 'cannot read -a /no/such/file: ENOENT'],
    [['-a', '/', '--', 'true'], 'cannot read -a /: it is a directory'],
    [['true', '::::', '/no/such/file'], 'cannot read :::: /no/such/file: ENOENT'],
    [['--results', '/no/such/dir/r.json', '--', 'true'], 'cannot write --results /no/such/dir/r.json: ENOENT'],
    [['--joblog', '/no/such/dir/log', '--', 'true'], 'cannot write --joblog /no/such/dir/log: ENOENT'],
    [['--joblog', '/', '--resume', '--', 'true'], 'cannot read --joblog /: EISDIR'],
  ])('is 255 when a file cannot be opened, with a one-line message, nothing run: %j', async (args, message) => {
    const marker = join(scratch(), 'ran')
    const { code, stdout, stderr } = await cli(args.flatMap((word) => (word === 'true' ? ['touch', marker] : [word])), { input: 'x\n' })
    expect(stderr).toContain(message)
    expect(stderr.trimEnd().split('\n')).toHaveLength(1)
    expect(stdout).toBe('')
    expect(code).toBe(255)
    expect(existsSync(marker)).toBe(false)
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


describe('input sources', () => {
  it('combines ::: groups as nested loops, the first one outside, {1} {2} naming each', async () => {
    const { code, stdout } = await cli(['echo', '{2}-{1}', '{}', ':::', 'a', 'b', ':::', '1', '2'])
    expect(stdout).toBe('1-a a 1\n2-a a 2\n1-b b 1\n2-b b 2\n')
    expect(code).toBe(0)
  })

  it('reads -a and :::: files, NUL-separated with -0, -a first', async () => {
    const work = scratch()
    writeFileSync(join(work, 'one'), 'x\ny\0z')
    writeFileSync(join(work, 'two'), 'p\0q\0')
    const { stdout } = await cli(['-0', '-a', join(work, 'one'), 'printf', '<%s|%s|%s>\\n', ':::', '1', '::::', join(work, 'two')])
    expect(stdout).toBe('<x\ny|1|p>\n<x\ny|1|q>\n<z|1|p>\n<z|1|q>\n')
  })

  it('numbers the jobs with {#} and gives each running command a slot {%} between 1 and -j', async () => {
    const { stdout } = await cli(['-j', '3', 'sh', '-c', 'echo "$1 $2"; sleep 0.05', 'sh', '{#}', '{%}', ':::', ...'abcdefgh'])
    const lines = stdout.trim().split('\n').map((line) => line.split(' ').map(Number))
    expect(lines.map(([seq]) => seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
    for (const [, slot] of lines) expect([1, 2, 3]).toContain(slot)
  })

  it('prints nothing and exits 0 for no items', async () => {
    expect(await cli(['echo'])).toEqual({ code: 0, stdout: '', stderr: '' })
    expect(await cli(['echo', ':::', 'a', ':::'])).toEqual({ code: 0, stdout: '', stderr: '' })
  })
})

describe('--tag and --line-buffer', () => {
  it('--tag starts each line of stdout and stderr with the item and a TAB', async () => {
    const { stdout, stderr } = await cli(['--tag', 'sh', '-c', 'echo out; echo err >&2', 'sh', ':::', 'a b', 'c'])
    expect(stdout).toBe('a b\tout\nc\tout\n')
    expect(stderr).toBe('a b\terr\nc\terr\n')
  })

  it('--line-buffer prints whole lines while the command still runs', async () => {
    const work = scratch()
    const chunks: Buffer[] = []
    const script = `echo "first $1"; printf 'half '; while [ ! -e ${work}/go ]; do sleep 0.02; done; echo "line $1"`
    const ran = cli(['--line-buffer', '--tag', 'sh', '-c', script, 'sh', '{}', ':::', 'a'], { stdoutChunks: chunks })
    await waitFor(() => Buffer.concat(chunks).toString() === 'a\tfirst a\n')
    writeFileSync(join(work, 'go'), '')
    expect((await ran).stdout).toBe('a\tfirst a\na\thalf line a\n')
  })
})

describe('--halt', () => {
  const long = `30.4${process.pid}`

  /** `fail` exits 3 once the `slow` items run; `slow…` run until stopped or told to end; others note that they ran. */
  function script(work: string): string {
    return [
      'case $1 in',
      `fail) while [ ! -e ${work}/started.slow1 ] || [ ! -e ${work}/started.slow2 ]; do sleep 0.02; done; touch ${work}/failed; exit 3;;`,
      `slow*) touch ${work}/started.$1; i=0; while [ ! -e ${work}/failed ]; do sleep 0.02; done; sleep 0.2; [ -e ${work}/end ] || exec sleep ${long}; echo $1 done;;`,
      `*) touch ${work}/ran.$1;;`,
      'esac',
    ].join('\n')
  }

  it('now,fail=1 stops the running commands, starts no more, and exits with the failing command\'s status', async () => {
    const work = scratch()
    const { code, stdout, stderr } = await cli(['-j', '3', '--halt', 'now,fail=1', 'sh', '-c', script(work), 'sh', ':::', 'fail', 'slow1', 'slow2', 'later'])
    expect(code).toBe(3)
    expect(stdout).toBe('')
    expect(stderr).toBe('foreach-parallel: --halt now,fail=1 reached (0 succeeded, 1 failed): stopping the running commands\n')
    expect(readdirSync(work).filter((name) => name.startsWith('ran.'))).toEqual([])
    expect(processesMatching(`sleep ${long}`)).toEqual([])
  })

  it('soon,fail=1 lets the running commands finish and starts no more', async () => {
    const work = scratch()
    writeFileSync(join(work, 'end'), '')
    const { code, stdout } = await cli(['-j', '3', '--halt', '1', 'sh', '-c', script(work), 'sh', ':::', 'fail', 'slow1', 'slow2', 'later'])
    expect(code).toBe(3)
    expect(stdout).toBe('slow1 done\nslow2 done\n')
    expect(readdirSync(work).filter((name) => name.startsWith('ran.'))).toEqual([])
  })

  it('now,success=1 exits 0 as soon as one succeeds; fail=N exits with the failures', async () => {
    expect((await cli(['-j', '1', '--halt', 'now,success=1', 'sh', '-c', 'exit $1', 'sh', ':::', '1', '0', '1'])).code).toBe(0)
    expect((await cli(['-j', '1', '--halt', 'soon,fail=2', 'sh', '-c', 'exit $1', 'sh', ':::', '0', '5', '0', '6', '7'])).code).toBe(2)
  })

  it('fail=N% is of all jobs, and its exit status the failed percentage', async () => {
    const args = ['-j', '1', '--halt', 'soon,fail=30%', 'sh', '-c', 'exit $1', 'sh', ':::', '0', '1', '1', '0', '1', '0', '0', '0', '0', '0']
    const { code, stderr } = await cli(args)
    expect(stderr).toContain('--halt soon,fail=30% reached (2 succeeded, 3 failed)')
    expect(code).toBe(30)
    expect((await cli(['-j', '1', '--halt', 'now,fail=50%', 'sh', '-c', 'exit $1', 'sh', ':::', '0', '1', '0', '0'])).code).toBe(25)
  })
})

describe('--joblog and --resume', () => {
  const fields = (log: string) => readFileSync(log, 'utf8').split('\n').filter(Boolean).map((line) => line.split('\t'))

  it('logs each job as GNU parallel does, and --resume, --resume-failed read it back', async () => {
    const work = scratch()
    const log = join(work, 'log')
    const command = ['sh', '-c', `echo $1 >> ${work}/ran; echo out; exit $1`, 'sh']
    const first = await cli(['--joblog', log, ...command, ':::', '0', '3', '0'])
    expect(first.code).toBe(1)
    const [header, ...rows] = fields(log)
    expect(header!.join('\t')).toBe(JOBLOG_HEADER.trimEnd())
    expect(rows.sort((a, b) => Number(a[0]) - Number(b[0])).map((row) => [row[0], row[1], row[4], row[5], row[6], row[7], row[8]])).toEqual(
      ['0', '3', '0'].map((status, i) => [String(i + 1), ':', '0', '4', status, '0', `sh -c 'echo $1 >> ${work}/ran; echo out; exit $1' sh ${status}`]),
    )
    for (const row of rows) {
      expect(row[2]).toMatch(/^\d{10}\.\d{3}$/)
      expect(row[3]).toMatch(/^ *\d+\.\d{3}$/)
      expect(row[3]).toHaveLength(10)
    }
    // --resume runs only the job the log does not have; --resume-failed also the one that failed.
    const resumed = await cli(['--joblog', log, '--resume', ...command, ':::', '0', '3', '0', '4'])
    expect(resumed.code).toBe(1)
    const again = await cli(['--joblog', log, '--resume-failed', ...command, ':::', '0', '3', '0', '4'])
    expect(again.code).toBe(2)
    expect(readFileSync(join(work, 'ran'), 'utf8').split('\n').filter(Boolean).sort()).toEqual(['0', '0', '3', '3', '4', '4'])
    expect(fields(log).filter((row) => row[0] === 'Seq')).toHaveLength(1)
    expect(fields(log).map((row) => row[0]).slice(1).sort()).toEqual(['1', '2', '2', '3', '4', '4'])
  })

  it('logs -1 and the signal for a command stopped by --timeout, and not the commands a stop cut short', async () => {
    const work = scratch()
    const log = join(work, 'log')
    const { code } = await cli(['--joblog', log, '--timeout', '0.2', 'sleep', ':::', '5'])
    expect(code).toBe(1)
    expect(fields(log)[1]!.slice(6, 8)).toEqual(['-1', '15'])
    const stop = new AbortController()
    const stdin = new PassThrough()
    stdin.write('5\n')
    const ran = cli(['--joblog', log, 'sleep'], { stdin, signal: stop.signal })
    await waitFor(() => processesMatching('sleep 5').length > 0)
    stop.abort(new Stopped('SIGINT'))
    expect((await ran).code).toBe(130)
    expect(fields(log)).toHaveLength(1)
  })
})

describe('--delay', () => {
  it('waits at least that long between two starts', async () => {
    const work = scratch()
    const log = join(work, 'log')
    await cli(['--delay', '0.3', '-j', '3', '--joblog', log, 'true', ':::', 'a', 'b', 'c'])
    // The joblog's Starttime is taken when the command is launched, after the wait: unlike a time
    // the command itself would print, it does not vary with how soon the program runs.
    const starts = readFileSync(log, 'utf8').trim().split('\n').slice(1).map((line) => Number(line.split('\t')[2]) * 1000)
    expect(starts).toHaveLength(3)
    starts.sort((a, b) => a - b)
    // Starttime has millisecond precision, and the wait is measured on another clock: 1 ms either way.
    for (let i = 1; i < starts.length; i++) expect(starts[i]! - starts[i - 1]!).toBeGreaterThanOrEqual(299)
  })
})
