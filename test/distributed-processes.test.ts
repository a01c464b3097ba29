import { execFile, fork, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { distributedMap } from '../src/distributed/index.js'
import { collect } from '../src/index.js'
import { leftovers, redisUp, useQueues } from './fixtures/distributed-redis.js'
import { range } from './helpers.js'

const fixture = fileURLToPath(new URL('fixtures/distributed-server.ts', import.meta.url))

interface Message {
  readonly ready?: true
  readonly started?: number
}

describe.skipIf(!redisUp)('distributed runs across processes', () => {
  const { queue, serve } = useQueues()
  const children: ChildProcess[] = []
  afterEach(async () => {
    await Promise.all(
      children.splice(0).map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return
        const exited = once(child, 'exit')
        child.kill('SIGTERM')
        await exited
      }),
    )
  })

  /** A serveQueue process on `queue`, once it has started serving. */
  async function startServer(q: string): Promise<ChildProcess> {
    const child = fork(fixture, [q], { execArgv: ['--import', 'tsx'] })
    children.push(child)
    const [message] = (await once(child, 'message')) as [Message]
    expect(message).toEqual({ ready: true })
    return child
  }

  /** The first of `servers` to start a job, and that job's index. */
  function firstStarted(...servers: ChildProcess[]): Promise<{ server: ChildProcess; index: number }> {
    return new Promise((resolve) => {
      for (const server of servers) {
        server.on('message', (message: Message) => {
          if (message.started !== undefined) resolve({ server, index: message.started })
        })
      }
    })
  }

  async function kill(child: ChildProcess): Promise<void> {
    const exited = once(child, 'exit')
    child.kill('SIGKILL')
    await exited
  }

  it('three servers, one killed with SIGKILL mid-job: every item is yielded once, in order', { timeout: 60_000 }, async () => {
    const q = queue('kill')
    const servers = await Promise.all([startServer(q), startServer(q), startServer(q)])
    const started = firstStarted(...servers)
    const run = collect(distributedMap<number, { index: number; pid: number }>(q, { concurrency: 6 })(range(12).map(() => 200)))
    // The first server to start a job dies with it.
    const { server: victim, index: lost } = await started
    await kill(victim)
    const results = await run
    expect(results.map((result) => result.index)).toEqual(range(12))
    // The job that died with the victim ran again on a survivor.
    const survivors = servers.filter((server) => server !== victim).map((server) => server.pid)
    expect(survivors).toContain(results[lost]!.pid)
    expect(results.every((result) => result.pid !== victim.pid)).toBe(true)
  })

  it('discards the job of a dead server when its lock expires after its run has ended', { timeout: 60_000 }, async () => {
    const q = queue('discard')
    const victim = await startServer(q)
    const started = firstStarted(victim)
    const iterator = distributedMap(q, { closeTimeout: 100 })([60_000])
    const pending = iterator.next()
    await started
    await kill(victim)
    await iterator.return!()
    await expect(pending).resolves.toEqual({ done: true, value: undefined })
    // A live server finds the stalled job once its lock has expired, and drops it unrun.
    const calls: unknown[] = []
    serve(q, (item: unknown) => calls.push(item), { lockDuration: 2_000, stalledInterval: 500 })
    await vi.waitFor(async () => expect(await leftovers(q)).toEqual([]), { timeout: 15_000, interval: 200 })
    expect(calls).toEqual([])
  })

  it('examples/distributed.ts: a driver and the two worker processes it starts', { timeout: 60_000 }, async () => {
    const q = queue('example')
    const example = fileURLToPath(new URL('../examples/distributed.ts', import.meta.url))
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', example, '--photos', '5', '--queue', q],
      { timeout: 50_000 },
    )
    const lines = stdout.trimEnd().split('\n')
    expect(lines[0]).toBe(`Making 5 thumbnails on queue ${q} with 2 worker processes`)
    expect(lines.slice(1, -1)).toEqual(range(5).map((i) => expect.stringMatching(new RegExp(`^photo-0${i + 1}\\.jpg  [0-9a-f]{12}  worker-[12]$`))))
    expect(lines.at(-1)).toMatch(/^5 thumbnails in \d+ ms$/)
  })
})
