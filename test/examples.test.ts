import { Writable } from 'node:stream'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { Progress } from '../src/index.js'
import { parseCsv, toCsv } from '../examples/csv.js'
import { progressView } from '../examples/progress.js'
import { startServer, type FleetServer } from '../examples/server.js'
import { crawl } from '../examples/urls.js'
import { expectHelp, expectUsageError, interrupt, leftIn, outcome, run } from './examples-helpers.js'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'foreach-parallel-examples-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('examples/server.ts', () => {
  let fleet: FleetServer
  afterEach(async () => {
    await fleet.close()
  })

  it('plans the same fleet for the same seed, with the requested mix', async () => {
    fleet = await startServer({ count: 40, slow: 3, errors: 2, hanging: 1 })
    const other = await startServer({ count: 40, slow: 3, errors: 2, hanging: 1 })
    await other.close()
    const behaviours = fleet.hosts.map((host) => host.behaviour)
    expect(behaviours).toEqual(other.hosts.map((host) => host.behaviour))
    expect(behaviours.filter((b) => b === 'slow')).toHaveLength(3)
    expect(behaviours.filter((b) => b === 'error')).toHaveLength(2)
    expect(behaviours.filter((b) => b === 'hang')).toHaveLength(1)
    for (const host of fleet.hosts.filter((h) => h.behaviour === 'fast')) {
      expect(host.latency).toBeGreaterThanOrEqual(20)
      expect(host.latency).toBeLessThanOrEqual(300)
    }
  })

  it('answers 200 with JSON, 500 for a broken host and 404 for an unknown path', async () => {
    fleet = await startServer({ count: 20, errors: 1, hanging: 0, slow: 0, timeScale: 0.01 })
    const ok = fleet.hosts.find((host) => host.behaviour === 'fast')!
    const broken = fleet.hosts.find((host) => host.behaviour === 'error')!
    const response = await fetch(ok.url)
    expect(response.status).toBe(200)
    expect(await response.json()).toMatchObject({ server: ok.name, version: '10.0.20348' })
    expect((await fetch(broken.url)).status).toBe(500)
    expect((await fetch(`${fleet.origin}/nowhere`)).status).toBe(404)
  })

  it('lets go of a hanging request when the client aborts it', async () => {
    fleet = await startServer({ count: 1, hanging: 1 })
    const controller = new AbortController()
    const request = fetch(fleet.hosts[0]!.url, { signal: controller.signal })
    await vi.waitFor(() => expect(fleet.stats.received).toBe(1))
    controller.abort()
    await expect(request).rejects.toThrow()
    await vi.waitFor(() => expect(fleet.stats.dropped).toBe(1))
  })

  it('ends hanging requests when it closes', async () => {
    fleet = await startServer({ count: 1, hanging: 1 })
    const request = fetch(fleet.hosts[0]!.url)
    await vi.waitFor(() => expect(fleet.stats.received).toBe(1))
    await fleet.close()
    await expect(request).rejects.toThrow()
    await vi.waitFor(() => expect(fleet.stats.dropped).toBe(1))
  })

  it('with a capacity, serves that many requests at once and queues the rest in arrival order', async () => {
    fleet = await startServer({ count: 25, slow: 1, errors: 0, hanging: 0, timeScale: 0.5, capacity: 1 })
    const slow = fleet.hosts.find((host) => host.behaviour === 'slow')!
    const fast = fleet.hosts.reduce((a, b) => (b.latency < a.latency ? b : a))
    const finished: string[] = []
    const first = fetch(slow.url).then(async (response) => finished.push((await response.json()).server))
    await vi.waitFor(() => expect(fleet.stats.received).toBe(1))
    const second = fetch(fast.url).then(async (response) => finished.push((await response.json()).server))
    await Promise.all([first, second])
    // Without the capacity the fast host would answer first.
    expect(finished).toEqual([slow.name, fast.name])
  })

  it('with a capacity, forgets a queued request whose client gave up', async () => {
    fleet = await startServer({ count: 2, hanging: 1, slow: 0, errors: 0, timeScale: 0.01, capacity: 1 })
    const hang = fleet.hosts.find((host) => host.behaviour === 'hang')!
    const fast = fleet.hosts.find((host) => host.behaviour === 'fast')!
    const holder = new AbortController()
    const holding = fetch(hang.url, { signal: holder.signal })
    await vi.waitFor(() => expect(fleet.stats.received).toBe(1))
    const quitter = new AbortController()
    const queued = fetch(hang.url, { signal: quitter.signal })
    await vi.waitFor(() => expect(fleet.stats.received).toBe(2))
    quitter.abort()
    await expect(queued).rejects.toThrow()
    await vi.waitFor(() => expect(fleet.stats.dropped).toBe(1))
    holder.abort()
    await expect(holding).rejects.toThrow()
    await vi.waitFor(() => expect(fleet.stats.dropped).toBe(2))
    // The slot is free and nobody waits: a new request is served.
    expect((await fetch(fast.url)).status).toBe(200)
    expect(fleet.stats).toEqual({ received: 3, answered: 1, dropped: 2 })
  })
})

