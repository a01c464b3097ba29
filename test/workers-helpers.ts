import { Piscina } from 'piscina'
import { vi } from 'vitest'
import { createPool, type PoolOptions, type WorkerPool } from '../src/workers/index.js'

/** What `promise` rejects with; fails if it fulfills. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise
  } catch (error) {
    return error
  }
  throw new Error('expected a rejection')
}

/** Creates a pool, catching the piscina instance behind it, to look at its threads. */
export function poolAndPiscina(options: PoolOptions): { pool: WorkerPool; piscina: Piscina } {
  const on = vi.spyOn(Piscina.prototype, 'on')
  try {
    const pool = createPool(options)
    return { pool, piscina: on.mock.contexts[0] as Piscina }
  } finally {
    on.mockRestore()
  }
}
