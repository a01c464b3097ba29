import { afterEach, describe, expect, it, vi } from 'vitest'
import { createProgressBar, NO_PROGRESS_BAR } from '../../src/cli/progress-bar.js'
import type { Progress } from '../../src/types.js'

/** A stand-in terminal that records what is written to it. */
function terminal(isTTY = true) {
  const stream = {
    isTTY,
    columns: 100,
    text: '',
    write(chunk: string | Uint8Array) {
      stream.text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString()
      return true
    },
    cursorTo(_x: number, _y?: number, callback?: () => void) {
      stream.write('\x1b[G')
      callback?.()
      return true
    },
    clearLine(_dir: number, callback?: () => void) {
      stream.write('\x1b[K')
      callback?.()
      return true
    },
  }
  return stream
}
type Terminal = ReturnType<typeof terminal>
const asStream = (t: Terminal) => t as unknown as NodeJS.WriteStream

const progress = (done: number, extra: Partial<Progress> = {}): Progress => ({
  started: done + 1,
  running: 1,
  succeeded: done,
  failed: 0,
  done,
  limit: 5,
  elapsedMs: 2000,
  perSecond: done / 2,
  ...extra,
})

afterEach(() => {
  vi.useRealTimers()
})

describe('createProgressBar', () => {
  it('draws nothing and prints straight through when the stream is not a terminal', () => {
    const err = terminal(false)
    expect(createProgressBar({ stream: asStream(err) })).toBe(NO_PROGRESS_BAR)
    const out = terminal(false)
    expect(NO_PROGRESS_BAR.write(asStream(out), 'line\n')).toBe(true)
    expect(out.text).toBe('line\n')
  })

  it('shows a bar, the percentage and the ETA when the total is known', () => {
    vi.useFakeTimers()
    const err = terminal()
    const bar = createProgressBar({ stream: asStream(err), label: 'files' })
    bar.update(progress(2, { total: 4, percent: 50, etaMs: 65_000 }))
    bar.stop()
    expect(err.text).toContain(`files | ${'\u2588'.repeat(12)}${'\u2591'.repeat(12)} 50% 2/4 | 0 failed | 1 running | 1.0/s | ETA 1m 05s`)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('narrows the bar so that the line fits an 80-column terminal', () => {
    vi.useFakeTimers()
    const err = Object.assign(terminal(), { columns: 80 })
    const bar = createProgressBar({ stream: asStream(err), label: 'health    ' })
    bar.update(progress(99, { total: 100, percent: 99, running: 10, failed: 8, perSecond: 147.2, etaMs: 0 }))
    bar.stop()
    // The text between two escape sequences, without the leading control sequence's parameters.
    const line = err.text
      .split('\x1b')
      .find((part) => part.includes('99%'))!
      .replace(/^\[[0-9;]*[A-Za-z]/, '')
    expect(line).toContain(`health     | ${'\u2588'.repeat(8)} 99% 99/100 | 8 failed | 10 running`)
    expect(line.length).toBeLessThanOrEqual(80)
  })

  it('shows counts and the elapsed time without a total', () => {
    vi.useFakeTimers()
    const err = terminal()
    const bar = createProgressBar({ stream: asStream(err) })
    bar.update(progress(3))
    vi.advanceTimersByTime(1000)
    bar.stop()
    expect(err.text).toContain('3 done | 0 failed | 1 running | 1.5/s | 3s elapsed')
    expect(err.text).not.toContain('\u2588')
  })

  it('prints lines above the bar and ends an unfinished line', () => {
    vi.useFakeTimers()
    const err = terminal()
    const bar = createProgressBar({ stream: asStream(err) })
    expect(bar.write(asStream(err), 'before start\n')).toBe(true)
    bar.update(progress(1))
    err.text = ''
    bar.write(asStream(err), 'partial')
    expect(err.text.startsWith('\r\x1b[2Kpartial\n\x1b7')).toBe(true)
    expect(err.text).toContain('1 done')
    bar.stop()
    bar.stop()
    bar.update(progress(5))
    expect(err.text).not.toContain('5 done')
  })
})
