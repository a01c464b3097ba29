/**
 * The controller behind `adaptiveConcurrency`: TCP Vegas's queue estimate as Netflix's
 * concurrency-limits applies it to calls (`VegasLimit`), on windows of samples as its
 * `WindowedLimit` gathers them, with the no-load latency re-measured the way Envoy's adaptive
 * concurrency filter does it (a short stretch at a lower limit). Pure: time comes in with each
 * sample, so tests drive it with synthetic latencies.
 *
 * The rule, once per window (at least 40 samples, and as many as were in flight, of attempts that
 * started after the previous window closed):
 * - `queue = inFlight × (1 − noLoad / latency)`, with the window's median latency, estimates how
 *   many calls wait in the service's queue rather than being served (Little's law: latency above
 *   the no-load latency is time spent queueing).
 * - above `beta` queued calls the limit drops to what the service holds plus `alpha` (at most by
 *   half at once); below `alpha` it grows (by `beta` when there is no queue to speak of, else by
 *   one); in between it holds. `alpha` is 10% of the limit and at least one call, `beta` 20% and
 *   at least two: a short queue keeps the service busy, a long one only adds latency.
 * - until the first sign of a queue it doubles instead (TCP's slow start).
 * - it grows only when the calls are what holds the run back: in most of the window's samples at
 *   least half the limit was running and the consumer was waiting for a result.
 * - an overload (a timeout, a 429) cuts the limit by 10% at once, once per round: overloads of
 *   calls that started before the last cut are the same overload.
 * - the no-load latency is re-measured every 10 s, and at once when the latency moves against
 *   what a queue would do (in slow start it rises with the calls: the initial limit was already
 *   queueing; after a cut it stays put: the service got slower, or lost slots meanwhile). To
 *   re-measure, the limit halves until the latency stops falling with it; then it goes back.
 *   Between re-measurements two window medians in a row at least 10% lower replace it (nearer,
 *   or once, is noise: the lowest of many noisy medians is below the true latency).
 * - a cut for a queue (by a third or more) after which the latency fell less than 65% of the way
 *   with the calls is checked the other way first: the limit goes back to where it was before the
 *   cut for one window. If the latency rises at most half the way with the calls, there was no
 *   queue (the service got slower): the lower load's latency is the no-load latency, and the limit
 *   stays. Otherwise the queue is real and the rule cuts again. Halving to re-measure instead would
 *   hold the run at a quarter of its pace for a window of slow calls. (A window that straddles the
 *   change makes one comparison meaningless, hence the check in the other direction.)
 */

/** Fewest samples a window needs, so that its median means something. */
const MIN_SAMPLES = 40
/** How often the no-load latency is re-measured, in the clock's unit (ms). */
const PROBE_INTERVAL = 10_000
/** What an overload leaves of the limit. */
const BACKOFF = 0.9
/** Two window medians in a row this far below the no-load latency replace it (nearer is noise). */
const FASTER = 0.9

/**
 * How far the latency moved with the calls in flight since the previous window: 0 if it stayed
 * where it was, 1 if it changed in proportion. Queueing makes latency proportional to the calls
 * in flight; service time does not move with them. `NaN` without a previous window.
 */
function followedLoad(latency: number, inFlight: number, previousLatency: number, previousInFlight: number): number {
  return (latency / previousLatency - 1) / (inFlight / previousInFlight - 1)
}

/** The median of the first `count` values (sorted in place). */
function median(values: number[], count: number): number {
  values.length = count
  values.sort((a, b) => a - b)
  const mid = count >> 1
  return count % 2 === 1 ? values[mid]! : (values[mid - 1]! + values[mid]!) / 2
}

/** The Vegas-style limit controller; see the module comment for the rule. */
export class VegasController {
  readonly min: number
  readonly max: number
  #limit: number

  /** The lowest window median latency since the last re-measurement; `NaN` before the first. */
  #noLoad = NaN
  /** Samples of attempts started before this time belong to an older limit and are ignored. */
  #windowStart = -Infinity
  readonly #latencies: number[] = []
  #count = 0
  #inFlightSum = 0
  /** Samples in which half the limit ran and the consumer waited. */
  #limitedCount = 0
  /** Overloads of attempts started before this time were answered by the last cut. */
  #lastCut = -Infinity
  /** The previous window's median latency and mean in-flight; `NaN` when there is none. */
  #previousLatency = NaN
  #previousInFlight = NaN
  /** When the next re-measurement is due; `NaN` until the first window. */
  #nextProbe = NaN
  /** Until the first sign of a queue, the limit doubles at every window (TCP's slow start). */
  #slowStart = true
  /** While re-measuring: the limit to go back to; `0` otherwise. */
  #restore = 0
  /** The limit before the previous window's cut for a queue; `0` if that window made none. */
  #beforeCut = 0
  /** This window is back at the limit before a cut, to check that the cut met no queue. */
  #checking = false

  constructor(min: number, max: number, initial: number) {
    this.min = min
    this.max = max
    this.#limit = initial
  }

  get limit(): number {
    return this.#limit
  }

  /** Starts over from `limit` (set by hand): the current window and any re-measurement end. */
  reset(limit: number, now: number): void {
    this.#limit = limit
    this.#restore = 0
    this.#beforeCut = 0
    this.#checking = false
    this.#newWindow(now)
  }

