/// <reference lib="esnext.disposable" preserve="true" />
// Declares AsyncDisposable for consumers whose lib setting lacks it.
import { checkDuration, checkOneOf, checkOptions, checkSource, describe, TimeoutError } from '../errors.js'
import { StepIterator, type Step } from '../internal/step-iterator.js'
import type { Source } from '../types.js'

/** Options of {@link timeout}. At least one of `total` and `each` is required. */
export interface TimeoutOptions {
  /** Deadline of the whole run in ms, counted from the first `next()`. Finite number > 0. */
  readonly total?: number
  /**
   * Most ms to wait for any one item, counted from when it is asked of the source (once its
   * `next()` has returned). Finite number > 0.
   */
  readonly each?: number
  /** `'error'` (default): a pending `next()` rejects with `TimeoutError`. `'end'`: the iteration ends quietly. */
  readonly onTimeout?: 'error' | 'end'
}

type Timer = ReturnType<typeof setTimeout>

class TimeoutIterator<T> extends StepIterator<T, T> {
  readonly #total: number | undefined
  readonly #each: number | undefined
  readonly #quiet: boolean
  #totalTimer: Timer | undefined
  /**
   * One timer for `each`, not one per item: when it fires it checks the deadline of the pull under
   * way (`performance.now()` ms, `Infinity` when none is), and waits again for what is left of it.
   */
  #eachTimer: Timer | undefined
  #eachDeadline = Infinity
  /** The step's pull has not answered yet (see {@link step}). */
  #waiting = false

  constructor(source: Source<T>, total: number | undefined, each: number | undefined, quiet: boolean) {
    super(source)
    this.#total = total
    this.#each = each
    this.#quiet = quiet
  }

  protected override start(): void {
    if (this.#total !== undefined) {
      this.#totalTimer = setTimeout(this.#expire, this.#total, `The run timed out after ${this.#total} ms`)
    }
  }

  protected override stop(): void {
    clearTimeout(this.#totalTimer)
    clearTimeout(this.#eachTimer)
  }

  protected override step(): Step<T> {
    const each = this.#each
    if (each === undefined) return this.pullThen(passOn)
    this.#waiting = true
    const step = this.pullThen(this.#arrived)
    // An item the source had ready needs no deadline (nor a clock read): only a wait has one.
    if (this.#waiting) {
      this.#eachDeadline = performance.now() + each
      this.#eachTimer ??= setTimeout(this.#checkEach, each)
    }
    return step
  }

  readonly #arrived = (result: IteratorResult<T>): IteratorResult<T> => {
    this.#waiting = false
    this.#eachDeadline = Infinity
    return result
  }

  readonly #checkEach = (): void => {
    this.#eachTimer = undefined
    // No pull under way: the next one sets a timer again.
    if (this.#eachDeadline === Infinity) return
    // Timers may fire a little early against performance.now(): wait for what is left, in whole ms.
    const left = this.#eachDeadline - performance.now()
    if (left > 0) this.#eachTimer = setTimeout(this.#checkEach, Math.ceil(left))
    else this.#expire(`No item came within ${this.#each} ms`)
  }

  /** Whether a pending `next()` waits or not, the deadline closes the source now. */
  readonly #expire = (message: string): void => {
    if (this.#quiet) this.end()
    else this.fail(new TimeoutError(message))
  }
}

function passOn<T>(result: IteratorResult<T>): IteratorResult<T> {
  return result
}

/**
 * A deadline for a stream. `timeout(ms)` bounds the whole run, like PowerShell's
 * `-TimeoutSeconds`: its clock starts at the first `next()`. With `each`, the wait for every item
 * is bounded too, counted from when that item is asked of the source.
 *
 * At the deadline the source is closed at once (its `return()` is called, so an upstream
 * {@link parallelMap} aborts its in-flight work and settles it) and a pending `next()` rejects with
 * {@link TimeoutError} at once, or resolves done with `onTimeout: 'end'`; with no `next()` pending,
 * the next call gets that answer. An async generator as the source cannot be stopped while it is
 * busy in an `await`: the language queues its `return()` until that `await` is over, and its
 * `finally` blocks run then. The deadline still fires on time; the generator's late item is dropped.
 *
 * @param msOrOptions - `ms` (finite > 0) for `{ total: ms }`, or {@link TimeoutOptions}.
 * @throws TypeError or RangeError for invalid arguments, when `timeout` is called; TypeError when
 *   the operator is applied to a non-source. Iterating rejects with `TimeoutError` at a deadline.
 * @example
 * ```ts
 * // Whatever has finished within a minute; the rest is aborted.
 * const done = await collect(pipe(urls, parallelMap(fetchStatus), timeout({ total: 60_000, onTimeout: 'end' })))
 * ```
 */
export function timeout(msOrOptions: number | TimeoutOptions): <T>(source: Source<T>) => AsyncIterableIterator<T> & AsyncDisposable {
  let total: number | undefined
  let each: number | undefined
  let quiet = false
  if (typeof msOrOptions === 'number') {
    total = checkDuration('ms', msOrOptions)
  } else {
    if (typeof msOrOptions !== 'object' || msOrOptions === null) {
      throw new TypeError(`Expected ms or options to be a number or an object, got ${describe(msOrOptions)}`)
    }
    const o = checkOptions<TimeoutOptions>('options', msOrOptions, { total: true, each: true, onTimeout: true })
    total = o.total === undefined ? undefined : checkDuration('total', o.total)
    each = o.each === undefined ? undefined : checkDuration('each', o.each)
    quiet = o.onTimeout !== undefined && checkOneOf('onTimeout', o.onTimeout, ['error', 'end']) === 'end'
    if (total === undefined && each === undefined) {
      throw new TypeError('Expected options to set total or each, got neither')
    }
  }
  return <T>(source: Source<T>) => {
    checkSource(source)
    return new TimeoutIterator(source, total, each, quiet)
  }
}
