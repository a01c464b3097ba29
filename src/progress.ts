import type { Progress } from './types.js'

/**
 * Counts a run's items and turns the counts into {@link Progress} snapshots. Shared by the
 * scheduler, jobs and the command so that they all report the same shape.
 */
export class ProgressCounter {
  started = 0
  running = 0
  succeeded = 0
  failed = 0
  /** The concurrency limit in force; its owner keeps it current. */
  limit = 0
  readonly #startedAt: number
  readonly #total: number | undefined

  constructor(total?: number, now = performance.now()) {
    this.#total = total
    this.#startedAt = now
  }

  snapshot(now = performance.now()): Progress {
    const done = this.succeeded + this.failed
    const elapsedMs = now - this.#startedAt
    const perSecond = elapsedMs > 0 ? (done * 1000) / elapsedMs : 0
    const progress: { -readonly [K in keyof Progress]: Progress[K] } = {
      started: this.started,
      running: this.running,
      succeeded: this.succeeded,
      failed: this.failed,
      done,
      limit: this.limit,
      elapsedMs,
      perSecond,
    }
    const total = this.#total
    if (total !== undefined) {
      progress.total = total
      progress.percent = total > 0 ? Math.min(100, (100 * done) / total) : 100
      if (done > 0) progress.etaMs = Math.max(0, ((total - done) * elapsedMs) / done)
    }
    return progress
  }
}
