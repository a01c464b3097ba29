/**
 * Invoke-Queue behind a tiny HTTP API: a queue of work processed as throttled background jobs. Every
 * POST /jobs queues a `parallelMap` over simulated work items as a job of one `JobTable`; at most
 * `throttleLimit` of them run at once, the others wait as NotStarted and start in the order they
 * came. The other routes are Get-Job, Wait-Job, Receive-Job, Stop-Job and Remove-Job.
 *
 *   POST   /jobs                      body { name?, items?, concurrency?, workMs?, failAt? } → 201, the job's status
 *   GET    /jobs[?state=&name=]       the jobs' statuses in start order (`name` may hold * wildcards)
 *   GET    /jobs/:id                  status: state, progress, the running items' percent, hasMoreData, error
 *   GET    /jobs/:id/wait?timeout=ms  waits (at most `timeout` ms) for the end → { finished, status }
 *   GET    /jobs/:id/results[?keep=true]   the results since the last call (receive)
 *   POST   /jobs/:id/stop             stops the job, answers once its work has settled
 *   DELETE /jobs/:id[?force=true]     removes a finished job (with force, stops it first) → 204; 409 if unfinished
 *   GET    /wait[?any=true&timeout=ms]    waits for every job, or any one, to finish → { finished, jobs }
 *   POST   /collect                   Invoke-Queue's step: receives and removes every finished job
 *
 * Run it with `node --import tsx examples/jobs.ts`: it serves on 127.0.0.1 on a free port, queues a
 * few jobs through its own API, collects them as they finish, prints it all and exits. Tests import
 * `startJobsServer` instead.
 */
import { delay } from 'abort-controller-x'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { pathToFileURL } from 'node:url'
import { JobTable, parallelMap, type Job, type TaskContext } from '../src/index.js'
import { parseExampleArgs } from './args.js'

const USAGE = `Usage: node --import tsx examples/jobs.ts
  serves the jobs API, queues five jobs through it, collects them as they finish, prints it all and exits`

