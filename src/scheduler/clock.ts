/**
 * The clock of a run's settled records and progress snapshots, read once per synchronous pass of
 * the scheduler instead of once per event: a reading costs as much as the scheduler's own work
 * for an item (a system call, some 40-50 ns), and a pass that settles one item and starts the
 * next one has three events to time. The rule:
 * - The end of an item, and a progress snapshot, take the pass's reading, or take one if the pass
 *   has none yet.
 * - The start of an item takes the pass's reading when nothing but the scheduler and the source
 *   has run since it was taken (an item that starts where another one settled starts at that
 *   item's end); after a call of `fn` or of `onProgress`, it takes a new one.
 * - So a `fn` that returns or throws synchronously ends at the reading its start took: its
 *   duration is 0, its time counting towards no item.
 * - The run calls {@link PassClock.passEnded} before it lets other code run: no reading outlives
 *   the pass that took it.
 * Readings only grow: an item never ends before it starts, and items start in pull order.
 */
export class PassClock {
  /**
   * `globalThis.performance`, taken once: in Node it is a getter that costs a tenth of a reading
   * (taken per run, not per module, so that fake timers installed before a run are seen).
   */
  readonly #performance = performance
  /** The pass's reading (`performance.now()`), `NaN` when it has none. */
  #now = NaN
  /** Nothing but the scheduler and the source has run since {@link #now} was read. */
  #fresh = false

  /** The time an item starts at. */
  start(): number {
    if (!this.#fresh) this.#now = this.#performance.now()
    // The item's fn runs next: a later start needs a new reading.
    this.#fresh = false
    return this.#now
  }

  /** The time an item ends at, or a progress snapshot is taken at. */
  end(): number {
    if (Number.isNaN(this.#now)) {
      this.#now = this.#performance.now()
      this.#fresh = true
    }
    return this.#now
  }

  /** A callback has run (`onProgress`): a later start needs a new reading. */
  called(): void {
    this.#fresh = false
  }

  /** The pass is over: the next event takes a new reading. */
  passEnded(): void {
    this.#now = NaN
    this.#fresh = false
  }
}
