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
 * tells the main thread when its function starts (for the per-item timeout). A task for a shared
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

/** What a task posts back to the main thread while it runs. */
export type TaskMessage = [kind: typeof STARTED, talk: number, time: number]

/** The time in epoch milliseconds, comparable between threads. */
export function now(): number {
  return performance.timeOrigin + performance.now()
}