describe('examples/csv.ts', () => {
  it('round-trips commas, quotes and line breaks', () => {
    const rows = [
      { Name: 'Smith, Jane', ID: '1', Note: 'said "hi"' },
      { Name: 'Line\nbreak', ID: '2', Note: '' },
    ]
    const text = toCsv(rows)
    expect(text.split('\n')[0]).toBe('Name,ID,Note')
    expect(parseCsv(text)).toEqual(rows)
    expect(parseCsv('a,b\r\n1,2\r\n')).toEqual([{ a: '1', b: '2' }])
  })
})

describe('examples/progress.ts', () => {
  const snapshot = (done: number, total: number): Progress => ({
    started: total,
    running: total - done,
    succeeded: done,
    failed: 0,
    done,
    limit: 5,
    total,
    percent: (100 * done) / total,
    elapsedMs: 1000,
    perSecond: done,
  })

  function stream(isTTY: boolean): NodeJS.WriteStream & { text: () => string } {
    const chunks: string[] = []
    const writable = new Writable({
      write(chunk, _encoding, callback) {
        chunks.push(String(chunk))
        callback()
      },
    })
    return Object.assign(writable, { isTTY, columns: 160, text: () => chunks.join('') }) as never
  }

  it('prints a plain line at every quarter when the stream is not a terminal', () => {
    const out = stream(false)
    const view = progressView('job', 8, out)
    for (let done = 1; done <= 8; done++) view.update(snapshot(done, 8))
    view.update(snapshot(8, 8))
    view.stop()
    expect(out.text().split('\n').filter(Boolean)).toEqual([
      'job: 2/8 done (2 ok, 0 failed, 6 running, 2.0/s)',
      'job: 4/8 done (4 ok, 0 failed, 4 running, 4.0/s)',
      'job: 6/8 done (6 ok, 0 failed, 2 running, 6.0/s)',
      'job: 8/8 done (8 ok, 0 failed, 0 running, 8.0/s)',
    ])
  })

  it('prints the last snapshot on stop when it was not printed', () => {
    const out = stream(false)
    const view = progressView('job', 8, out)
    view.update(snapshot(3, 8))
    view.stop()
    expect(out.text()).toBe('job: 3/8 done (3 ok, 0 failed, 5 running, 3.0/s)\n')
  })

  it("draws the command's progress bar on a terminal", () => {
    const out = stream(true)
    const view = progressView('job', 4, out)
    view.update(snapshot(2, 4))
    view.stop()
    expect(out.text()).toMatch(/job +\| \S+ 50% 2\/4 \| 0 failed \| 2 running \| 2\.0\/s/)
  })
})

