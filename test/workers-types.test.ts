import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')

/** A consumer that touches every export of foreach-parallel/workers. */
const consumer = `
import { collect } from 'foreach-parallel'
import {
  createPool,
  workerMap,
  type PoolOptions,
  type WorkerContext,
  type WorkerMapOptions,
  type WorkerPool,
} from 'foreach-parallel/workers'

export default function double(item: number, { index, attempt, workerData }: WorkerContext<{ factor: number }>): number {
  return item * workerData.factor + index * 0 + attempt * 0
}

const poolOptions: PoolOptions = { maxThreads: 2, workerData: { factor: 2 } }
const pool: WorkerPool = createPool(poolOptions)
const options: WorkerMapOptions = { pool, timeout: 1000, onError: 'continue' }
{
  await using results = workerMap<number, number>(new URL(import.meta.url), options)([1, 2, 3])
  const first: IteratorResult<number> = await results.next()
  void first
}
const all: number[] = await collect(workerMap<number, number>('./double.js', { pool })([1]))
void all
const threads: number = pool.maxThreads
void threads
await pool[Symbol.asyncDispose]()
await pool.destroy()
`

describe('foreach-parallel/workers types', () => {
  // On the built declarations (npm test builds first), as a consumer installing the package sees them.
  it('type-check for a strict consumer with skipLibCheck: false (nothing of piscina is exposed)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'foreach-parallel-workers-types-'))
    try {
      mkdirSync(join(dir, 'node_modules', '@types'), { recursive: true })
      symlinkSync(root, join(dir, 'node_modules', 'foreach-parallel'), 'dir')
      symlinkSync(join(root, 'node_modules', '@types', 'node'), join(dir, 'node_modules', '@types', 'node'), 'dir')
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }))
      writeFileSync(
        join(dir, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            target: 'ES2022',
            module: 'Node16',
            moduleResolution: 'Node16',
            strict: true,
            skipLibCheck: false,
            noEmit: true,
            types: ['node'],
          },
          files: ['consumer.ts'],
        }),
      )
      writeFileSync(join(dir, 'consumer.ts'), consumer)
      const result = await promisify(execFile)(process.execPath, [tsc, '-p', dir], { timeout: 60_000 }).then(
        () => '',
        (error: { stdout: string }) => error.stdout,
      )
      expect(result).toBe('')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 70_000)
})
