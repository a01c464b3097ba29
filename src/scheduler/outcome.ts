import type { Settled } from '../types.js'
import type { PassClock } from './clock.js'
import type { Task } from './task.js'

/**
 * Under `onError: 'continue'`: the errors of the failed items, for the `AggregateError` thrown at
 * the end, in input order. Only the errors and their indexes are kept, never the items or tasks
 * (guarantee 8).
 */
export class ErrorList {
  readonly #indexes: number[] = []
  readonly #errors: unknown[] = []
  #inOrder = true

  get length(): number {
    return this.#errors.length
  }

  add(index: number, error: unknown): void {
    const last = this.#indexes.at(-1)
    if (last !== undefined && last > index) this.#inOrder = false
    this.#indexes.push(index)
    this.#errors.push(error)
  }

  /** The `AggregateError` of every failure, in input order; `pulled` is how many items there were. */
  aggregate(pulled: number): AggregateError {
    const indexes = this.#indexes
    let errors = this.#errors
    if (!this.#inOrder) {
      const order = indexes.map((_, i) => i).sort((a, b) => indexes[a]! - indexes[b]!)
      errors = order.map((i) => errors[i])
    }
    return new AggregateError(errors, `${errors.length} of ${pulled} items failed`)
  }
}

/**
 * `parallelMapSettled`'s records. The wall-clock start of an item comes from the monotonic clock
 * and the run's offset between the two; both ends come from the run's {@link PassClock}, which
 * reads the clock once per pass of the scheduler, not once per event.
 */
export class SettledRecords {
  readonly #clock: PassClock
  /** `Date.now()` minus `performance.now()`, taken once. */
  readonly #epoch = Date.now() - performance.now()

  constructor(clock: PassClock) {
    this.#clock = clock
  }

  /** A task starts: its clock starts. */
  started(task: Task<unknown>): void {
    task.startedTime = this.#clock.start()
  }

  record<T>(task: Task<T>, ok: boolean, value: unknown, attempts: number): Settled<T, unknown> {
    const startedTime = task.startedTime
    const startedAt = Math.round(this.#epoch + startedTime)
    const duration = this.#clock.end() - startedTime
    const { item, index } = task
    return ok
      ? { status: 'fulfilled', value, item, index, attempts, startedAt, duration }
      : { status: 'rejected', reason: value, item, index, attempts, startedAt, duration }
  }
}
