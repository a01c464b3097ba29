import { ITEM_SETTLED, type SettleAwareReportHandler } from '../internal/item-report.js'
import { ProgressCounter } from '../progress.js'
import type { ItemReport, Progress } from '../types.js'
import type { PassClock } from './clock.js'
import { taskOf, type Context } from './context.js'
import type { Gate } from './seams.js'
import type { Task } from './task.js'

/**
 * The `onProgress` side of a run: counts, and a snapshot to the callback. A callback that throws
 * fails the run as an error of the source would, and is not called again.
 */
export class ProgressReports {
  readonly counter: ProgressCounter
  readonly #onProgress: (progress: Progress) => void
  readonly #failed: (error: unknown) => void
  /** The run's gate, whose limit may change; without one the counter's limit stays as set. */
  readonly #gate: Gate | undefined
  /** The run's clock, read once per pass (see {@link PassClock}). */
  readonly #clock: PassClock
  #broken = false

  /** @param limit - the run's concurrency: a number, or the gate that decides instead. */
  constructor(
    onProgress: (progress: Progress) => void,
    total: number | undefined,
    limit: number | Gate,
    failed: (error: unknown) => void,
    clock: PassClock,
  ) {
    this.#onProgress = onProgress
    this.#failed = failed
    this.#clock = clock
    this.counter = new ProgressCounter(total, clock.end())
    if (typeof limit === 'number') this.counter.limit = limit
    else this.#gate = limit
  }

  emit(): void {
    if (this.#broken) return
    if (this.#gate !== undefined) this.counter.limit = this.#gate.limit
    try {
      this.#onProgress(this.counter.snapshot(this.#clock.end()))
    } catch (error) {
      this.#broken = true
      this.#failed(error)
    }
    this.#clock.called()
  }
}

/**
 * The `onReport` side of a run: delivers `context.report(value)` of running items. A report from
 * an attempt that is over (the item settled, or a retry replaced it) is ignored, never thrown. A
 * callback that throws fails the run as `onProgress` does. When the callback carries the private
 * {@link ITEM_SETTLED} hook, the hook hears of the end of every item that reported.
 */
export class Reports {
  readonly #onReport: (report: ItemReport<unknown>) => void
  readonly #itemSettled: ((index: number) => void) | undefined
  readonly #failed: (error: unknown) => void
  #broken = false

  constructor(onReport: (report: ItemReport<unknown>) => void, failed: (error: unknown) => void) {
    this.#onReport = onReport
    const itemSettled = (onReport as SettleAwareReportHandler<unknown>)[ITEM_SETTLED]
    this.#itemSettled = typeof itemSettled === 'function' ? itemSettled : undefined
    this.#failed = failed
  }

  report(context: Context, value: unknown): void {
    const task = taskOf(context)
    if (task.context !== context || this.#broken) return
    task.reported = true
    this.#call(() => this.#onReport({ index: task.index, item: task.item, value }))
  }

  /** A task has settled. */
  settled(task: Task<unknown>): void {
    const itemSettled = this.#itemSettled
    if (task.reported && itemSettled !== undefined && !this.#broken) this.#call(() => itemSettled(task.index))
  }

  #call(deliver: () => void): void {
    try {
      deliver()
    } catch (error) {
      this.#broken = true
      this.#failed(error)
    }
  }
}
