/**
 * The optional peer dependencies, loaded here and nowhere else. A static import of a missing
 * package fails while the module graph is linked, with Node's bare "Cannot find package"; loaded
 * dynamically, its absence becomes an error that says what to install.
 */
import type * as BullMQ from 'bullmq'
import type * as IORedis from 'ioredis'

async function load(): Promise<[typeof BullMQ, typeof IORedis]> {
  try {
    return await Promise.all([import('bullmq'), import('ioredis')])
  } catch (error) {
    const code = (error as { code?: unknown }).code
    if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') throw error
    throw new Error(
      'foreach-parallel/distributed needs its peer dependencies bullmq (6.x) and ioredis: npm install bullmq ioredis',
      { cause: error },
    )
  }
}

const [bullmq, ioredis] = await load()

export const { Queue, QueueEvents, Worker } = bullmq
export const { Redis } = ioredis