describe('examples/demo.ts', () => {
  it('compares both passes, writes one CSV row per server, shows progress and exits', async () => {
    const { stdout, stderr } = await run('demo', '--servers', '30', '--time-scale', '0.2', '--out', dir)
    expect(stdout).toMatch(/Sequential \(concurrency 1\): +\d+\.\d+ s/)
    expect(stdout).toMatch(/Parallel \(concurrency 10\): +\d+\.\d+ s/)
    expect(stdout).toMatch(/Speed-up: \d+\.\d+x/)
    // Step 3: fixed limits, then 'auto' with the limit it ran under.
    for (const limit of ['2', '8', '32']) expect(stdout).toMatch(new RegExp(`concurrency: ${limit} +\\d+ requests/s +median +\\d+ ms`))
    expect(stdout).toMatch(/concurrency: 'auto' \(~\d+\) +\d+ requests\/s +median +\d+ ms/)
    expect(stdout).toMatch(/'auto' ran ~\d+ at a time/)
    // stderr is a pipe here, so the progress comes as plain lines, the last one complete.
    expect(stderr).toContain('sequential: 30/30 done')
    expect(stderr).toContain('health: 30/30 done')

    const [report] = await readdir(dir)
    expect(report).toMatch(/^server-health-\d{8}-\d{6}\.csv$/)
    expect(stdout).toContain(join(dir, report!))
    const rows = parseCsv(await readFile(join(dir, report!), 'utf8'))
    expect(rows).toHaveLength(30)
    expect(Object.keys(rows[0]!)).toEqual(['name', 'status', 'error', 'duration', 'timestamp'])
    expect(rows.map((row) => row.name)).toEqual(Array.from({ length: 30 }, (_, i) => `server-${String(i + 1).padStart(3, '0')}`))
    for (const row of rows) {
      expect(['Success', 'Failed', 'TimedOut', 'Unreachable']).toContain(row.status)
      expect(Number.isNaN(Date.parse(row.timestamp!))).toBe(false)
      expect(row.error === '').toBe(row.status === 'Success')
    }
    // The fleet is planned from a fixed seed: its broken and hanging hosts are known.
    const fleet = await startServer({ count: 30 })
    await fleet.close()
    for (const host of fleet.hosts) {
      const row = rows.find((r) => r.name === host.name)!
      if (host.behaviour === 'error') expect(row).toMatchObject({ status: 'Failed', error: 'HTTP 500 Internal Server Error' })
      if (host.behaviour === 'hang') expect(row.status).toBe('TimedOut')
    }
  })
  it('answers --help with the usage, and a bad argument with the problem and the usage', async () => {
    const [help, servers, scale, unknown] = await Promise.all([
      outcome(tmpdir(), 'demo', '--help'),
      outcome(tmpdir(), 'demo', '--servers', '0'),
      outcome(tmpdir(), 'demo', '--time-scale', 'fast'),
      outcome(tmpdir(), 'demo', '--server', '30'),
    ])
    expectHelp(help, 'Usage: node --import tsx examples/demo.ts [--servers N] [--time-scale X] [--out DIR]')
    expectUsageError(servers, 'demo', /^Option '--servers' expects a whole number >= 1, got '0'$/)
    expectUsageError(scale, 'demo', /^Option '--time-scale' expects a number > 0, got 'fast'$/)
    expectUsageError(unknown, 'demo', /^Unknown option '--server'$/)
  })

  it('says at once, in one line, that it cannot make the report folder', async () => {
    const file = join(dir, 'file')
    await writeFile(file, '')
    const result = await outcome(tmpdir(), 'demo', '--out', join(file, 'reports'))
    expect(result).toEqual({ code: 1, stdout: '', stderr: `demo: ENOTDIR: not a directory, mkdir '${join(file, 'reports')}'\n` })
  })

  it('stops on Ctrl+C: the requests in flight are aborted, the fleet closes and the process exits', async () => {
    const stopped = await interrupt(tmpdir(), 'Performance comparison', 'demo', ['--out', dir])
    expect(stopped.code).toBe(130)
    expect(stopped.stderr).toMatch(/(^|\n)demo: interrupted\n$/)
    expect(stopped.stdout).not.toContain('Sequential')
  })
})

