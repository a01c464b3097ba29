import { execFile } from 'node:child_process'
import { tmpdir } from 'node:os'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterEach, describe, expect, it } from 'vitest'
import { startJobsServer, type JobsServer } from '../examples/jobs.js'
import { expectHelp, expectUsageError, outcome } from './examples-helpers.js'

let server: JobsServer | undefined

afterEach(async () => {
  await server?.close()
  server = undefined
})

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const response = await fetch(server!.url + path, {
    method,
    headers: body === undefined ? undefined : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  })
  return { status: response.status, json: response.status === 204 ? undefined : await response.json() }
}

/** The names and states of the jobs that GET /jobs lists for `query`. */
async function listed(query = ''): Promise<string[]> {
  const { json } = await call('GET', `/jobs${query}`)
  return json.map((job: { name: string; state: string }) => `${job.name}:${job.state}`)
}

describe('examples/jobs.ts', () => {
  it('serves on 127.0.0.1 on a free port', async () => {
    server = await startJobsServer()
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(Number(new URL(server.url).port)).toBeGreaterThan(0)
  })

  it('starts a job, reports its status, waits for it and hands out its results once', async () => {
    server = await startJobsServer()
    const created = await call('POST', '/jobs', { items: 6, concurrency: 3, workMs: 1 })
    expect(created.status).toBe(201)
    expect(created.json).toMatchObject({ name: `Job${created.json.id}`, state: 'Running' })
    const id = created.json.id as number

    const waited = await call('GET', `/jobs/${id}/wait?timeout=30000`)
    expect(waited.json.finished).toBe(true)
    expect(waited.json.status).toMatchObject({ state: 'Completed', hasMoreData: true })
    expect(waited.json.status.progress).toMatchObject({ done: 6, succeeded: 6, total: 6, percent: 100 })

    const status = await call('GET', `/jobs/${id}`)
    expect(status.json.state).toBe('Completed')
    expect(typeof status.json.finishedAt).toBe('string')

    const kept = await call('GET', `/jobs/${id}/results?keep=true`)
    expect(kept.json.results).toHaveLength(6)
    const results = await call('GET', `/jobs/${id}/results`)
    expect(results.json.results).toEqual([0, 1, 2, 3, 4, 5].map((item) => ({ item, square: item * item })))
    expect((await call('GET', `/jobs/${id}/results`)).json).toEqual({
      state: 'Completed',
      hasMoreData: false,
      results: [],
    })

    const list = await call('GET', '/jobs')
    expect(list.json.map((job: { id: number }) => job.id)).toEqual([id])
  })

  it('stops a running job once its in-flight work has settled; earlier results stay', async () => {
    server = await startJobsServer()
    const { json } = await call('POST', '/jobs', { items: 10_000, concurrency: 4, workMs: 60_000 })
    const timedOut = await call('GET', `/jobs/${json.id}/wait?timeout=0`)
    expect(timedOut.json).toMatchObject({ finished: false, status: { state: 'Running' } })
    const stopped = await call('POST', `/jobs/${json.id}/stop`)
    expect(stopped.status).toBe(200)
    expect(stopped.json.state).toBe('Stopped')
    expect(stopped.json.progress.running).toBe(0)
    const results = await call('GET', `/jobs/${json.id}/results`)
    expect(results.json).toEqual({ state: 'Stopped', hasMoreData: false, results: [] })
  })

  it('shows a failed job with its error', async () => {
    server = await startJobsServer()
    const { json } = await call('POST', '/jobs', { items: 4, concurrency: 1, workMs: 0, failAt: 2 })
    const waited = await call('GET', `/jobs/${json.id}/wait`)
    expect(waited.json.status).toMatchObject({ state: 'Failed', error: 'item 2 failed', hasMoreData: true })
    expect((await call('GET', `/jobs/${json.id}/results`)).json.results).toEqual([
      { item: 0, square: 0 },
      { item: 1, square: 1 },
    ])
  })

  it('answers bad requests with 400, unknown jobs and routes with 404, wrong methods with 405', async () => {
    server = await startJobsServer()
    expect(await call('POST', '/jobs', { concurrency: 0 })).toEqual({
      status: 400,
      json: { error: 'concurrency must be an integer from 1 to 1000, got 0' },
    })
    expect((await call('POST', '/jobs', 'not json')).status).toBe(400)
    expect((await call('POST', '/jobs', [1])).status).toBe(400)
    expect((await call('GET', '/jobs/999999')).status).toBe(404)
    expect((await call('GET', '/nothing')).status).toBe(404)
    expect((await call('DELETE', '/jobs')).status).toBe(405)
    expect((await call('POST', '/wait')).status).toBe(405)
    expect((await call('GET', '/jobs/1/2/3')).status).toBe(404)
    const { json } = await call('POST', '/jobs', { items: 1, workMs: 0 })
    expect((await call('GET', `/jobs/${json.id}/wait?timeout=-1`)).status).toBe(400)
    expect((await call('GET', `/jobs/${json.id}/other`)).status).toBe(404)
  })

  it("shows the running items' percent, from their per-item reports", async () => {
    server = await startJobsServer()
    const { json } = await call('POST', '/jobs', { items: 10, concurrency: 3, workMs: 60_000 })
    const status = await call('GET', `/jobs/${json.id}`)
    expect(status.json.running).toEqual([0, 1, 2].map((item) => ({ item, percent: 0 })))
    const stopped = await call('POST', `/jobs/${json.id}/stop`)
    expect(stopped.json.running).toEqual([])
  })

  it('runs at most throttleLimit jobs; the others wait as NotStarted and start in order', async () => {
    server = await startJobsServer({ throttleLimit: 1 })
    const forever = { items: 10, concurrency: 1, workMs: 60_000 }
    const first = await call('POST', '/jobs', { ...forever, name: 'a' })
    const second = await call('POST', '/jobs', { ...forever, name: 'b' })
    await call('POST', '/jobs', { ...forever, name: 'c' })
    expect(first.json.state).toBe('Running')
    expect(second.json.state).toBe('NotStarted')
    expect(second.json.startedAt).toBeUndefined()
    expect(await listed()).toEqual(['a:Running', 'b:NotStarted', 'c:NotStarted'])
    expect(await listed('?state=NotStarted')).toEqual(['b:NotStarted', 'c:NotStarted'])
    await call('POST', `/jobs/${first.json.id}/stop`)
    expect(await listed()).toEqual(['a:Stopped', 'b:Running', 'c:NotStarted'])
  })

  it('lists by name with wildcards, and answers a bad state with the library message', async () => {
    server = await startJobsServer()
    for (const name of ['web-1', 'db-1', 'web-2']) await call('POST', '/jobs', { name, items: 0 })
    expect((await listed('?name=web-*')).map((entry) => entry.split(':')[0])).toEqual(['web-1', 'web-2'])
    expect((await listed('?name=*-1')).map((entry) => entry.split(':')[0])).toEqual(['web-1', 'db-1'])
    const bad = await call('GET', '/jobs?state=Done')
    expect(bad.status).toBe(400)
    expect(bad.json.error).toMatch(/^Expected state to be one of 'NotStarted', 'Running'/)
  })

  it('removes a finished job, refuses a running one with 409, and removes it with force', async () => {
    server = await startJobsServer()
    const done = await call('POST', '/jobs', { items: 2, workMs: 0 })
    const busy = await call('POST', '/jobs', { items: 10, workMs: 60_000 })
    await call('GET', `/jobs/${done.json.id}/wait`)
    expect((await call('DELETE', `/jobs/${done.json.id}`)).status).toBe(204)
    expect((await call('GET', `/jobs/${done.json.id}`)).status).toBe(404)
    expect(await call('DELETE', `/jobs/${busy.json.id}`)).toEqual({
      status: 409,
      json: { error: `Job ${busy.json.id} (Job${busy.json.id}) is Running: stop it first, or remove it with force: true` },
    })
    expect((await call('DELETE', `/jobs/${busy.json.id}?force=true`)).status).toBe(204)
    expect(await listed()).toEqual([])
  })

  it('collects finished jobs as Invoke-Queue does: results received, jobs removed, running ones left', async () => {
    server = await startJobsServer({ throttleLimit: 2 })
    const quick = await call('POST', '/jobs', { name: 'quick', items: 3, workMs: 0 })
    const failing = await call('POST', '/jobs', { name: 'failing', items: 3, concurrency: 1, workMs: 0, failAt: 1 })
    await call('POST', '/jobs', { name: 'slow', items: 3, workMs: 60_000 })
    expect((await call('GET', '/wait?timeout=0')).json.finished).toBe(false)
    await call('GET', `/jobs/${quick.json.id}/wait`)
    await call('GET', `/jobs/${failing.json.id}/wait`)
    const waited = await call('GET', '/wait?any=true&timeout=30000')
    expect(waited.json.finished).toBe(true)
    const collected = await call('POST', '/collect')
    expect(collected.json.map((entry: any) => [entry.status.name, entry.status.state, entry.results.length])).toEqual([
      ['quick', 'Completed', 3],
      ['failing', 'Failed', 1],
    ])
    expect(collected.json[1].status.error).toBe('item 1 failed')
    expect(await listed()).toEqual(['slow:Running'])
    expect((await call('POST', '/collect')).json).toEqual([])
    expect((await call('GET', '/wait?timeout=-1')).status).toBe(400)
  })

  it('close() stops the jobs and the server', async () => {
    server = await startJobsServer()
    const { url } = server
    const { json } = await call('POST', '/jobs', { items: 100, concurrency: 2, workMs: 60_000 })
    await call('GET', `/jobs/${json.id}`)
    await server.close()
    server = undefined
    await expect(fetch(`${url}/jobs`)).rejects.toThrow()
  })

  it('run directly, demonstrates itself and exits 0', async () => {
    const example = fileURLToPath(new URL('../examples/jobs.ts', import.meta.url))
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', example])
    expect(stdout).toMatch(/^jobs API on http:\/\/127\.0\.0\.1:\d+, throttle limit 2\n/)
    expect(stdout).toContain('POST /jobs → 201')
    expect(stdout).toMatch(/GET \/jobs → 200\n {2}batch-1:\w+ batch-2:\w+ batch-3:\w+ batch-4:\w+ endless:\w+\n/)
    for (const line of [
      '  collected batch-1 Completed, 6 results',
      '  collected batch-2 Completed, 6 results',
      '  collected batch-3 Failed, failed: item 2 failed',
      '  collected batch-4 Completed, 6 results',
      '  endless:Running',
      'DELETE /jobs/',
      'is Running: stop it first, or remove it with force: true',
      '  left: 0 jobs',
    ]) {
      expect(stdout).toContain(line)
    }
  })

  it('answers --help with the usage, and an argument with the problem and the usage', async () => {
    const [help, extra] = await Promise.all([outcome(tmpdir(), 'jobs', '--help'), outcome(tmpdir(), 'jobs', 'now')])
    expectHelp(help, 'Usage: node --import tsx examples/jobs.ts')
    expectUsageError(extra, 'jobs', /^Unexpected argument 'now'$/)
  })
})
