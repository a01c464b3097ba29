import { describe, expect, it } from 'vitest'
import { Printer, type PrinterOptions } from '../../src/cli/output.js'

/** A printer writing into strings, the writes of each stream kept apart to show what went out together. */
function printer(options: Partial<PrinterOptions<string>> = {}) {
  const writes: string[] = []
  const printed: string[] = []
  let full = false
  const p = new Printer<string>({
    ordered: true,
    lineBuffer: false,
    window: 10,
    streams: {
      write: (stream, chunk) => {
        writes.push(`${stream}:${chunk.toString()}`)
        return !full
      },
      drain: async () => {
        writes.push('(drain)')
      },
    },
    onPrinted: (job) => printed.push(job),
    ...options,
  })
  return { p, writes, printed, fill: () => (full = true) }
}

const b = (text: string) => Buffer.from(text)

describe('Printer', () => {
  it('prints each job whole when it ends, stdout then stderr, in input order', async () => {
    const { p, writes, printed } = printer()
    const one = p.open('one', undefined)
    const two = p.open('two', undefined)
    two.stdout(b('2a\n'))
    one.stderr(b('1-err\n'))
    one.stdout(b('1a\n'))
    two.stdout(b('2b'))
    one.stdout(b('1b\n'))
    await p.finish(two, undefined)
    expect(writes).toEqual([])
    await p.finish(one, 'note\n')
    expect(writes).toEqual(['stdout:1a\n1b\n', 'stderr:1-err\nnote\n', 'stdout:2a\n2b'])
    expect(printed).toEqual(['one', 'two'])
  })

  it('prints each job as it ends without ordered', async () => {
    const { p, writes, printed } = printer({ ordered: false })
    const one = p.open('one', undefined)
    const two = p.open('two', undefined)
    two.stdout(b('2\n'))
    one.stdout(b('1\n'))
    await p.finish(two, undefined)
    await p.finish(one, undefined)
    expect(writes).toEqual(['stdout:2\n', 'stdout:1\n'])
    expect(printed).toEqual(['two', 'one'])
  })

  it('keeps only the last attempt\'s output of a retried job', async () => {
    const { p, writes } = printer()
    const one = p.open('one', undefined)
    one.stdout(b('first try\n'))
    one.stderr(b('failed\n'))
    one.retry()
    one.stdout(b('second try\n'))
    await p.finish(one, undefined)
    expect(writes).toEqual(['stdout:second try\n'])
  })

  it('tags every line, the last one too when it has no newline', async () => {
    const { p, writes } = printer()
    const one = p.open('one', 'a b\t')
    one.stdout(b('x\n\ny'))
    one.stderr(b('e\n'))
    await p.finish(one, undefined)
    expect(writes).toEqual(['stdout:a b\tx\na b\t\na b\ty', 'stderr:a b\te\n'])
  })

  it('with lineBuffer and ordered, prints the oldest job\'s whole lines live, the next ones when their turn comes', async () => {
    const { p, writes } = printer({ lineBuffer: true })
    const one = p.open('one', 'A\t')
    const two = p.open('two', 'B\t')
    one.stdout(b('1a\n1b'))
    two.stdout(b('2a\n'))
    expect(writes).toEqual(['stdout:A\t1a\n'])
    one.stdout(b('-more\n1c'))
    two.stdout(b('2b'))
    expect(writes).toEqual(['stdout:A\t1a\n', 'stdout:A\t1b-more\n'])
    await p.finish(one, undefined)
    expect(writes.slice(2)).toEqual(['stdout:A\t1c', 'stdout:B\t2a\n'])
    two.stdout(b('-end\n'))
    expect(writes.slice(4)).toEqual(['stdout:B\t2b-end\n'])
    await p.finish(two, undefined)
    expect(writes).toHaveLength(5)
  })

  it('with lineBuffer and not ordered, prints whole lines of every job as they come', async () => {
    const { p, writes } = printer({ lineBuffer: true, ordered: false })
    const one = p.open('one', undefined)
    const two = p.open('two', undefined)
    one.stdout(b('1a'))
    two.stdout(b('2a\n2'))
    one.stdout(b('\n'))
    two.stderr(b('e'))
    await p.finish(two, undefined)
    expect(writes).toEqual(['stdout:2a\n', 'stdout:1a\n', 'stdout:2', 'stderr:e'])
  })

  it('waits for the reader when stdout is full', async () => {
    const { p, writes, fill } = printer()
    const one = p.open('one', undefined)
    one.stdout(b('x'))
    fill()
    await p.finish(one, undefined)
    expect(writes).toEqual(['stdout:x', '(drain)'])
  })

  it('lets room() wait while a window of jobs is open and not printed, or until its signal aborts', async () => {
    const { p } = printer({ window: 2 })
    const never = new AbortController().signal
    const one = p.open('one', undefined)
    p.open('two', undefined)
    let roomy = false
    const room = p.room(never).then(() => (roomy = true))
    await new Promise((resolve) => setImmediate(resolve))
    expect(roomy).toBe(false)
    await p.finish(one, undefined)
    await room
    expect(roomy).toBe(true)
    p.open('three', undefined)
    const stop = new AbortController()
    const stopped = p.room(stop.signal)
    stop.abort()
    await stopped
    await expect(printer({ ordered: false, window: 1 }).p.room(never)).resolves.toBeUndefined()
  })
})