describe('examples/files.ts', () => {
  it('writes the Active rows of every file to NAME_processed.csv and reports the broken file', async () => {
    const { stdout } = await run('files', '--dir', dir, '--files', '3')
    const names = (await readdir(dir)).sort()
    expect(names).toEqual([
      'data-01.csv',
      'data-01_processed.csv',
      'data-02.csv',
      'data-02_processed.csv',
      'data-03.csv',
      'data-03_processed.csv',
      'data-broken.csv',
    ])
    let total = 0
    for (const name of ['data-01', 'data-02', 'data-03']) {
      const input = parseCsv(await readFile(join(dir, `${name}.csv`), 'utf8'))
      const output = parseCsv(await readFile(join(dir, `${name}_processed.csv`), 'utf8'))
      const active = input.filter((row) => row.Status === 'Active')
      expect(active.length).toBeGreaterThan(0)
      expect(output.map((row) => [row.Name, row.ID])).toEqual(active.map((row) => [row.Name, row.ID]))
      expect(stdout).toMatch(new RegExp(`${name}\\.csv +Success +${active.length} +${name}_processed\\.csv`))
      total += active.length
    }
    expect(stdout).toMatch(/data-broken\.csv +Failed +no Status column/)
    expect(stdout).toContain(`${total} active records from 3 files (1 failed)`)
  })

  it('works in a temporary folder by default and removes it at the end', async () => {
    const { code, stdout } = await outcome(dir, 'files', '--files', '2')
    expect(code).toBe(0)
    expect(stdout).toMatch(/data-02\.csv +Success +\d+ +data-02_processed\.csv/)
    expect(stdout).toContain(`from 2 files (1 failed), written next to them in ${join(dir, 'foreach-parallel-files-')}`)
    expect(stdout).toContain('a temporary folder removed now (use --dir to keep them)')
    expect(await leftIn(dir)).toEqual([])
  })

  it('answers --help with the usage, and a bad argument with the problem and the usage', async () => {
    const [help, notNumber, unknown] = await Promise.all([
      outcome(tmpdir(), 'files', '--help'),
      outcome(tmpdir(), 'files', '--files', 'x'),
      outcome(tmpdir(), 'files', '--folder', dir),
    ])
    expectHelp(help, 'Usage: node --import tsx examples/files.ts [--dir DIR] [--files N]')
    expectUsageError(notNumber, 'files', /^Option '--files' expects a whole number >= 1, got 'x'$/)
    expectUsageError(unknown, 'files', /^Unknown option '--folder'$/)
  })
})

describe('examples/distributed.ts on the command line', () => {
  it('answers --help with the usage, and a bad argument with the problem and the usage, without Redis', async () => {
    const [help, photos, serve] = await Promise.all([
      outcome(tmpdir(), 'distributed', '--help'),
      outcome(tmpdir(), 'distributed', '--photos', '0'),
      outcome(tmpdir(), 'distributed', '--serve'),
    ])
    expectHelp(help, 'Usage: node --import tsx examples/distributed.ts [--photos N] [--queue QUEUE] [--serve NAME]')
    expectUsageError(photos, 'distributed', /^Option '--photos' expects a whole number >= 1, got '0'$/)
    expectUsageError(serve, 'distributed', /^Option '--serve <value>' argument missing$/)
  })
})

describe('examples/settled-report.ts', () => {
  it('groups the records, retries the retryable failures and summarises', async () => {
    const { stdout } = await run('settled-report')
    expect(stdout).toContain('8 succeeded, 4 failed:')
    expect(stdout).toContain('  Error: Server03, Server08')
    expect(stdout).toContain('  AccessDeniedError: Server05')
    expect(stdout).toContain('  TimeoutError: Server10')
    expect(stdout).toContain('Retrying Server03, Server08, Server10')
    expect(stdout).toMatch(/Server08 +Success +2 /)
    expect(stdout).toMatch(/Server10 +TimedOut +3 /)
    expect(stdout).toContain('Still failing: Server05, Server10')
  })

  it('answers --help with the usage, and an argument with the problem and the usage', async () => {
    const [help, extra] = await Promise.all([outcome(tmpdir(), 'settled-report', '-h'), outcome(tmpdir(), 'settled-report', 'now')])
    expectHelp(help, 'Usage: node --import tsx examples/settled-report.ts')
    expectUsageError(extra, 'settled-report', /^Unexpected argument 'now'$/)
  })
})

