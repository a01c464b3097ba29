import { Deque } from '../internal/deque.js'
import type { Task } from './task.js'

/**
 * What the consumer gets next: in input order (every pulled task waits in line, and a finished
 * one is handed out once all before it have been) or in completion order (finished tasks queue as
 * they finish). It also keeps the read-ahead count of guarantee 2.
 */
export class Output<T> {
  readonly #ordered: boolean
  /** Ordered: every pulled task, in input order. As-completed: finished tasks, in completion order. */
  readonly #tasks = new Deque<Task<T>>()
  /**
   * Items pulled and not yet handed out or passed over: what `readAhead` bounds. A dropped item
   * (failed under `'continue'`, or aborted) is passed over once the consumer asks again.
   */
  held = 0
  /** As-completed: dropped items not passed over yet. */
  #unpassed = 0
  /** Ordered: nothing from this index on is handed out (a failure under `'abort'`). */
  #end = Infinity

  constructor(ordered: boolean) {
    this.#ordered = ordered
  }

  /** A task was pulled: it counts against the read-ahead until it is handed out or passed over. */
  pulled(task: Task<T>): void {
    this.held++
    if (this.#ordered) this.#tasks.push(task)
  }

  /** A task has reached its final state, `'fulfilled'` or `'dropped'`. */
  finished(task: Task<T>): void {
    if (this.#ordered) return
    if (task.state === 'fulfilled') this.#tasks.push(task)
    else this.#unpassed++
  }

  /** The next task to hand out, if one is ready; dropped items on the way are passed over. */
  next(): Task<T> | undefined {
    const tasks = this.#tasks
    if (!this.#ordered) {
      this.held -= this.#unpassed
      this.#unpassed = 0
      const task = tasks.shift()
      if (task !== undefined) this.held--
      return task
    }
    for (let head = tasks.peek(); head !== undefined && head.index < this.#end; head = tasks.peek()) {
      const state = head.state
      // Anything but fulfilled or dropped is not finished: the head holds the line.
      if (state !== 'fulfilled' && state !== 'dropped') return undefined
      tasks.shift()
      this.held--
      if (state === 'fulfilled') return head
    }
    return undefined
  }

  /**
   * A failure under `'abort'` at `index`. Ordered, a loop would have handed out everything before
   * it and nothing after: the output ends there. As-completed, results not handed out yet are
   * dropped, and nothing more is.
   */
  stop(index: number): void {
    if (this.#ordered) {
      this.#end = index
      return
    }
    this.held -= this.#tasks.length
    this.#tasks.clear()
  }

  /** Forgets every task: the run has ended. */
  clear(): void {
    this.#tasks.clear()
  }
}
