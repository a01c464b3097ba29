import type { Redis as RedisClient, RedisOptions } from 'ioredis'
import { describe } from '../errors.js'
import { Redis } from './peers.js'

/** Where Redis is: a `redis://` (or `rediss://`) URL, or ioredis connection options. */
export type Connection = string | RedisOptions

/** A checked `connection` option. */
export interface Endpoint {
  /** The server, for error and log messages: `redis://host:port`, without credentials. */
  readonly address: string
  readonly url: string | undefined
  readonly options: RedisOptions
}

/** `process.env.REDIS_URL`, or Redis on this machine. Read when an operator or server is created. */
function defaultConnection(): string {
  return process.env['REDIS_URL'] || 'redis://127.0.0.1:6379'
}

function invalid(value: unknown, why = ''): TypeError {
  return new TypeError(`Expected connection to be a redis:// URL or ioredis options, got ${describe(value)}${why}`)
}

/** Checks a `connection` option (`undefined` is the default) and names the server it points at. */
export function checkConnection(value: unknown): Endpoint {
  const connection = value === undefined ? defaultConnection() : value
  if (typeof connection === 'string') {
    let url: URL
    try {
      url = new URL(connection)
    } catch {
      throw invalid(connection)
    }
    if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw invalid(connection)
    return { address: `${url.protocol}//${url.hostname}:${url.port || 6379}`, url: connection, options: {} }
  }
  if (typeof connection !== 'object' || connection === null || Array.isArray(connection)) throw invalid(connection)
  const prototype: unknown = Object.getPrototypeOf(connection)
  if (prototype !== Object.prototype && prototype !== null) {
    throw invalid(connection, ' that is not a plain object (pass the options of a client, not the client)')
  }
  const options = connection as RedisOptions
  const address =
    options.path !== undefined
      ? `unix://${options.path}`
      : `${options.tls ? 'rediss' : 'redis'}://${options.host ?? 'localhost'}:${options.port ?? 6379}`
  return { address, url: undefined, options }
}

/** ioredis's own delay before a new attempt to connect. */
function defaultRetryDelay(attempt: number): number {
  return Math.min(attempt * 50, 2_000)
}

/**
 * A new client for `endpoint`, connecting at once. `maxRetriesPerRequest: null` keeps commands
 * queued while it reconnects (BullMQ requires it), so that a short outage loses nothing; the
 * callers bound how long they wait. Once `stopping()` says so, it stops reconnecting (and so do
 * its duplicates, BullMQ's included): its queued commands then fail instead of waiting for ever,
 * which is what lets a close finish while Redis is unreachable. `disconnectTimeout: 0`: a client
 * closed between two attempts to reconnect would otherwise keep a 2-second timer, and the
 * process, alive.
 */
export function createClient(endpoint: Endpoint, stopping: () => boolean): RedisClient {
  const retry = endpoint.options.retryStrategy ?? defaultRetryDelay
  const overrides: RedisOptions = {
    maxRetriesPerRequest: null,
    disconnectTimeout: 0,
    retryStrategy: (attempt) => (stopping() ? null : retry(attempt)),
  }
  return endpoint.url === undefined
    ? new Redis({ ...endpoint.options, ...overrides })
    : new Redis(endpoint.url, overrides)
}

/** An error about the connection to Redis, ending with the last connection error's message. */
export function connectionError(message: string, cause: Error | undefined): Error {
  return new Error(cause === undefined ? message : `${message}: ${cause.message}`, { cause })
}

/**
 * Resolves once `client` is ready; rejects with an error naming the server when it is not within
 * `timeout` ms, or when the client is disconnected first.
 */
export function whenReady(client: RedisClient, endpoint: Endpoint, timeout: number): Promise<void> {
  if (client.status === 'ready') return Promise.resolve()
  return new Promise((resolve, reject) => {
    let last: Error | undefined
    const onError = (error: Error): void => {
      last = error
    }
    const settle = (error?: Error): void => {
      clearTimeout(timer)
      client.off('ready', onReady).off('error', onError).off('end', onEnd)
      if (error === undefined) resolve()
      else reject(error)
    }
    const onReady = (): void => settle()
    const onEnd = (): void => settle(connectionError(`Disconnected before reaching Redis at ${endpoint.address}`, last))
    const timer = setTimeout(
      () => settle(connectionError(`Could not reach Redis at ${endpoint.address} within ${timeout} ms`, last)),
      timeout,
    )
    client.on('ready', onReady).on('error', onError).on('end', onEnd)
  })
}

/** Disconnects `client` at once; resolves when its socket has closed, so that no handle is left. */
export function closeClient(client: RedisClient): Promise<void> {
  if (client.status === 'end') return Promise.resolve()
  // Between two attempts to reconnect there is no socket, and ioredis emits no 'end'.
  const ended = client.status === 'reconnecting' ? undefined : new Promise<void>((resolve) => client.once('end', resolve))
  client.disconnect()
  return ended ?? Promise.resolve()
}
