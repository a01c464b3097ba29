// Thumbnails made on other machines, like Invoke-Command -ComputerName … -AsJob: this process
// drives the run with distributedMap, every photo becomes a job on a BullMQ queue in Redis, and the
// worker processes, which run serveQueue, take the jobs. Here the driver starts two workers itself;
// on other machines, start `node --import tsx examples/distributed.ts --serve NAME --queue QUEUE`
// there, with REDIS_URL pointing at the same Redis.
// Run: node --import tsx examples/distributed.ts [--photos 12] [--queue thumbnails]  (Redis at REDIS_URL)
import { fork, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { distributedMap, serveQueue } from '../src/distributed/index.js'
import { integerArg, parseExampleArgs } from './args.js'

const USAGE = `Usage: node --import tsx examples/distributed.ts [--photos N] [--queue QUEUE] [--serve NAME]
  --photos N      how many photos to make thumbnails of (default 12)
  --queue QUEUE   the BullMQ queue (default thumbnails-PID)
  --serve NAME    run as the worker NAME, taking the jobs of QUEUE, instead of driving a run
Redis at REDIS_URL (default redis://127.0.0.1:6379).`

const { values } = parseExampleArgs(USAGE, {
  serve: { type: 'string' },
  photos: { type: 'string' },
  queue: { type: 'string', default: `thumbnails-${process.pid}` },
})
const photoCount = integerArg(USAGE, 'photos', values.photos, 1) ?? 12

interface Thumbnail {
  readonly photo: string
  readonly digest: string
  readonly worker: string
}

/** The worker's side: makes a thumbnail, which takes a while (the I/O of a real one). */
async function thumbnail(photo: string, worker: string, signal: AbortSignal): Promise<Thumbnail> {
  await sleep(50, undefined, { signal })
  return { photo, digest: createHash('sha256').update(photo).digest('hex').slice(0, 12), worker }
}

/** Starts a worker process: this file with `--serve`, under the same loader (tsx). */
function startWorker(name: string): ChildProcess {
  return fork(fileURLToPath(import.meta.url), ['--serve', name, '--queue', values.queue])
}

if (values.serve !== undefined) {
  const name = values.serve
  const server = serveQueue(values.queue, (photo: string, { signal }) => thumbnail(photo, name, signal), {
    concurrency: 2,
  })
  // On SIGTERM, or when the driver that started it is gone, it finishes the jobs it runs and exits.
  const stop = (): void => {
    void server.close().then(() => {
      if (process.connected) process.disconnect()
    })
  }
  process.once('SIGTERM', stop).once('disconnect', stop)
} else {
  const workers = [startWorker('worker-1'), startWorker('worker-2')]
  const photos = Array.from({ length: photoCount }, (_, i) => `photo-${String(i + 1).padStart(2, '0')}.jpg`)
  console.log(`Making ${photos.length} thumbnails on queue ${values.queue} with 2 worker processes`)
  const started = performance.now()
  const makeThumbnails = distributedMap<string, Thumbnail>(values.queue, { concurrency: 4, timeout: 30_000 })
  try {
    for await (const { photo, digest, worker } of makeThumbnails(photos)) console.log(`${photo}  ${digest}  ${worker}`)
    console.log(`${photos.length} thumbnails in ${Math.round(performance.now() - started)} ms`)
  } finally {
    for (const worker of workers) worker.kill('SIGTERM')
    await Promise.all(workers.map((worker) => (worker.exitCode === null ? once(worker, 'exit') : Promise.resolve())))
  }
}
