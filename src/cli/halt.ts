/**
 * `--halt`, as GNU parallel defines it: after enough jobs failed, succeeded or finished (a count or
 * a percentage of all jobs), stop `now` (kill the running jobs) or `soon` (start no more and wait
 * for the running ones).
 */
export interface HaltPolicy {
  readonly when: 'now' | 'soon'
  readonly why: 'fail' | 'success' | 'done'
  /** A number of jobs, or `undefined` when {@link percent} is given. */
  readonly count: number | undefined
  /** A percentage of all jobs (1 to 100), or `undefined` when {@link count} is given. */
  readonly percent: number | undefined
}

/** GNU parallel's short forms. */
const SHORT_FORMS: Record<string, string> = {
  '1': 'soon,fail=1',
  '2': 'now,fail=1',
  '-1': 'soon,success=1',
  '-2': 'now,success=1',
}

const EXPECTED = 'never, now or soon with fail, success or done and a count or a percentage (now,fail=1, soon,fail=10%)'

/**
 * Reads a `--halt` value: `never` (or `0`), `now|soon,fail|success|done=N` or `=N%`, GNU parallel's
 * short forms `1`, `2`, `-1`, `-2`, and `N%` for `soon,fail=N%`. Returns `undefined` for never.
 *
 * @throws Error whose message says what a valid value is.
 */
export function parseHalt(text: string): HaltPolicy | undefined {
  if (text === 'never' || text === '0') return undefined
  const long = SHORT_FORMS[text] ?? (/^\d+%$/.test(text) ? `soon,fail=${text}` : text)
  const match = /^(now|soon),(fail|success|done)=(\d+)(%?)$/.exec(long)
  if (match === null) throw new Error(EXPECTED)
  const amount = Number(match[3])
  const percent = match[4] === '%'
  if (amount < 1 || (percent && amount > 100)) throw new Error(EXPECTED)
  return {
    when: match[1] as HaltPolicy['when'],
    why: match[2] as HaltPolicy['why'],
    count: percent ? undefined : amount,
    percent: percent ? amount : undefined,
  }
}

/** Jobs finished so far. */
export interface Tally {
  readonly succeeded: number
  readonly failed: number
}

/**
 * Whether the job that just finished (already counted in `tally`) makes the policy halt. As GNU
 * parallel does, only a job of the kind the policy counts can trigger it, and a percentage is of
 * `total`, all the jobs of the run.
 */
export function haltsNow(policy: HaltPolicy, tally: Tally, jobFailed: boolean, total: number | undefined): boolean {
  let reached: number
  if (policy.why === 'done') reached = tally.succeeded + tally.failed
  else if (policy.why === 'fail' && jobFailed) reached = tally.failed
  else if (policy.why === 'success' && !jobFailed) reached = tally.succeeded
  else return false
  const needed = policy.count ?? ((total ?? 0) * policy.percent!) / 100
  return needed > 0 && reached >= needed
}

/**
 * GNU parallel's exit status for a run that `--halt` cut short, fixed at the moment it halted:
 * `success=…`: 0; `fail=1` or `done=1`: the status of the job that triggered it (its exit code, or
 * 128 + the signal that killed it); a percentage: the failed jobs' percentage of all jobs, rounded
 * up; otherwise the number of failed jobs, at most 101.
 */
export function haltStatus(policy: HaltPolicy, tally: Tally, jobStatus: number, total: number | undefined): number {
  if (policy.why === 'success') return 0
  if (policy.percent !== undefined) return Math.ceil((100 * tally.failed) / Math.max(1, total ?? 0))
  if (policy.count === 1) return jobStatus
  return Math.min(tally.failed, 101)
}

/** The policy as GNU parallel writes it, for messages: `soon,fail=3`, `now,success=10%`. */
export function describeHalt(policy: HaltPolicy): string {
  return `${policy.when},${policy.why}=${policy.count ?? `${policy.percent}%`}`
}
