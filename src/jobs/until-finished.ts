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

/** Validates wait options and returns the timeout, if any. */
export function readTimeout(options: unknown): number | undefined {
  const o = checkOptions<WaitOptions>('options', options, { timeout: true })
  if (o.timeout === undefined || o.timeout === Infinity) return undefined
  return checkMaxDelay('timeout', checkNumber('timeout', o.timeout, 0))
}

/**
 * Resolves with the finished jobs, in the order they finished (those already finished first, in
 * the given order, each job once), once all of them (`all`) or one of them has finished; with
 * `undefined` at the timeout. No jobs count as all finished and as none finished. Never rejects.
 * Listens to `statechange` (a job leaves `'Running'` once), and on either outcome removes every
 * listener and clears its timer, so that a wait that timed out leaves nothing behind.
 */
export function untilFinished<J extends Finishing>(
  jobs: Iterable<J>,
  all: boolean,
  timeout: number | undefined,
): Promise<J[] | undefined> {
  const unique = [...new Set(jobs)]
  const needed = all ? unique.length : Math.min(1, unique.length)
  const finished = unique.filter((job) => job.state !== 'Running')
  if (finished.length >= needed) return Promise.resolve(finished)
  return new Promise((resolve) => {
    const running = unique.filter((job) => job.state === 'Running')
    let timer: ReturnType<typeof setTimeout> | undefined
    const end = (result: J[] | undefined): void => {
      if (timer !== undefined) clearTimeout(timer)
      for (const job of running) job.removeEventListener('statechange', onChange)
      resolve(result)
    }
    const onChange = (event: Event): void => {
      finished.push(event.target as J)
      if (finished.length >= needed) end(finished)
    }
    for (const job of running) job.addEventListener('statechange', onChange, { once: true })
    if (timeout !== undefined) timer = setTimeout(end, timeout, undefined)
  })
}
