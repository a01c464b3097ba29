/**
 * A local stand-in for "100 hosts": one HTTP server whose paths `/server-001` … `/server-100` answer
 * like machines of a fleet would. Most answer in 20–300 ms, some take 1–2 s, a few return 500 and a
 * few never answer at all (until the client gives up). The mix is fixed by a seed, so every run and
 * every test sees the same fleet. With a `capacity`, the fleet serves that many requests at once
 * and queues the others, as a shared backend would: past it, latency climbs with load.
 */
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/** How one simulated host behaves. */
export type Behaviour = 'fast' | 'slow' | 'error' | 'hang'

export interface Host {
  readonly name: string
  readonly url: string
  readonly behaviour: Behaviour
  /** Milliseconds before it answers; `Infinity` for a host that hangs. */
  readonly latency: number
}

export interface ServerOptions {
  /** How many hosts. Default `100`. */
  readonly count?: number
  /** How many of them take 1–2 s. Default `count / 25`. */
  readonly slow?: number
  /** How many answer 500. Default `count / 33`. */
  readonly errors?: number
  /** How many never answer. Default `count / 50`. */
  readonly hanging?: number
  /** Multiplies every latency: `0.1` makes a fleet ten times faster for tests. Default `1`. */
  readonly timeScale?: number
  /**
   * Every host answers in this many ms (times `timeScale`) instead of the random 20–300 ms, as the
   * replicas of one service would. Default: the random mix.
   */
  readonly latency?: number
  /** Seed of the random mix. Default `1`. */
  readonly seed?: number
  /**
   * Requests the whole fleet serves at once; the others wait their turn, first come first served,
   * so that their latency is their wait plus the host's own. Default `Infinity`.
   */
  readonly capacity?: number
}

export interface FleetServer {
  /** The base URL, `http://127.0.0.1:PORT`. */
  readonly origin: string
  readonly hosts: readonly Host[]
  /** Requests received, answered, and dropped by the client before their answer. */
  readonly stats: { received: number; answered: number; dropped: number }
  /** Ends hanging requests, closes every connection and stops listening. Safe to call twice. */
  close(): Promise<void>
}

/** mulberry32: a tiny seeded generator, enough to shuffle a fleet reproducibly. */
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

function planFleet(origin: string, options: ServerOptions): Host[] {
  const count = options.count ?? 100
  const scale = options.timeScale ?? 1
  const next = random(options.seed ?? 1)
  const behaviours: Behaviour[] = [
    ...Array<Behaviour>(options.slow ?? Math.round(count / 25)).fill('slow'),
    ...Array<Behaviour>(options.errors ?? Math.round(count / 33)).fill('error'),
    ...Array<Behaviour>(options.hanging ?? Math.round(count / 50)).fill('hang'),
  ]
  behaviours.push(...Array<Behaviour>(Math.max(0, count - behaviours.length)).fill('fast'))
  // Fisher–Yates, so that the slow and broken hosts are spread through the list.
  for (let i = behaviours.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1))
    ;[behaviours[i], behaviours[j]] = [behaviours[j]!, behaviours[i]!]
  }
  return behaviours.slice(0, count).map((behaviour, i) => {
    const name = `server-${String(i + 1).padStart(3, '0')}`
    // Skewed towards the low end, as real response times are: median ~40 ms, mean ~75 ms.
    const base = behaviour === 'slow' ? 1000 + 1000 * next() : (options.latency ?? 20 + 280 * next() ** 4)
    const latency = behaviour === 'hang' ? Infinity : Math.round(base * scale)
    return { name, url: `${origin}/${name}`, behaviour, latency }
  })
}

/**
 * Starts the fleet on `127.0.0.1` at a free port.
 *
 * @example
 * ```ts
 * const fleet = await startServer({ count: 10 })
 * console.log(await (await fetch(fleet.hosts[0]!.url)).json())
 * await fleet.close()
 * ```
 */
export async function startServer(options: ServerOptions = {}): Promise<FleetServer> {
  const byName = new Map<string, Host>()
  const pending = new Set<ServerResponse>()
  const stats = { received: 0, answered: 0, dropped: 0 }
  const capacity = options.capacity ?? Infinity
  let serving = 0
  /** Requests waiting for the fleet's capacity, oldest first. */
  const waiting: (() => void)[] = []
  let closing: Promise<void> | undefined

  const server = createServer((request, response) => {
    const host = byName.get((request.url ?? '').slice(1))
    if (host === undefined) {
      response.writeHead(404).end()
      return
    }
    stats.received++
    pending.add(response)
    let timer: ReturnType<typeof setTimeout> | undefined
    let served = false
    const serve = () => {
      served = true
      serving++
      if (host.latency === Infinity) return
      timer = setTimeout(() => {
        stats.answered++
        if (host.behaviour === 'error') {
          response.writeHead(500, { 'content-type': 'text/plain' }).end('Internal Server Error')
          return
        }
        const body = { server: host.name, os: 'Windows Server 2022', version: '10.0.20348', latency: host.latency }
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body))
      }, host.latency)
    }
    if (serving < capacity) serve()
    else waiting.push(serve)
    // 'close' fires when the answer is sent and when the client goes away first (an aborted fetch).
    response.on('close', () => {
      clearTimeout(timer)
      pending.delete(response)
      if (!response.writableFinished) stats.dropped++
      if (!served) {
        waiting.splice(waiting.indexOf(serve), 1)
        return
      }
      serving--
      if (waiting.length > 0) waiting.shift()!()
    })
  })

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const origin = `http://127.0.0.1:${port}`
  const hosts = planFleet(origin, options)
  for (const host of hosts) byName.set(host.name, host)

  return {
    origin,
    hosts,
    stats,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        for (const response of pending) response.destroy()
        server.close((error) => (error ? reject(error) : resolve()))
        server.closeAllConnections()
      })
      return closing
    },
  }
}
