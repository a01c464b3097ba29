/**
 * What the main thread and a worker thread say to each other beside piscina's own messages: the
 * task posted for each item, and what a task posts back while it runs. Kept apart from
 * `worker.ts`, which only a worker thread may load.
 */

/** What every thread of a pool receives once, as its `workerData`. */
export interface ThreadData {
  /** The user's `workerData`, which worker functions get as `context.workerData`. */
  readonly workerData: unknown
  /** For the pool of one run: the module and export its tasks call, sent once instead of per task. */
  readonly module?: string
  readonly exportName?: string
}

/**
 * What the main thread posts for each item. An array, because a tiny task pays for every field
 * cloned, and a field name costs as much as its value. `talk` is 0, or the id under which the task
 * tells the main thread when its function starts (for the per-item timeout) and what it reports
 * (for `onReport`). A task for a shared
 * pool names the module and export to call; one for a run's own pool calls its pool's.
 */
export type WorkerTask =
  | [item: unknown, index: number, attempt: number, talk: number]
  | [item: unknown, index: number, attempt: number, talk: number, module: string, exportName: string]

export const ITEM = 0
export const INDEX = 1
export const ATTEMPT = 2
export const TALK = 3
export const MODULE = 4
export const EXPORT_NAME = 5

/** Posted through `parentPort` when a talking task's function is called: `[STARTED, talk, epoch ms]`. */
export const STARTED = 0
/** Posted through `parentPort` for every `report(value)` of a talking task: `[REPORT, talk, value]`. */
export const REPORT = 1

/** What a task posts back to the main thread while it runs. */
export type TaskMessage = [kind: typeof STARTED, talk: number, time: number] | [kind: typeof REPORT, talk: number, value: unknown]

/**
 * The key of the outcome of a task that has reported: `{ [REPORTED]: count, value }`, or thrown,
 * `{ [REPORTED]: count, error }`. Reports travel through `parentPort` and the outcome through
 * piscina's own channel, which may overtake them: the main thread settles the item only once all
 * `count` reports have arrived. A task that has not reported sends its outcome as it is.
 */
export const REPORTED = 'foreach-parallel/workers:reported'

/** The outcome of a task that has reported. */
export interface ReportedOutcome {
  readonly [REPORTED]: number
  readonly value?: unknown
  readonly error?: unknown
}

/** Whether `outcome` is a {@link ReportedOutcome}. */
export function isReported(outcome: unknown): outcome is ReportedOutcome {
  return typeof outcome === 'object' && outcome !== null && REPORTED in outcome
}

/** The time in epoch milliseconds, comparable between threads. */
export function now(): number {
  return performance.timeOrigin + performance.now()
}