/** What POST /jobs accepts. */
export interface WorkRequest {
  /** The job's name. Default `Job<id>`. */
  readonly name?: string
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

/** Options of {@link startJobsServer}. */
export interface JobsServerOptions {
  /** Most jobs running at once; the others wait as NotStarted. Default 2. */
  readonly throttleLimit?: number
}

/** A running server: its base URL (`http://127.0.0.1:PORT`) and how to shut it down. */
export interface JobsServer {
  readonly url: string
  /** Stops and removes every job, closes the connections and the server. */
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

/**
 * Queues the simulated work as a job of `table`: a `parallelMap` wired to the job's signal, its
 * progress, and its per-item reports (each item reports its percent as it goes).
 */
function startWork(table: JobTable<WorkResult>, body: Record<string, unknown>): Job<WorkResult> {
  const items = intField(body, 'items', 0, 100_000) ?? 20
  const concurrency = intField(body, 'concurrency', 1, 1_000) ?? 4
  const workMs = intField(body, 'workMs', 0, 60_000) ?? 20
  const failAt = intField(body, 'failAt', 0, 100_000)
  if (body.name !== undefined && typeof body.name !== 'string') throw new HttpError(400, 'name must be a string')
  const work = async (item: number, { signal, report }: TaskContext): Promise<WorkResult> => {
    for (let percent = 0; percent < 100; percent += 25) {
      report(percent)
      await delay(signal, workMs / 4)
    }
    if (item === failAt) throw new Error(`item ${item} failed`)
    return { item, square: item * item }
  }
  return table.start(
    ({ signal, reportProgress, reportItem }) =>
      parallelMap(work, { concurrency, signal, onProgress: reportProgress, onReport: reportItem, total: items })(
        Array.from({ length: items }, (_, i) => i),
      ),
    body.name === undefined ? undefined : { name: body.name },
  )
}

function status(job: Job<WorkResult>) {
  const iso = (time: number | undefined) => (time === undefined ? undefined : new Date(time).toISOString())
  return {
    id: job.id,
    name: job.name,
    state: job.state,
    hasMoreData: job.hasMoreData,
    progress: job.progress,
    running: [...job.itemReports.values()].map(({ item, value }) => ({ item, percent: value })),
    error: job.error === undefined ? undefined : String((job.error as Error).message ?? job.error),
    startedAt: iso(job.startedAt),
    finishedAt: iso(job.finishedAt),
  }
}

const FINISHED: ReadonlySet<string> = new Set(['Completed', 'Failed', 'Stopped'])

/** Invoke-Queue's step: every finished job's status and results, each job removed from the table. */
async function collect(table: JobTable<WorkResult>) {
  const finished = table.list().filter((job) => FINISHED.has(job.state))
  const collected = finished.map((job) => ({ status: status(job), results: job.receive() }))
  await Promise.all(finished.map((job) => table.remove(job)))
  return collected
}

/** The library's own argument errors, as a 400 that shows their message. */
function badRequest<R>(call: () => R): R {
  try {
    return call()
  } catch (error) {
    throw new HttpError(400, (error as Error).message)
  }
}

function waitTimeout(url: URL): number {
  const timeout = Number(url.searchParams.get('timeout') ?? 30_000)
  if (!(timeout >= 0 && timeout <= 60_000)) throw new HttpError(400, 'timeout must be from 0 to 60000 ms')
  return timeout
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
export async function startJobsServer(options: JobsServerOptions = {}): Promise<JobsServer> {
  const table = new JobTable<WorkResult>({ throttleLimit: options.throttleLimit ?? 2 })

  async function route(request: IncomingMessage): Promise<[number, unknown]> {
    const url = new URL(request.url ?? '/', 'http://localhost')
    const action = `${request.method} ${url.pathname}`
    if (action === 'POST /jobs') return [201, status(startWork(table, await readJson(request)))]
    if (action === 'GET /jobs') {
      const state = url.searchParams.get('state') ?? undefined
      const name = url.searchParams.get('name') ?? undefined
      return [200, badRequest(() => table.list({ state: state as never, name })).map(status)]
    }
    if (action === 'GET /wait') {
      const finished = await table.wait({ any: url.searchParams.get('any') === 'true', timeout: waitTimeout(url) })
      return [200, { finished, jobs: table.list().map(status) }]
    }
    if (action === 'POST /collect') return [200, await collect(table)]
    if (['/jobs', '/wait', '/collect'].includes(url.pathname)) throw new HttpError(405, `no route ${action}`)
    const [, jobs, id, verb = '', ...rest] = url.pathname.split('/')
    if (jobs !== 'jobs' || id === undefined || rest.length > 0) throw new HttpError(404, 'not found')
    const job = table.get(Number(id))
    if (job === undefined) throw new HttpError(404, `no job ${id}`)
    switch (`${request.method} ${verb}`) {
      case 'GET ':
        return [200, status(job)]
      case 'GET wait':
        return [200, { finished: await job.wait({ timeout: waitTimeout(url) }), status: status(job) }]
      case 'GET results': {
        const results = job.receive({ keep: url.searchParams.get('keep') === 'true' })
        return [200, { state: job.state, hasMoreData: job.hasMoreData, results }]
      }
      case 'POST stop':
        await job.stop()
        return [200, status(job)]
      case 'DELETE ': {
        let removed: Promise<void>
        try {
          removed = table.remove(job, { force: url.searchParams.get('force') === 'true' })
        } catch (error) {
          throw new HttpError(409, (error as Error).message)
        }
        await removed
        return [204, undefined]
      }
      default:
        throw new HttpError(404, `no route ${action}`)
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
      await table[Symbol.asyncDispose]()
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeAllConnections()
      await closed
    },
  }
}

function send(response: ServerResponse, code: number, body: unknown): void {
  if (body === undefined) {
    response.writeHead(code).end()
    return
  }
  response.writeHead(code, { 'content-type': 'application/json' })
  response.end(JSON.stringify(body))
}

/** Queues five jobs with a throttle of 2, lists them, and collects them as they finish, as Invoke-Queue does. */
async function demo(): Promise<void> {
  const server = await startJobsServer({ throttleLimit: 2 })
  console.log(`jobs API on ${server.url}, throttle limit 2`)
  const call = async (method: string, path: string, body?: WorkRequest) => {
    const response = await fetch(server.url + path, {
      method,
      headers: body === undefined ? undefined : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const json: any = response.status === 204 ? undefined : await response.json()
    console.log(`${method} ${path} → ${response.status}`)
    return json
  }
  const states = (jobs: ReturnType<typeof status>[]) => jobs.map((job) => `${job.name}:${job.state}`).join(' ')
  try {
    for (let i = 1; i <= 4; i++) {
      await call('POST', '/jobs', { name: `batch-${i}`, items: 6, concurrency: 2, workMs: 300, failAt: i === 3 ? 2 : undefined })
    }
    const endless = await call('POST', '/jobs', { name: 'endless', items: 100_000, concurrency: 2, workMs: 50 })
    console.log(`  ${states(await call('GET', '/jobs'))}`)
    console.log(`  waiting: ${states(await call('GET', '/jobs?state=NotStarted'))}`)
    let collected = 0
    while (collected < 4) {
      await call('GET', '/wait?any=true&timeout=10000')
      for (const { status: job, results } of await call('POST', '/collect')) {
        collected++
        const outcome = job.state === 'Failed' ? `failed: ${job.error}` : `${results.length} results`
        console.log(`  collected ${job.name} ${job.state}, ${outcome}`)
      }
    }
    console.log(`  ${states(await call('GET', '/jobs?name=end*'))}`)
    await call('DELETE', `/jobs/${endless.id}`).then((json) => console.log(`  ${json.error}`))
    await call('DELETE', `/jobs/${endless.id}?force=true`)
    console.log(`  left: ${(await call('GET', '/jobs')).length} jobs`)
  } finally {
    await server.close()
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  parseExampleArgs(USAGE, {})
  await demo()
}
