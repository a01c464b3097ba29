import { checkBoolean, checkInteger, checkObject, checkOneOf, checkOptions, checkString, describe } from '../errors.js'
import { Job, START_LATER, type JobOptions, type JobSource, type JobState, type QueuedJobOptions } from './job.js'
import { checkTimeout, isFinished, untilFinished, type WaitOptions } from './until-finished.js'

/** Options of `new JobTable()`. */
export interface JobTableOptions {
  /**
   * Most jobs of the table `'Running'` at once (integer >= 1, or `Infinity`): a job started beyond
   * it waits as `'NotStarted'`, its source untouched, and starts when a running one finishes, in
   * start order (ThreadJob's `-ThrottleLimit`). Default `Infinity`.
   */
  readonly throttleLimit?: number
}

/** Which jobs `table.list()` returns (`Get-Job -State`, `Get-Job -Name`). */
export interface JobFilter {
  /** Only jobs in this state. */
  readonly state?: JobState
  /** Only jobs with this name; `*` matches any run of characters (`'backup-*'`). Case-sensitive. */
  readonly name?: string
}

/** Options of `table.remove()`. */
export interface RemoveOptions {
  /**
   * `true`: stop a `'Running'` or `'NotStarted'` job first (`Remove-Job -Force`). Default `false`:
   * removing a job that has not finished throws.
   */
  readonly force?: boolean
}

/** Options of `table.wait()`. */
export interface TableWaitOptions extends WaitOptions {
  /** `true`: resolve once one job has finished (`Wait-Job -Any`). Default `false`: all of them. */
  readonly any?: boolean
  /** Wait only for the jobs in this state when `wait()` is called (`Wait-Job -State`). */
  readonly state?: JobState
}

const STATES: readonly JobState[] = ['NotStarted', 'Running', 'Completed', 'Failed', 'Stopped']

/** A queued job's start function, kept until a slot is free. */
interface Queued {
  readonly job: Job<unknown>
  readonly start: () => void
}

/** `name` with `*` wildcards as a test; without a `*`, plain equality. */
function nameMatcher(pattern: string): (name: string) => boolean {
  if (!pattern.includes('*')) return (name) => name === pattern
  const escaped = pattern.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
  const regex = new RegExp(`^${escaped.join('.*')}$`, 's')
  return (name) => regex.test(name)
}

/**
 * PowerShell's job table (`Get-Job`, `Receive-Job`, `Wait-Job`, `Remove-Job`) and ThreadJob's
 * throttled queue, as a value: every table is its own, there is no global one. Jobs stay in the
 * table, whatever their state, until `remove()` (PowerShell keeps them until `Remove-Job` too).
 *
 * `T` is the type of the jobs' results, `unknown` by default: `start()` accepts any job whose
 * results are a `T`.
 *
 * @example
 * ```ts
 * await using table = new JobTable<Report>({ throttleLimit: 2 })
 * for (const host of hosts) table.start(({ signal }) => parallelMap(check, { signal })(host.disks), { name: host.name })
 * await table.wait()
 * for (const job of table.list({ state: 'Failed' })) console.error(job.name, job.error)
 * const reports = table.receive()
 * ```
 */
export class JobTable<T = unknown> implements AsyncDisposable {
  /** The `throttleLimit` option: most jobs `'Running'` at once. */
  readonly throttleLimit: number

  /** Every job of the table, by id; a `Map` keeps start order. */
  readonly #jobs = new Map<number, Job<T>>()
  /** Jobs held back by the throttle, in start order. */
  readonly #queue: Queued[] = []
  /** Jobs this table has started that have not finished, removed or not: they hold the slots. */
  #running = 0

  /**
   * @param options - see {@link JobTableOptions}.
   * @throws TypeError or RangeError at once for invalid options.
   */
  constructor(options?: JobTableOptions) {
    const o = checkOptions<JobTableOptions>('options', options, { throttleLimit: true })
    this.throttleLimit = o.throttleLimit === undefined ? Infinity : checkInteger('throttleLimit', o.throttleLimit, 1, true)
  }

