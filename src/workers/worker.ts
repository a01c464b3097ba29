import { createRequire } from 'node:module'
import { extname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parentPort, workerData as threadData } from 'node:worker_threads'
import { describe } from '../errors.js'
import { toRecord } from './cloned-error.js'
import {
  ATTEMPT,
  EXPORT_NAME,
  INDEX,
  ITEM,
  MODULE,
  isReported,
  now,
  REPORT,
  REPORTED,
  STARTED,
  TALK,
  type TaskMessage,
  type ThreadData,
  type WorkerTask,
} from './protocol.js'

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
  /**
   * Sends `value` (structured-cloned) to the run's `onReport`, as `{ index, item, value }`: how far
   * this item has got. Ignored when the run has no `onReport`, and once the item has settled. A
   * value that cannot be cloned is a `TypeError` here.
   */
  readonly report: (value: unknown) => void
}

type WorkerFunction = (item: unknown, context: WorkerContext) => unknown

const { workerData, module: poolModule, exportName: poolExportName } = threadData as ThreadData

/** Loaded exports (or their loading) by module URL, then export name. */
const functions = new Map<string, Map<string, WorkerFunction | Promise<WorkerFunction>>>()

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

/** The export, or the promise of it while its module loads (once per thread). */
function functionOf(module: string, exportName: string): WorkerFunction | Promise<WorkerFunction> {
  let exports = functions.get(module)
  if (exports === undefined) functions.set(module, (exports = new Map<string, WorkerFunction | Promise<WorkerFunction>>()))
  let fn = exports.get(exportName)
  if (fn === undefined) {
    const loading = load(module, exportName)
    exports.set(exportName, loading)
    loading.then((loaded) => exports.set(exportName, loaded), ignore)
    fn = loading
  }
  return fn
}

function ignore(): void {}

// A run's own pool calls one function: its module loads while the thread starts, before the first task.
if (poolModule !== undefined) void functionOf(poolModule, poolExportName!)

/** The index of the item this thread runs: a thread runs one task at a time. */
let running = -1
/** Whether the running task's outcome is ready, and so is what piscina posts next. */
let posting = false
let postingError = false

// piscina posts a task's outcome after this module's function has returned; an outcome that cannot
// be cloned makes that post throw, uncaught, and the thread dies with a DataCloneError that reaches
// the main thread as an empty object. Rethrown as a TypeError it arrives intact and fails the item.
// Any other error raised outside a task (a throw in a timer, an unhandled rejection) ends the thread
// too: the main thread hears of it and replaces the thread.
process.on('uncaughtException', (error) => {
  if (error instanceof DOMException && error.name === 'DataCloneError' && posting) {
    const outcome = postingError ? 'The error thrown for item' : 'The result of item'
    throw new TypeError(`${outcome} ${running} could not be cloned back to the main thread: ${error.message}`)
  }
  throw error
})

/** `report` of a task that does not talk to the main thread. */
function ignoreReport(_value: unknown): void {}

/** The reports of one talking task: posted while it runs, counted for its outcome. */
class Reports {
  count = 0
  open = true

  constructor(
    readonly talk: number,
    readonly index: number,
  ) {}

  readonly report = (value: unknown): void => {
    if (!this.open) return
    try {
      parentPort!.postMessage([REPORT, this.talk, value] satisfies TaskMessage)
    } catch (error) {
      throw new TypeError(`The report of item ${this.index} could not be cloned to the main thread: ${(error as Error).message}`, {
        cause: error,
      })
    }
    this.count++
  }
}

/** The reports of the running task, when it talks to the main thread. */
let reports: Reports | undefined

/**
 * Closes the running task's reports; its outcome then says how many it sent, if any. (An outcome
 * that looks like a reported one is wrapped too, so that the main thread unwraps it intact.)
 */
function withReports(outcome: unknown, key: 'value' | 'error'): unknown {
  if (reports === undefined) return outcome
  reports.open = false
  return reports.count === 0 && !isReported(outcome) ? outcome : { [REPORTED]: reports.count, [key]: outcome }
}

function fulfilled(value: unknown): unknown {
  posting = true
  return withReports(value, 'value')
}

function rejected(error: unknown): never {
  posting = true
  postingError = true
  throw withReports(toRecord(error), 'error')
}

function call(fn: WorkerFunction, task: WorkerTask): unknown {
  const index = task[INDEX]
  const talk = task[TALK]
  let report = ignoreReport
  if (talk !== 0) {
    parentPort!.postMessage([STARTED, talk, now()] satisfies TaskMessage)
    reports = new Reports(talk, index)
    report = reports.report
  }
  let result: unknown
  try {
    result = fn(task[ITEM], { index, attempt: task[ATTEMPT], workerData, report })
  } catch (error) {
    return rejected(error)
  }
  if (typeof (result as PromiseLike<unknown> | null | undefined)?.then !== 'function') return fulfilled(result)
  return Promise.resolve(result).then(fulfilled, rejected)
}

/** The function piscina calls in the worker: loads the task's export (once per thread) and calls it. */
export default function runTask(task: WorkerTask): unknown {
  running = task[INDEX]
  posting = postingError = false
  reports = undefined
  const fn = task.length === 4 ? functionOf(poolModule!, poolExportName!) : functionOf(task[MODULE], task[EXPORT_NAME])
  if (typeof fn === 'function') return call(fn, task)
  return fn.then((loaded) => call(loaded, task), rejected)
}
