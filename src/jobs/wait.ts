import { describe } from '../errors.js'
import { Job } from './job.js'
import { readTimeout, untilFinished, type WaitOptions } from './until-finished.js'

function checkJobs<J extends Job<unknown>>(jobs: unknown): J[] {
  const iterable = jobs as Iterable<unknown> | null | undefined
  if (typeof iterable?.[Symbol.iterator] !== 'function' || typeof jobs === 'string') {
    throw new TypeError(`Expected jobs to be an iterable of Jobs, got ${describe(jobs)}`)
  }
  const list = [...iterable]
  list.forEach((job, index) => {
    if (!(job instanceof Job)) throw new TypeError(`Expected jobs[${index}] to be a Job, got ${describe(job)}`)
  })
  return list as J[]
}

/**
 * Resolves `true` once every job has finished (`Wait-Job` on several jobs), or `false` at the
 * `timeout`. Never rejects, even for failed jobs; leaves the jobs running at the timeout; removes
 * its listeners and clears its timer either way. An empty list resolves `true` at once.
 *
 * @param jobs - an iterable of {@link Job}s; a job listed twice counts once.
 * @throws TypeError or RangeError at once for invalid arguments.
 *
 * @example
 * ```ts
 * const jobs = shards.map((shard) => startJob(({ signal }) => parallelMap(index, { signal })(shard)))
 * if (!(await waitAll(jobs, { timeout: 60_000 }))) await Promise.all(jobs.map((job) => job.stop()))
 * ```
 */
export function waitAll(jobs: Iterable<Job<unknown>>, options?: WaitOptions): Promise<boolean> {
  const list = checkJobs(jobs)
  const timeout = readTimeout(options)
  return untilFinished(list, true, timeout).then((finished) => finished !== undefined)
}

/**
 * Resolves with the first job to finish (`Wait-Job -Any`), or with `undefined` at the `timeout`.
 * If some have finished already, it is the first of those in the given order. Never rejects, even
 * for a failed job; removes its listeners and clears its timer either way. An empty list resolves
 * `undefined` at once.
 *
 * @param jobs - an iterable of {@link Job}s.
 * @throws TypeError or RangeError at once for invalid arguments.
 *
 * @example
 * ```ts
 * const first = await waitAny([primary, mirror], { timeout: 10_000 })
 * ```
 */
export function waitAny<J extends Job<any>>(jobs: Iterable<J>, options?: WaitOptions): Promise<J | undefined> {
  const list = checkJobs<J>(jobs)
  const timeout = readTimeout(options)
  return untilFinished(list, false, timeout).then((finished) => finished?.[0])
}