  /**
   * Starts a job in the table, as {@link startJob} does, or queues it as `'NotStarted'` while
   * `throttleLimit` jobs of the table are running (its factory is not called and its source not
   * touched until it starts). Queued jobs start in start order as running ones finish.
   *
   * @throws TypeError or RangeError at once, as `startJob` does.
   */
  start<U extends T>(source: JobSource<U>, options?: JobOptions): Job<U> {
    let job: Job<U>
    if (this.#running < this.throttleLimit && this.#queue.length === 0) {
      job = new Job(source, options)
      this.#running++
    } else {
      let start!: () => void
      const queued: QueuedJobOptions = {
        ...(options === undefined ? {} : checkObject<JobOptions>('options', options)),
        [START_LATER]: (startJob) => (start = startJob),
      }
      job = new Job(source, queued)
      this.#queue.push({ job, start })
    }
    this.#jobs.set(job.id, job)
    job.addEventListener('statechange', this.#onStateChange)
    return job
  }

  /**
   * The job with this id, or the first one (in start order) with this exact name; `undefined` if
   * there is none in the table.
   *
   * @throws TypeError at once when `idOrName` is neither a number nor a string.
   */
  get(idOrName: number | string): Job<T> | undefined {
    if (typeof idOrName === 'number') return this.#jobs.get(idOrName)
    if (typeof idOrName === 'string') return this.#named(idOrName)[0]
    throw new TypeError(`Expected idOrName to be a job id or name, got ${describe(idOrName)}`)
  }

  /**
   * The jobs of the table in start order (`Get-Job`), only those in `state` and whose name matches
   * `name` (with `*` wildcards) when given.
   *
   * @throws TypeError at once for invalid options.
   */
  list(filter?: JobFilter): Job<T>[] {
    const o = checkOptions<JobFilter>('filter', filter, { state: true, name: true })
    const state = o.state === undefined ? undefined : checkOneOf('state', o.state, STATES)
    const matches = o.name === undefined ? undefined : nameMatcher(checkString('name', o.name))
    const jobs: Job<T>[] = []
    for (const job of this.#jobs.values()) {
      if ((state === undefined || job.state === state) && (matches === undefined || matches(job.name))) jobs.push(job)
    }
    return jobs
  }

  /**
   * Removes a finished job and its buffered results from the table (`Remove-Job`); a name removes
   * every job with that exact name. A `'Running'` or `'NotStarted'` job needs `force`, which stops
   * it first (see `job.stop()`); it leaves the table at once, and the promise resolves once it has
   * stopped. Every refusal is thrown at once, before anything is removed; the promise never rejects.
   *
   * @throws TypeError for a `job` that is not a Job, an id or a name, and for invalid options;
   *   RangeError for an id, a name or a Job that is not in the table; Error for a job that has not
   *   finished, without `force`.
   */
  remove(job: Job<T> | number | string, options?: RemoveOptions): Promise<void> {
    const o = checkOptions<RemoveOptions>('options', options, { force: true })
    const force = o.force === undefined ? false : checkBoolean('force', o.force)
    const jobs = this.#find(job)
    const unfinished = jobs.find((found) => !isFinished(found.state))
    if (unfinished !== undefined && !force) {
      throw new Error(
        `Job ${unfinished.id} (${unfinished.name}) is ${unfinished.state}: stop it first, or remove it with force: true`,
      )
    }
    for (const found of jobs) this.#jobs.delete(found.id)
    return Promise.all(jobs.map((found) => found.stop().then(() => found.receive()))).then(() => undefined)
  }

  /**
   * The results of every job of the table, in job start order, each job's oldest first, removed as
   * `job.receive()` removes them (`Get-Job | Receive-Job`).
   */
  receive(): T[] {
    const results: T[] = []
    for (const job of this.#jobs.values()) results.push(...job.receive())
    return results
  }

  /**
   * Resolves `true` once every job of the table has finished (`Wait-Job`), or one of them with
   * `any` (`Wait-Job -Any`); `false` at the `timeout`. The jobs waited for are those in the table
   * (and in `state`, if given) when `wait()` is called; with none, it resolves `true` at once.
   * Never rejects, even for failed jobs; leaves the jobs running at the timeout; removes its
   * listeners and clears its timer either way.
   *
   * @throws TypeError or RangeError at once for invalid options.
   */
  wait(options?: TableWaitOptions): Promise<boolean> {
    const o = checkOptions<TableWaitOptions>('options', options, { any: true, state: true, timeout: true })
    const any = o.any === undefined ? false : checkBoolean('any', o.any)
    const state = o.state === undefined ? undefined : checkOneOf('state', o.state, STATES)
    const timeout = o.timeout === undefined ? undefined : checkTimeout(o.timeout)
    return untilFinished(this.list({ state }), !any, timeout).then((finished) => finished !== undefined)
  }

  /**
   * Stops and removes every job of the table, for `await using table = new JobTable()`; resolves
   * once they have stopped (each within `job.stop()`'s default timeout).
   */
  [Symbol.asyncDispose](): Promise<void> {
    // Running jobs finish asynchronously, so every queued job is stopped before a slot frees.
    return Promise.all(this.list().map((job) => this.remove(job, { force: true }))).then(() => undefined)
  }

  #named(name: string): Job<T>[] {
    return [...this.#jobs.values()].filter((job) => job.name === name)
  }

  /** The jobs `remove()` means; throws when there are none. */
  #find(target: unknown): Job<T>[] {
    if (target instanceof Job) {
      if (this.#jobs.get(target.id) !== target) {
        throw new RangeError(`Job ${target.id} (${target.name}) is not in this table`)
      }
      return [target as Job<T>]
    }
    if (typeof target === 'number') {
      const job = this.#jobs.get(target)
      if (job === undefined) throw new RangeError(`No job with id ${target} in this table`)
      return [job]
    }
    if (typeof target === 'string') {
      const jobs = this.#named(target)
      if (jobs.length === 0) throw new RangeError(`No job named ${JSON.stringify(target)} in this table`)
      return jobs
    }
    throw new TypeError(`Expected job to be a Job, a job id or a job name, got ${describe(target)}`)
  }

  /** Frees a job's slot, or its place in the queue, when it finishes; starts queued jobs. */
  readonly #onStateChange = (event: Event): void => {
    const job = event.target as Job<unknown>
    if (!isFinished(job.state)) return
    job.removeEventListener('statechange', this.#onStateChange)
    const queued = this.#queue.findIndex((entry) => entry.job === job)
    if (queued >= 0) this.#queue.splice(queued, 1)
    else this.#running--
    while (this.#running < this.throttleLimit && this.#queue.length > 0) {
      this.#running++
      this.#queue.shift()!.start()
    }
  }
}
