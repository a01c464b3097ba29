import cliProgress from 'cli-progress'
import type { Progress } from '../types.js'

/** Options of {@link createProgressBar}. */
export interface ProgressBarOptions {
  /** Where the bar is drawn. Default `process.stderr`. Nothing is drawn unless it is a terminal. */
  readonly stream?: NodeJS.WriteStream
  /** Text shown before the bar. Default none. */
  readonly label?: string
}

/** A terminal progress bar fed with {@link Progress} snapshots. */
export interface ProgressBar {
  /** Draws the snapshot (the first call shows the bar; redraws are throttled to 10 per second). */
  update(progress: Progress): void
  /**
   * Writes `chunk` to `stream` without tearing the bar: on the terminal, the bar is taken off, the
   * text printed (ended with a newline if it lacks one) and the bar drawn again below it. Returns
   * what `stream.write` returned, for backpressure.
   */
  write(stream: NodeJS.WriteStream, chunk: string | Uint8Array): boolean
  /** Draws the last snapshot one final time and leaves it on its own line. Later calls do nothing. */
  stop(): void
}

/** A bar that draws nothing and prints straight away: for when progress is not wanted. */
export const NO_PROGRESS_BAR: ProgressBar = {
  update() {},
  write(stream, chunk) {
    return stream.write(chunk)
  },
  stop() {},
}

interface Payload {
  progress: Progress
  /** `Date.now()` when the snapshot arrived: the elapsed time keeps counting between snapshots. */
  receivedAt: number
}

/**
 * Creates a progress bar (cli-progress) that shows done, failed and running items, the rate, and
 * the ETA when the snapshots carry a `total` (without one, the elapsed time instead of a bar).
 * Returns a bar that draws nothing when the stream is not a terminal.
 *
 * @example
 * ```ts
 * const bar = createProgressBar()
 * for await (const r of parallelMap(work, { total: items.length, onProgress: (p) => bar.update(p) })(items)) {
 *   bar.write(process.stdout, `${r}\n`)
 * }
 * bar.stop()
 * ```
 */
export function createProgressBar(options: ProgressBarOptions = {}): ProgressBar {
  const stream = options.stream ?? process.stderr
  if (!stream.isTTY) return NO_PROGRESS_BAR
  const label = options.label
  const bar = new cliProgress.SingleBar({
    stream,
    format: (barOptions, params, payload: Payload) => render(label, barOptions, params, payload),
    // Room for the counters beside the bar, so that the line fits an 80-column terminal.
    barsize: Math.max(8, Math.min(24, (stream.columns || 80) - 76)),
    barCompleteChar: '\u2588',
    barIncompleteChar: '\u2591',
    hideCursor: true,
    // Wrapping stays on: printed lines must not be cut at the terminal's edge.
    linewrap: true,
    // The line is redrawn after printing even if its text did not change.
    forceRedraw: true,
  })
  let stopped = false
  return {
    update(progress) {
      if (stopped) return
      const payload: Payload = { progress, receivedAt: Date.now() }
      if (!bar.isActive) bar.start(progress.total ?? 0, progress.done, payload)
      else if (progress.total !== undefined && progress.total !== bar.getTotal()) bar.setTotal(progress.total)
      bar.update(progress.done, payload)
    },
    write(target, chunk) {
      if (!bar.isActive || !target.isTTY) return target.write(chunk)
      stream.write('\r\x1b[2K')
      const written = target.write(chunk)
      const endsLine = typeof chunk === 'string' ? chunk.endsWith('\n') : chunk.at(-1) === 0x0a
      if (chunk.length > 0 && !endsLine) target.write('\n')
      // cli-progress restores the cursor position saved at start when it stops: save it here instead.
      stream.write('\x1b7')
      bar.render()
      return written
    },
    stop() {
      if (stopped) return
      stopped = true
      if (bar.isActive) bar.stop()
    },
  }
}

function render(
  label: string | undefined,
  barOptions: cliProgress.Options,
  params: cliProgress.Params,
  { progress, receivedAt }: Payload,
): string {
  const parts: string[] = label === undefined ? [] : [label]
  if (progress.total !== undefined) {
    const bar = cliProgress.Format.BarFormat(params.progress, barOptions)
    parts.push(`${bar} ${Math.floor(progress.percent ?? 0)}% ${progress.done}/${progress.total}`)
  } else {
    parts.push(`${progress.done} done`)
  }
  parts.push(`${progress.failed} failed`, `${progress.running} running`, `${progress.perSecond.toFixed(1)}/s`)
  if (progress.etaMs !== undefined) parts.push(`ETA ${formatDuration(progress.etaMs)}`)
  else parts.push(`${formatDuration(progress.elapsedMs + Date.now() - receivedAt)} elapsed`)
  return parts.join(' | ')
}

/** `42s`, `3m 05s`, `1h 02m`. */
function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000)
  if (seconds < 60) return `${seconds}s`
  const minutes = Math.floor(seconds / 60)
  if (minutes < 60) return `${minutes}m ${String(seconds % 60).padStart(2, '0')}s`
  return `${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, '0')}m`
}
