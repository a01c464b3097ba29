/**
 * Shows `onProgress` snapshots on stderr: a live cli-progress bar on a terminal, and a plain line at
 * every quarter (and at the end) when stderr is a file or a pipe, so that logs stay readable.
 */
import cliProgress from 'cli-progress'
import type { Progress } from '../src/index.js'

export interface ProgressView {
  /** Pass it as `onProgress`. */
  readonly update: (progress: Progress) => void
  /** Ends the bar, or prints the last snapshot if it has not been printed. */
  readonly stop: () => void
}

function summary(p: Progress): string {
  return `${p.succeeded} ok, ${p.failed} failed, ${p.running} running, ${p.perSecond.toFixed(1)}/s`
}

/** A progress display for a run of `total` items, titled `title`. */
export function progressView(title: string, total: number, stream: NodeJS.WriteStream = process.stderr): ProgressView {
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        stream,
        format: `${title.padEnd(12)} [{bar}] {percentage}% {value}/{total} | {summary} | ETA {eta_formatted}`,
        hideCursor: true,
      },
      cliProgress.Presets.shades_classic,
    )
    bar.start(total, 0, { summary: '' })
    return {
      update: (p) => bar.update(p.done, { summary: summary(p) }),
      stop: () => bar.stop(),
    }
  }
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
