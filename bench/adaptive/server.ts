/**
 * The simulated service of `npm run bench:adaptive`, in its own process so that its timers do not
 * share an event loop with the client it serves. `slots` requests are served at once, each for a
 * log-normal service time around `service` ms; the others wait in a FIFO queue, so latency grows
 * with load past `slots`; with `queueLimit`, a request that finds that many already queued is
 * answered 429 at once. The parent steers it over IPC:
 *
 * - `{ type: 'phases', phases }` — the plan of the next run: from `at` ms after `start`, `slots`,
 *   `service` and `queueLimit` are these.
 * - `{ type: 'start' }` — the clock of the plan starts now.
 *
 * It answers `{ type: 'listening', port }` once, then `{ type: 'ok' }` to each message.
 */
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/** One stretch of a scenario, from `at` ms after the start. */
export interface Phase {
  readonly at: number
  /** Requests served at once. */
  readonly slots: number
  /** Median service time in ms. */
  readonly service: number
  /** A request that finds this many queued is answered 429; none when absent. */
  readonly queueLimit?: number
}

export type Command = { readonly type: 'phases'; readonly phases: readonly Phase[] } | { readonly type: 'start' }

/** mulberry32: every run sees the same service times. */
function random(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
  }
}

let next = random(1)
/** Log-normal around 1 (σ = 0.4): p99 about 2.5 × the median, as real services skew. */
function spread(): number {
  const normal = Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next())
  return Math.exp(0.4 * normal)
}

let phases: readonly Phase[] = [{ at: 0, slots: 8, service: 20 }]
let startedAt = performance.now()
let busy = 0
const queue: ServerResponse[] = []

function phase(): Phase {
  const now = performance.now() - startedAt
  return phases.findLast((p) => p.at <= now) ?? phases[0]!
}

function serve(response: ServerResponse): void {
  busy++
  setTimeout(() => {
    if (!response.destroyed) response.writeHead(200, { 'content-type': 'text/plain' }).end('ok')
    busy--
    admit()
  }, phase().service * spread())
}

/** Starts queued requests while slots are free (more are free after a phase adds slots). */
function admit(): void {
  const { slots } = phase()
  while (busy < slots && queue.length > 0) {
    const response = queue.shift()!
    if (!response.destroyed) serve(response)
  }
}

const server = createServer((request, response) => {
  request.resume()
  const { slots, queueLimit } = phase()
  if (busy < slots && queue.length === 0) serve(response)
  else if (queueLimit !== undefined && queue.length >= queueLimit) response.writeHead(429).end()
  else queue.push(response)
})
server.keepAliveTimeout = 60_000
// A phase that adds slots starts queued requests without waiting for an answer to free one.
setInterval(admit, 1).unref()

server.listen(0, '127.0.0.1', () => {
  process.send!({ type: 'listening', port: (server.address() as AddressInfo).port })
})

process.on('message', (command: Command) => {
  if (command.type === 'phases') {
    phases = command.phases
  } else {
    startedAt = performance.now()
    next = random(1)
  }
  process.send!({ type: 'ok' })
})
process.on('disconnect', () => process.exit(0))
