/**
 * Jobs behind a tiny HTTP API: every POST /jobs starts a `parallelMap` over simulated work items
 * as a background job, and the other routes are Get-Job, Wait-Job, Receive-Job and Stop-Job.
 *
 *   POST /jobs                 body { items?, concurrency?, workMs?, failAt? } → 201, the job's status
 *   GET  /jobs                 every job's status
 *   GET  /jobs/:id             status: state, progress, hasMoreData, error
 *   GET  /jobs/:id/wait?timeout=ms   waits (at most `timeout` ms) for the end → { finished, status }
 *   GET  /jobs/:id/results[?keep=true]   the results since the last call (receive)
 *   POST /jobs/:id/stop        stops the job, answers once its work has settled
 *
 * Run it with `node --import tsx examples/jobs.ts`: it serves on 127.0.0.1 on a free port, makes a
 * few requests to itself, prints them and exits. Tests import `startJobsServer` instead.
 */
import { delay } from 'abort-controller-x'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { pathToFileURL } from 'node:url'
import { parallelMap, startJob, type Job, type TaskContext } from '../src/index.js'

/** What POST /jobs accepts. */
export interface WorkRequest {
  /** How many work items, 0 to 100 000. Default 20. */
  readonly items?: number
  /** `parallelMap`'s concurrency. Default 4. */
  readonly concurrency?: number
  /** How long each item works, in ms (0 to 60 000). Default 20. */
  readonly workMs?: number
  /** The item (from 0) that fails, to show a Failed job. Default: none. */
  readonly failAt?: number
}

/** One work item's result. */
export interface WorkResult {
  readonly item: number
  readonly square: number
}

/** A running server: its base URL (`http://127.0.0.1:PORT`) and how to shut it down. */
export interface JobsServer {
  readonly url: string
  /** Stops every job, closes the connections and the server. */
  close(): Promise<void>
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

function intField(body: Record<string, unknown>, name: keyof WorkRequest, min: number, max: number) {
  const value = body[name]
  if (value === undefined) return undefined
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new HttpError(400, `${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`)
  }
  return value
}

/** Starts the simulated work as a job: a `parallelMap` wired to the job's signal and progress. */
function startWork(body: Record<string, unknown>): Job<WorkResult> {
  const items = intField(body, 'items', 0, 100_000) ?? 20
  const concurrency = intField(body, 'concurrency', 1, 1_000) ?? 4
  const workMs = intField(body, 'workMs', 0, 60_000) ?? 20
  const failAt = intField(body, 'failAt', 0, 100_000)
  const work = async (item: number, { signal }: TaskContext): Promise<WorkResult> => {
    await delay(signal, workMs)
    if (item === failAt) throw new Error(`item ${item} failed`)
    return { item, square: item * item }
  }
  return startJob(({ signal, reportProgress }) =>
    parallelMap(work, { concurrency, signal, onProgress: reportProgress, total: items })(
      Array.from({ length: items }, (_, i) => i),
    ),
  )
}

function status(job: Job<WorkResult>) {
  return {
    id: job.id,
    name: job.name,
    state: job.state,
    hasMoreData: job.hasMoreData,
    progress: job.progress,
    error: job.error === undefined ? undefined : String((job.error as Error).message ?? job.error),
    startedAt: job.startedAt === undefined ? undefined : new Date(job.startedAt).toISOString(),
    finishedAt: job.finishedAt === undefined ? undefined : new Date(job.finishedAt).toISOString(),
  }
}

async function readJson(request: IncomingMessage): Promise<Record<string, unknown>> {
  let text = ''
  for await (const chunk of request) text += chunk
  if (text === '') return {}
  try {
    const body: unknown = JSON.parse(text)
    if (typeof body === 'object' && body !== null && !Array.isArray(body)) return body as Record<string, unknown>
  } catch {
    // Answered below, like any other body that is not a JSON object.
  }
  throw new HttpError(400, 'the body must be a JSON object')
}

/** Starts the API on 127.0.0.1 on a free port. */
export async function startJobsServer(): Promise<JobsServer> {
  const jobs = new Map<number, Job<WorkResult>>()

  async function route(request: IncomingMessage): Promise<[number, unknown]> {
    const url = new URL(request.url ?? '/', 'http://localhost')
    const parts = url.pathname.split('/').filter(Boolean)
    if (parts[0] !== 'jobs' || parts.length > 3) throw new HttpError(404, 'not found')
    if (parts.length === 1) {
      if (request.method === 'POST') {
        const job = startWork(await readJson(request))
        jobs.set(job.id, job)
        return [201, status(job)]
      }
      if (request.method === 'GET') return [200, [...jobs.values()].map(status)]
      throw new HttpError(405, 'method not allowed')
    }
    const job = jobs.get(Number(parts[1]))
    if (job === undefined) throw new HttpError(404, `no job ${parts[1]}`)
    const action = `${request.method} ${parts[2] ?? ''}`
    switch (action) {
      case 'GET ':
        return [200, status(job)]
      case 'GET wait': {
        const timeout = Number(url.searchParams.get('timeout') ?? 30_000)
        if (!(timeout >= 0 && timeout <= 60_000)) throw new HttpError(400, 'timeout must be from 0 to 60000 ms')
        const finished = await job.wait({ timeout })
        return [200, { finished, status: status(job) }]
      }
      case 'GET results': {
        const results = job.receive({ keep: url.searchParams.get('keep') === 'true' })
        return [200, { state: job.state, hasMoreData: job.hasMoreData, results }]
      }
      case 'POST stop':
        await job.stop()
        return [200, status(job)]
      default:
        throw new HttpError(404, `no route ${action} for a job`)
    }
  }

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    route(request).then(
      ([code, body]) => send(response, code, body),
      (error: unknown) => {
        const known = error instanceof HttpError
        send(response, known ? error.status : 500, { error: known ? error.message : String(error) })
      },
    )
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      await Promise.all([...jobs.values()].map((job) => job.stop()))
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeAllConnections()
      await closed
    },
  }
}

function send(response: ServerResponse, code: number, body: unknown): void {
  response.writeHead(code, { 'content-type': 'application/json' })
  response.end(JSON.stringify(body))
}

async function demo(): Promise<void> {
  const server = await startJobsServer()
  console.log(`jobs API on ${server.url}`)
  const call = async (method: string, path: string, body?: WorkRequest) => {
    const response = await fetch(server.url + path, {
      method,
      headers: body === undefined ? undefined : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const json = (await response.json()) as Record<string, any>
    console.log(`${method} ${path} → ${response.status}\n  ${JSON.stringify(json)}`)
    return json
  }
  try {
    const quick = await call('POST', '/jobs', { items: 8, concurrency: 4, workMs: 10 })
    const slow = await call('POST', '/jobs', { items: 1_000, concurrency: 2, workMs: 50 })
    await call('GET', `/jobs/${quick.id}/wait?timeout=10000`)
    await call('GET', `/jobs/${quick.id}/results`)
    await call('GET', `/jobs/${slow.id}/wait?timeout=120`)
    await call('POST', `/jobs/${slow.id}/stop`)
    await call('GET', `/jobs/${slow.id}/results`)
    const failing = await call('POST', '/jobs', { items: 5, concurrency: 1, workMs: 1, failAt: 2 })
    await call('GET', `/jobs/${failing.id}/wait?timeout=10000`)
  } finally {
    await server.close()
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await demo()
