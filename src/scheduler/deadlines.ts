import type { Context } from './context.js'

/** One attempt's deadline, a node of the {@link Deadlines} list. */
export class Deadline {
  readonly context: Context
  /** `performance.now()` at which it expires; `NaN` until the list's next clock reading stamps it. */
  at = NaN
  prev: Deadline | undefined = undefined
  next: Deadline | undefined = undefined

  constructor(context: Context) {
    this.context = context
  }
}

/**
 * The per-item deadlines of one run, with one timer. Every attempt of a run gets the same
 * duration, so deadlines arrive in the order they are added: a FIFO list whose head is the next to
 * expire, and a single timer set for it, do (where p-timeout makes a timer and an `Error` per call).
 * An attempt that settles leaves the list at once, so the list holds only running attempts. The
 * timer is not moved when the head leaves: when it fires early it is set again for the new head,
 * which costs one timer per `duration` at most, never one per item.
 *
 * The clock is not read per attempt either (a reading costs as much as the scheduler's own work
 * for an item). A new deadline is stamped by the list's next reading, taken at the end of the
 * current turn of the event loop (`setImmediate`, once for every deadline added in between, and
 * never while none is waiting): its `duration` counts from there. So a deadline is never early,
 * and is late by what the turn had left to run when the attempt started. Node's own timers err the
 * other way by the same amount: `setTimeout` counts from the start of the turn.
 */
export class Deadlines {
  readonly #duration: number
  readonly #expire: (context: Context) => void
  #head: Deadline | undefined = undefined
  #tail: Deadline | undefined = undefined
  /** The oldest deadline not stamped yet; every one after it is not stamped either. */
  #unstamped: Deadline | undefined = undefined
  #timer: ReturnType<typeof setTimeout> | undefined = undefined
  #stamping: Pending | undefined = undefined

  /** `expire` is called with the context of each attempt whose deadline has passed, oldest first. */
  constructor(duration: number, expire: (context: Context) => void) {
    this.#duration = duration
    this.#expire = expire
  }

  /** Starts the clock of an attempt that has just started. */
  add(context: Context): Deadline {
    const deadline = new Deadline(context)
    const tail = this.#tail
    if (tail === undefined) this.#head = deadline
    else {
      tail.next = deadline
      deadline.prev = tail
    }
    this.#tail = deadline
    if (this.#unstamped === undefined) {
      this.#unstamped = deadline
      this.#stamping ??= afterTurn(this.#stamp)
    }
    return deadline
  }

  /** Stops the clock of an attempt that has settled. */
  remove(deadline: Deadline): void {
    const { prev, next } = deadline
    if (prev === undefined) this.#head = next
    else prev.next = next
    if (next === undefined) this.#tail = prev
    else next.prev = prev
    if (deadline === this.#unstamped) this.#unstamped = next
    deadline.prev = deadline.next = undefined
  }

  /** Forgets every deadline and clears the timers: the run has ended. */
  clear(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    if (this.#stamping !== undefined) cancelAfterTurn(this.#stamping)
    this.#timer = this.#stamping = undefined
    this.#head = this.#tail = this.#unstamped = undefined
  }

  /** The clock reading that stamps the deadlines added since the last one, and sets the timer. */
  readonly #stamp = (): void => {
    this.#stamping = undefined
    const at = performance.now() + this.#duration
    for (let deadline = this.#unstamped; deadline !== undefined; deadline = deadline.next) deadline.at = at
    this.#unstamped = undefined
    // With no timer, nothing before the stamped deadlines is left: the head is one of them (and
    // when they have all been removed before their stamp, no timer is needed).
    if (this.#head !== undefined) this.#timer ??= setTimeout(this.#fire, this.#duration)
  }

  readonly #fire = (): void => {
    this.#timer = undefined
    const now = performance.now()
    for (let head = this.#head; head !== undefined && head.at <= now; head = this.#head) {
      this.remove(head)
      this.#expire(head.context)
    }
    // An expiry may have ended the run (cleared the list) or added a deadline (set a timer for
    // it, later than the head's): the timer is set for the head, once the head is stamped (an
    // unstamped head gets its timer from its stamp).
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    const head = this.#head
    this.#timer =
      head === undefined || head === this.#unstamped ? undefined : setTimeout(this.#fire, Math.ceil(head.at - now))
  }
}

type Pending = ReturnType<typeof setImmediate> | ReturnType<typeof setTimeout>

/**
 * Runs `then` at the end of the event loop's current turn (where there is no `setImmediate`: after a
 * 0 ms timer). Looked up at each call, unlike the run's `nextTurn`: the stamp follows fake timers, as
 * the deadlines' own timer does.
 */
function afterTurn(then: () => void): Pending {
  return typeof setImmediate === 'function' ? setImmediate(then) : setTimeout(then, 0)
}

function cancelAfterTurn(pending: Pending): void {
  if (typeof clearImmediate === 'function') clearImmediate(pending as ReturnType<typeof setImmediate>)
  else clearTimeout(pending as ReturnType<typeof setTimeout>)
}
