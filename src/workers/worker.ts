import { createRequire } from 'node:module'
import { extname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { workerData } from 'node:worker_threads'
import { describe } from '../errors.js'
import { toRecord } from './cloned-error.js'

/** What the main thread posts to a worker for every item. */
export interface WorkerTask {
  /** `file:` URL of the module whose export runs the item. */
  readonly module: string
  readonly exportName: string
  readonly item: unknown
  readonly index: number
  readonly attempt: number
}

/**
 * What a worker function receives beside its item: `fn(item, { index, attempt, workerData })`.
 * There is no `signal`: an aborted or timed-out task is stopped by terminating its thread.
 */
export interface WorkerContext<D = unknown> {
  /** Position of the item in the source, counting from 0. */
  readonly index: number
  /** Which attempt this is, counting from 1 (greater than 1 only with `retry`). */
  readonly attempt: number
  /** The pool's `workerData`, cloned into this thread once (the `$using:` of runspaces). */
  readonly workerData: D
}

type WorkerFunction = (item: unknown, context: WorkerContext) => unknown

/** Loaded exports by `"<module URL> <export name>"` (an href holds no space). */
const functions = new Map<string, Promise<WorkerFunction>>()

/**
 * Imports a worker module. Node 20 applies no ESM loader hooks in worker threads (tsx issue #354),
 * but a loader's CommonJS hooks work there: a TypeScript module that `import()` refuses is required
 * through them when the loader has registered its extension, as tsx does.
 */
async function importModule(module: string, path: string): Promise<Record<string, unknown>> {
  try {
    return (await import(module)) as Record<string, unknown>
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ERR_UNKNOWN_FILE_EXTENSION') throw error
    const require = createRequire(module)
    if (extname(path) in require.extensions) return require(path) as Record<string, unknown>
    throw new TypeError(
      `Worker module ${path} needs a loader for its extension that worker threads inherit (for TypeScript: node --import tsx)`,
      { cause: error },
    )
  }
}

async function load(module: string, exportName: string): Promise<WorkerFunction> {
  const path = fileURLToPath(module)
  const namespace = await importModule(module, path)
  const fn = namespace[exportName]
  if (typeof fn === 'function') return fn as WorkerFunction
  const name = exportName === 'default' ? 'default export' : `export "${exportName}"`
  if (!(exportName in namespace)) {
    const exports = Object.keys(namespace).join(', ') || 'none'
    throw new TypeError(`Worker module ${path} has no ${name} (its exports: ${exports})`)
  }
  throw new TypeError(`Expected the ${name} of ${path} to be a function, got ${describe(fn)}`)
}

/** Which outcome piscina is posting back, for the message when it cannot be cloned. */
let posting: string | undefined

// piscina posts a task's outcome after this module's function has returned; an outcome that cannot
// be cloned makes that post throw, uncaught, and the thread dies with a DataCloneError that reaches
// the main thread as an empty object. Rethrown as a TypeError it arrives intact and fails the item.
process.on('uncaughtException', (error) => {
  if (error instanceof DOMException && error.name === 'DataCloneError' && posting !== undefined) {
    throw new TypeError(`${posting} could not be cloned back to the main thread: ${error.message}`)
  }
  throw error
})

/** The function piscina calls in the worker: loads the task's export (once per thread) and calls it. */
export default async function runTask(task: WorkerTask): Promise<unknown> {
  const { module, exportName, item, index, attempt } = task
  posting = undefined
  const key = `${module} ${exportName}`
  let fn = functions.get(key)
  if (fn === undefined) {
    fn = load(module, exportName)
    functions.set(key, fn)
  }
  try {
    const result = await (await fn)(item, { index, attempt, workerData })
    posting = `The result of item ${index}`
    return result
  } catch (error) {
    posting = `The error thrown for item ${index}`
    throw toRecord(error)
  }
}
