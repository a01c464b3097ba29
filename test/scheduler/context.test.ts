import { describe, expect, it } from 'vitest'
import { collect, parallelMap, type ItemReport, type TaskContext } from '../../src/index.js'
import { abortAttempt, Context, taskOf } from '../../src/scheduler/context.js'
import { Task } from '../../src/scheduler/task.js'
import { failOnUnhandledRejections, range, Tasks, ticks } from '../helpers.js'

failOnUnhandledRejections()

describe('Context', () => {
  it('has index and attempt as its own properties, signal and report as getters', () => {
    const task = new Task('item', 3, undefined)
    const context = new Context(task, 2)
    expect(Object.keys(context)).toEqual(['index', 'attempt'])
    expect({ ...context }).toEqual({ index: 3, attempt: 2 })
    expect(JSON.parse(JSON.stringify(context))).toEqual({ index: 3, attempt: 2 })
    expect(Object.getOwnPropertySymbols(context)).toEqual([])
    expect(Object.getOwnPropertyNames(Context.prototype).sort()).toEqual(['constructor', 'report', 'signal'])
    expect(Object.getOwnPropertyNames(Context).sort()).toEqual(['length', 'name', 'prototype'])
    expect(taskOf(context)).toBe(task)
  })

  it('makes one signal, on the first read, aborted with the reason whether it was read before or after', () => {
    const early = new Context(new Task(0, 0, undefined), 1)
    const signal = early.signal
    expect(early.signal).toBe(signal)
    const reason = new Error('stop')
    abortAttempt(early, reason)
    abortAttempt(early, new Error('second'))
    expect(signal.aborted).toBe(true)
    expect(signal.reason).toBe(reason)

    const late = new Context(new Task(0, 0, undefined), 1)
    abortAttempt(late, reason)
    expect(late.signal.reason).toBe(reason)
  })

  it('without onReport, report is one shared function that does nothing', () => {
    const a = new Context(new Task(0, 0, undefined), 1)
    const b = new Context(new Task(1, 1, undefined), 1)
    expect(a.report).toBe(b.report)
    expect(a.report('anything')).toBeUndefined()
  })
})

describe("fn's context in a run (item 4)", () => {
  it('signal, index, attempt and report all work destructured, report without this', async () => {
    const reports: ItemReport<number>[] = []
    const tasks = new Tasks<number>(true)
    const iterator = parallelMap(
      (item: number, { signal, index, attempt, report }: TaskContext) => {
        report(`${index}/${attempt}`)
        return tasks.fn(item, { signal, index, attempt, report })
      },
      { concurrency: 2, onReport: (r) => reports.push(r as ItemReport<number>) },
    )(range(2))
    const first = iterator.next()
    await ticks()
    expect(reports).toEqual([
      { index: 0, item: 0, value: '0/1' },
      { index: 1, item: 1, value: '1/1' },
    ])
    tasks.call(0).resolve(0)
    expect(await first).toEqual({ done: false, value: 0 })
    await iterator.return!()
    expect(tasks.call(1).context.signal.aborted).toBe(true)
  })

  it('cannot reach the scheduler: no abort, nothing but index, attempt, signal and report', async () => {
    const seen: TaskContext[] = []
    await collect(parallelMap((x: number, context: TaskContext) => (seen.push(context), x))([7]))
    const [context] = seen
    expect(Object.keys(context!)).toEqual(['index', 'attempt'])
    expect(JSON.parse(JSON.stringify(context))).toEqual({ index: 0, attempt: 1 })
    expect(context).toMatchObject({ index: 0, attempt: 1, signal: expect.any(AbortSignal), report: expect.any(Function) })
    expect('abort' in context!).toBe(false)
    const reachable = new Set<string>()
    for (let o: object | null = context!; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o) as object | null) {
      for (const key of Object.getOwnPropertyNames(o)) reachable.add(key)
    }
    expect([...reachable].sort()).toEqual(['attempt', 'constructor', 'index', 'report', 'signal'])
  })

  it('gives each attempt its own context and signal', async () => {
    const seen: TaskContext[] = []
    await collect(
      parallelMap(
        (x: number, context: TaskContext) => {
          seen.push(context)
          if (context.attempt === 1) throw new Error('again')
          return x
        },
        { retry: { retries: 1, minDelay: 0 } },
      )([0]),
    )
    expect(seen.map((c) => c.attempt)).toEqual([1, 2])
    expect(seen[0]!.signal).not.toBe(seen[1]!.signal)
  })
})
