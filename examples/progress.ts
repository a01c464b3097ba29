/**
 * Shows `onProgress` snapshots on stderr: on a terminal, the command's own progress bar (cli-progress,
 * from src/cli/progress-bar.ts); when stderr is a file or a pipe, a plain line at every quarter (and
 * at the end), so that logs stay readable.
 */
import { createProgressBar } from '../src/cli/progress-bar.js'
import type { Progress } from '../src/index.js'

export interface ProgressView {
  /** Pass it as `onProgress`. */
  readonly update: (progress: Progress) => void
  /** Ends the bar, or prints the last snapshot if it has not been printed. */
  readonly stop: () => void
}

/** A progress display for a run of `total` items, titled `title`. */
export function progressView(title: string, total: number, stream: NodeJS.WriteStream = process.stderr): ProgressView {
  if (stream.isTTY) {
    const bar = createProgressBar({ stream, label: title.padEnd(10) })
    return { update: (p) => bar.update(p), stop: () => bar.stop() }
  }
  const summary = (p: Progress): string =>
    `${p.succeeded} ok, ${p.failed} failed, ${p.running} running, ${p.perSecond.toFixed(1)}/s`
  let quarters = 0
  let printed: Progress | undefined
  let last: Progress | undefined
  const print = (p: Progress): void => {
    printed = p
    stream.write(`${title}: ${p.done}/${total} done (${summary(p)})\n`)
  }
  return {
    update: (p) => {
      last = p
      const reached = Math.floor((4 * p.done) / Math.max(1, total))
      if (reached > quarters) {
        quarters = reached
        print(p)
      }
    },
    stop: () => {
      if (last !== undefined && last.done !== printed?.done) print(last)
    },
  }
}
