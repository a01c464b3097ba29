import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterEach, describe, expect, it } from 'vitest'
import { startJobsServer, type JobsServer } from '../examples/jobs.js'

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
  return { status: response.status, json: await response.json() }
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
    const { json } = await call('POST', '/jobs', { items: 1, workMs: 0 })
    expect((await call('GET', `/jobs/${json.id}/wait?timeout=-1`)).status).toBe(400)
    expect((await call('GET', `/jobs/${json.id}/other`)).status).toBe(404)
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
    expect(stdout).toMatch(/^jobs API on http:\/\/127\.0\.0\.1:\d+/)
    expect(stdout).toContain('POST /jobs → 201')
    expect(stdout).toMatch(/POST \/jobs\/\d+\/stop → 200\n.*"state":"Stopped"/)
    expect(stdout).toContain('"error":"item 2 failed"')
  })
})
