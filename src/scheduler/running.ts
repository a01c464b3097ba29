import { deferred, type Deferred } from '../internal/deferred.js'
import type { Task } from './task.js'

/**
 * The run's running tasks: how many there are (every task from its start to its end, retry waits
 * included), and a list of those with asynchronous work, which an abort must reach. A task whose
 * `fn` returned synchronously never joins the list: it has ended before anyone could abort it.
 */
export class RunningTasks<T> {
  /** Tasks started and not yet settled. */
  count = 0
  #head: Task<T> | undefined = undefined
  #idle: Deferred<void> | undefined = undefined

  /** Adds a task with asynchronous work to the list (once). */
  link(task: Task<T>): void {
    if (task.linked) return
    task.linked = true
    const head = this.#head
    if (head !== undefined) {
      task.next = head
      head.prev = task
    }
    this.#head = task
  }

  /** A started task has settled: it leaves the count and the list. */
  settled(task: Task<T>): void {
    if (task.linked) this.#unlink(task)
    if (--this.count === 0 && this.#idle !== undefined) this.#becameIdle()
  }

  #unlink(task: Task<T>): void {
    const { prev, next } = task
    if (prev === undefined) this.#head = next
    else prev.next = next
    if (next !== undefined) next.prev = prev
    task.prev = task.next = undefined
    task.linked = false
  }

  #becameIdle(): void {
    this.#idle!.resolve()
    this.#idle = undefined
  }

  /** Calls `visit` on every listed task; `visit` may not unlink tasks synchronously. */
  forEach(visit: (task: Task<T>) => void): void {
    for (let task = this.#head; task !== undefined; task = task.next) visit(task)
  }

  /** Settles once no task is running. */
  whenIdle(): Promise<void> {
    if (this.count === 0) return Promise.resolve()
    return (this.#idle ??= deferred()).promise
  }
}
