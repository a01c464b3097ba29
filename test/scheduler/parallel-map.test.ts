import { describe, expect, it } from 'vitest'
import { collect, parallel, type TaskContext } from '../../src/index.js'
import { failOnUnhandledRejections, range, ticks } from '../helpers.js'

failOnUnhandledRejections()

describe('parallel (it-parallel drop-in)', () => {
  function taskList(count: number) {
    const state = { running: 0, max: 0 }
    const tasks = range(count).map((i) => async () => {
      state.running++
      state.max = Math.max(state.max, state.running)
      await ticks(1 + ((i * 7) % 4))
      state.running--
      return i
    })
    return { state, tasks }
  }

  it('defaults to concurrency Infinity and completion order', async () => {
    const { state, tasks } = taskList(100)
    const out = await collect(parallel(tasks))
    expect(state.max).toBe(100)
    expect(out).not.toEqual(range(100))
    expect(out.sort((a, b) => a - b)).toEqual(range(100))
  })

  it('with 100 tasks, concurrency 4 and ordered, never runs more than 4 at once', async () => {
    const { state, tasks } = taskList(100)
    const out = await collect(parallel(tasks, { concurrency: 4, ordered: true }))
    expect(state.max).toBe(4)
    expect(out).toEqual(range(100))
  })

  it('hands each task its context, and aborts it on break', async () => {
    const signals: AbortSignal[] = []
    const tasks = range(3).map((i) => ({ signal }: TaskContext) => {
      signals.push(signal)
      return i === 0 ? i : new Promise<number>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)))
    })
    for await (const value of parallel(tasks)) {
      expect(value).toBe(0)
      break
    }
    expect(signals.map((s) => s.aborted)).toEqual([false, true, true])
  })

  it('validates at once', () => {
    expect(() => parallel([], { concurrency: 0 })).toThrow(RangeError)
    expect(() => parallel([], { ordered: 'yes' as never })).toThrow(TypeError)
    expect(() => parallel(5 as never)).toThrow(TypeError)
    expect(() => parallel([], null as never)).toThrow(TypeError)
  })
})

describe('review findings', () => {
  it.each([{ concurrency: null }, { ordered: null }])('parallel() refuses %o with a TypeError', (options) => {
    expect(() => parallel([], options as never)).toThrow(TypeError)
  })
})
