import type { Context } from './context.js'
import type { Deadline } from './deadlines.js'
import type { Reports } from './reporting.js'

/**
 * Where an item is, from its pull to its end. The scheduler switches over it; a new state is a
 * compile error in every switch that does not handle it.
 */
export type TaskState =
  /** Pulled, waiting in the start queue (see `StartQueue`): not running, no slot held. */
  | 'queued'
  /** The item is a promise, awaited before `fn` is called; holds a slot. */
  | 'awaiting'
  /** An attempt of `fn` is running, or a retry is waiting for its backoff; holds a slot. */
  | 'running'
  /** Running, but the run has aborted it: its outcome is no longer wanted. */
  | 'aborting'
  /** Finished with a value to hand out (a `Settled` record in settled mode). */
  | 'fulfilled'
  /** Failed under `onError: 'abort'`: the run ends with its error. */
  | 'failed'
  /** Finished, never to be handed out: aborted by the run, or failed under `'continue'`. */
  | 'dropped'

/**
 * One item from the moment it is pulled until it is handed out or dropped: the scheduler's record.
 * `fn` never sees it (it sees a {@link Context}), so its fields are plain and cheap. Fields of
 * options that are off stay `undefined`.
 */
export class Task<T> {
  readonly index: number
  item: T
  state: TaskState = 'running'
  /** The result, the error, or the settled record, once the task has settled. */
  value: unknown = undefined
  /** The current attempt's context; `undefined` once the task has settled. */
  context: Context | undefined = undefined
  /** The run's `onReport` side, when the option is on. */
  readonly reports: Reports | undefined
  /** It called `report()` at least once (only tracked when someone wants to hear of its end). */
  reported = false
  /** In the running list: it has asynchronous work that an abort must reach. */
  linked = false
  prev: Task<T> | undefined = undefined
  next: Task<T> | undefined = undefined
  /** The current attempt's entry in the deadline queue, with a per-item `timeout`. */
  deadline: Deadline | undefined = undefined
  /** `performance.now()` when the task started, for settled records; `0` otherwise. */
  startedTime = 0
  /** `performance.now()` when the current attempt started, for a gate that observes attempts; `0` otherwise. */
  attemptStarted = 0
  /** Its key, with `key` + `keyConcurrency` (set by the start queue). */
  key: string | undefined = undefined

  constructor(item: T, index: number, reports: Reports | undefined) {
    this.item = item
    this.index = index
    this.reports = reports
  }
}
