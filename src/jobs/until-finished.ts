import { checkMaxDelay, checkNumber, checkOptions } from '../errors.js'

/** What {@link untilFinished} needs of a job: its state and its `statechange` event. */
export interface Finishing extends EventTarget {
  readonly state: string
}

/** Options of `job.wait()`, `waitAll()` and `waitAny()`. */
export interface WaitOptions {
  /**
   * Most milliseconds to wait: >= 0 and at most 2147483647 (the longest timer delay), or `Infinity`
   * for no timeout. At the timeout the promise resolves (`false` or
   * `undefined`), it never rejects, and the jobs keep running. Default: no timeout.
   */
  readonly timeout?: number
}

/** Whether a job state is one of the final ones, which a job never leaves. */
export function isFinished(state: string): boolean {
  return state === 'Completed' || state === 'Failed' || state === 'Stopped'
}

/**
 * A `timeout` option in ms: >= 0 and at most the longest timer delay, or `Infinity`, which gives
 * `undefined` (no timer at all).
 */
export function checkTimeout(value: unknown): number | undefined {
  if (value === Infinity) return undefined
  return checkMaxDelay('timeout', checkNumber('timeout', value, 0))
}

/** Validates wait options and returns the timeout, if any. */
export function readTimeout(options: unknown): number | undefined {
  const o = checkOptions<WaitOptions>('options', options, { timeout: true })
  return o.timeout === undefined ? undefined : checkTimeout(o.timeout)
}

/**
 * Resolves with the finished jobs, in the order they finished (those already finished first, in
 * the given order, each job once), once all of them (`all`) or one of them has finished; with
 * `undefined` at the timeout. No jobs count as all finished and as none finished. Never rejects.
 * Listens to `statechange` (a job reaches a final state once, maybe after `'NotStarted'` →
 * `'Running'`), and on either outcome removes every listener and clears its timer, so that a wait
 * that timed out leaves nothing behind.
 */
export function untilFinished<J extends Finishing>(
  jobs: Iterable<J>,
  all: boolean,
  timeout: number | undefined,
): Promise<J[] | undefined> {
  const unique = [...new Set(jobs)]
  const needed = all ? unique.length : Math.min(1, unique.length)
  const finished = unique.filter((job) => isFinished(job.state))
  if (finished.length >= needed) return Promise.resolve(finished)
  return new Promise((resolve) => {
    const unfinished = unique.filter((job) => !isFinished(job.state))
    let timer: ReturnType<typeof setTimeout> | undefined
    const end = (result: J[] | undefined): void => {
      if (timer !== undefined) clearTimeout(timer)
      for (const job of unfinished) job.removeEventListener('statechange', onChange)
      resolve(result)
    }
    const onChange = (event: Event): void => {
      const job = event.target as J
      if (!isFinished(job.state)) return
      job.removeEventListener('statechange', onChange)
      finished.push(job)
      if (finished.length >= needed) end(finished)
    }
    for (const job of unfinished) job.addEventListener('statechange', onChange)
    if (timeout !== undefined) timer = setTimeout(end, timeout, undefined)
  })
}