  /**
   * One attempt's outcome; returns the limit after it.
   *
   * @param startedAt - when the attempt started.
   * @param endedAt - when it ended (after `startedAt`, same clock).
   * @param inFlight - attempts running when it ended, itself included.
   * @param overload - it timed out or failed with an overload error.
   * @param waiting - a consumer was waiting for a result when it ended.
   */
  sample(startedAt: number, endedAt: number, inFlight: number, overload: boolean, waiting: boolean): number {
    if (overload) {
      if (startedAt >= this.#lastCut) {
        this.#restore = 0
        this.#beforeCut = 0
        this.#checking = false
        this.#cut(Math.floor(this.#limit * BACKOFF), endedAt)
        this.#newWindow(endedAt)
      }
      return this.#limit
    }
    if (startedAt < this.#windowStart) return this.#limit
    this.#latencies[this.#count++] = endedAt - startedAt
    this.#inFlightSum += inFlight
    if (waiting && inFlight * 2 >= this.#limit) this.#limitedCount++
    if (this.#count >= MIN_SAMPLES && this.#count >= this.#inFlightSum / this.#count) this.#closeWindow(endedAt)
    return this.#limit
  }

  #closeWindow(now: number): void {
    const latency = median(this.#latencies, this.#count)
    const inFlight = this.#inFlightSum / this.#count
    const limited = this.#limitedCount * 2 >= this.#count
    const previousLatency = this.#previousLatency
    const previousInFlight = this.#previousInFlight
    this.#previousLatency = latency
    this.#previousInFlight = inFlight
    this.#newWindow(now)

    if (this.#restore > 0) {
      const drained = inFlight <= 0.8 * previousInFlight && followedLoad(latency, inFlight, previousLatency, previousInFlight) >= 0.65
      if (drained && this.#limit > this.min) {
        this.#limit = Math.max(this.min, Math.floor(this.#limit / 2))
        return
      }
      this.#noLoad = latency
      this.#nextProbe = now + PROBE_INTERVAL
      if (limited) this.#limit = this.#restore
      this.#restore = 0
      // The next window's load is not comparable with this one's.
      this.#previousLatency = this.#previousInFlight = NaN
      return
    }

    if (Number.isNaN(this.#nextProbe)) this.#nextProbe = now + PROBE_INTERVAL
    const followed = followedLoad(latency, inFlight, previousLatency, previousInFlight)
    const beforeCut = this.#beforeCut
    this.#beforeCut = 0
    if (this.#checking) {
      this.#checking = false
      // Back at the limit before the cut, the latency did not rise with the calls: no queue here
      // either, the service got slower. The lower load's latency is its no-load latency.
      if (inFlight >= 1.5 * previousInFlight && followed <= 0.5) {
        this.#noLoad = Math.min(latency, previousLatency)
        this.#nextProbe = now + PROBE_INTERVAL
      }
    } else if (limited && beforeCut > 0 && inFlight * 1.5 <= previousInFlight && followed < 0.65) {
      // The cut left the latency where it was: check the other way, at the limit before it.
      this.#checking = true
      this.#limit = beforeCut
      return
    }
    // Re-measure the no-load latency when it is due, or when the latency moved against what a
    // queue would do: in slow start it rose with the calls (the initial limit already queued), or
    // after a cut it stayed where it was (the service got slower, or had fewer slots meanwhile).
    // Only while the calls are what holds the run back: otherwise the run would not come back.
    const suspect =
      (this.#slowStart && inFlight >= 1.25 * previousInFlight && followed >= 0.5) ||
      (inFlight <= 0.8 * previousInFlight && followed <= 0.5)
    if (limited && this.#limit > this.min && (suspect || now >= this.#nextProbe)) {
      this.#restore = this.#limit
      this.#limit = Math.max(this.min, Math.floor(this.#limit / 2))
      return
    }

    // Two windows in a row must show a lower latency: against a lucky median, a queue is phantom.
    const lower = Math.max(latency, previousLatency)
    if (Number.isNaN(this.#noLoad)) this.#noLoad = latency
    else if (lower < this.#noLoad * FASTER) this.#noLoad = lower
    const queue = inFlight * (1 - this.#noLoad / latency)
    const limit = this.#limit
    const alpha = Math.max(1, 0.1 * limit)
    const beta = Math.max(2, 0.2 * limit)
    if (queue >= alpha / 2) this.#slowStart = false
    if (queue > beta) {
      this.#cut(Math.max(Math.ceil(limit / 2), Math.round(inFlight - queue + alpha)), now)
      this.#beforeCut = limit
    } else if (limited && queue < alpha) {
      const step = this.#slowStart ? limit : queue < alpha / 2 ? Math.round(beta) : 1
      this.#limit = Math.min(this.max, limit + step)
    }
  }

  /** Lowers the limit to `limit` (at least one less, within bounds) and marks the time of the cut. */
  #cut(limit: number, now: number): void {
    this.#limit = Math.max(this.min, Math.min(this.#limit - 1, limit))
    this.#lastCut = now
    this.#slowStart = false
  }

  #newWindow(now: number): void {
    this.#windowStart = now
    this.#count = 0
    this.#inFlightSum = 0
    this.#limitedCount = 0
  }
}