describe('examples/urls.ts', () => {
  let fleet: FleetServer
  afterEach(async () => {
    await fleet.close()
  })

  it('crawls every URL of the file, skipping blanks and comments, and reports failures per URL', async () => {
    fleet = await startServer({ count: 4, errors: 1, slow: 0, hanging: 0, timeScale: 0.1 })
    const closed = await startServer({ count: 1 })
    await closed.close()
    const file = join(dir, 'urls.txt')
    await writeFile(file, ['# fleet', ...fleet.hosts.map((h) => h.url), '', closed.hosts[0]!.url].join('\n'))
    const { stdout } = await run('urls', file)
    const lines = stdout.trim().split('\n')
    expect(lines).toHaveLength(5)
    for (const host of fleet.hosts) {
      const status = host.behaviour === 'error' ? '500' : '200'
      expect(lines.find((line) => line.includes(host.url))).toMatch(new RegExp(`^${status} `))
    }
    expect(lines.find((line) => line.includes(closed.hosts[0]!.url))).toMatch(/^TypeError .*fetch failed/)
  })

  it('starts no more than 10 requests per second', async () => {
    fleet = await startServer({ count: 12, errors: 0, slow: 0, hanging: 0, timeScale: 0.01 })
    const file = join(dir, 'urls.txt')
    await writeFile(file, fleet.hosts.map((h) => h.url).join('\n'))
    const started = performance.now()
    const records = await crawl(file, 10_000, () => {})
    expect(records.map((r) => r.status)).toEqual(Array(12).fill('fulfilled'))
    // A lower bound only, which a slow machine cannot break: the 11th request waits for the first
    // one's window to pass (less a millisecond for timer rounding).
    expect(performance.now() - started).toBeGreaterThanOrEqual(999)
  })

  it('stops at the deadline, aborting the requests in flight', async () => {
    fleet = await startServer({ count: 8, hanging: 8 })
    const file = join(dir, 'urls.txt')
    await writeFile(file, fleet.hosts.map((h) => h.url).join('\n'))
    const lines: string[] = []
    const records = await crawl(file, 200, (line) => lines.push(line))
    expect(records).toEqual([])
    expect(lines).toEqual([expect.stringMatching(/^Deadline of 200 ms reached/)])
    // Five ran at once, all five were dropped by the client, and no further request was started.
    await vi.waitFor(() => expect(fleet.stats.dropped).toBe(5))
    expect(fleet.stats.received).toBe(5)
  })
})

describe('examples/urls.ts on the command line', () => {
  it('says which file it cannot read, without a stack trace, and answers a bad argument with the usage', async () => {
    const missing = join(dir, 'missing.txt')
    const [unreadable, extra] = await Promise.all([outcome(tmpdir(), 'urls', missing), outcome(tmpdir(), 'urls', 'a.txt', 'b.txt')])
    expect(unreadable).toEqual({ code: 1, stdout: '', stderr: `urls: ENOENT: no such file or directory, open '${missing}'\n` })
    expectUsageError(extra, 'urls', /^Unexpected argument 'b\.txt'$/)
  })

  it('removes its temporary list of URLs when Ctrl+C stops the crawl', async () => {
    // The list is written before 'Crawling'; the crawl then takes over a second (10 URLs a second).
    const stopped = await interrupt(dir, 'Crawling', 'urls', [], async () => {
      expect(await leftIn(dir)).toEqual([expect.stringMatching(/^foreach-parallel-urls-/)])
    })
    expect(stopped).toMatchObject({ code: 130, stderr: 'urls: interrupted\n' })
    expect(await leftIn(dir)).toEqual([])
  })
})
