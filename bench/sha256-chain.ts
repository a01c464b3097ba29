import { createHash } from 'node:crypto'
import { workerData } from 'node:worker_threads'
import type { WorkerContext } from '../src/workers/index.js'

/** What every thread gets once: how many rounds each item hashes, and over how large a block. */
export interface ChainSettings {
  readonly rounds: number
  readonly blockSize: number
}

/**
 * The benchmark's CPU-bound task: a chain of `rounds` SHA-256 digests, each over the previous
 * digest and a block filled with the item. Returns the last digest in hex.
 */
export default function sha256Chain(seed: number, { workerData }: Pick<WorkerContext<ChainSettings>, 'workerData'>): string {
  const block = Buffer.alloc(workerData.blockSize, seed)
  let digest = Buffer.alloc(32)
  for (let round = 0; round < workerData.rounds; round++) {
    digest = createHash('sha256').update(digest).update(block).digest()
  }
  return digest.toString('hex')
}

/** The same task as piscina's own `pool.run` calls it: the item alone, the settings as the thread's `workerData`. */
export function piscinaTask(seed: number): string {
  return sha256Chain(seed, { workerData: workerData as ChainSettings })
}
