import type { Context } from './context.js'

/** One attempt's deadline, a node of the {@link Deadlines} list. */
export class Deadline {
  readonly context: Context
  readonly at: number
  prev: Deadline | undefined = undefined
  next: Deadline | undefined = undefined

  constructor(context: Context, at: number) {
    this.context = context
    this.at = at
  }
}

/**
 * The per-item deadlines of one run, with one timer. Every attempt of a run gets the same
 * duration, so deadlines arrive in the order they are added: a FIFO list whose head is the next to
 * expire, and a single timer set for it, do (where p-timeout makes a timer and an `Error` per call).
 * An attempt that settles leaves the list at once, so the list holds only running attempts. The
 * timer is not moved when the head leaves: when it fires early it is set again for the new head,
 * which costs one timer per `duration` at most, never one per item.
 */
export class Deadlines {
  readonly #duration: number
  readonly #expire: (context: Context) => void
  #head: Deadline | undefined = undefined
  #tail: Deadline | undefined = undefined
  #timer: ReturnType<typeof setTimeout> | undefined = undefined

  /** `expire` is called with the context of each attempt whose deadline has passed, oldest first. */
  constructor(duration: number, expire: (context: Context) => void) {
    this.#duration = duration
    this.#expire = expire
  }

  /** Starts the clock of an attempt that has just started. */
  add(context: Context): Deadline {
    const deadline = new Deadline(context, performance.now() + this.#duration)
    const tail = this.#tail
    if (tail === undefined) this.#head = deadline
    else {
      tail.next = deadline
      deadline.prev = tail
    }
    this.#tail = deadline
    this.#timer ??= setTimeout(this.#fire, this.#duration)
    return deadline
  }

  /** Stops the clock of an attempt that has settled. */
  remove(deadline: Deadline): void {
    const { prev, next } = deadline
    if (prev === undefined) this.#head = next
    else prev.next = next
    if (next === undefined) this.#tail = prev
    else next.prev = prev
    deadline.prev = deadline.next = undefined
  }

  /** Forgets every deadline and clears the timer: the run has ended. */
  clear(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
    this.#head = this.#tail = undefined
  }

  readonly #fire = (): void => {
    this.#timer = undefined
    const now = performance.now()
    for (let head = this.#head; head !== undefined && head.at <= now; head = this.#head) {
      this.remove(head)
      this.#expire(head.context)
    }
    // An expiry may have ended the run (cleared the list) or added a deadline (set a timer for
    // it, later than the head's): the timer is set for the head, if there is one.
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    const head = this.#head
    this.#timer = head === undefined ? undefined : setTimeout(this.#fire, Math.ceil(head.at - now))
  }
}
