import { describe, expect, it } from 'vitest'
import { collect, parallelMap } from '../../src/index.js'
import { Output } from '../../src/scheduler/output.js'
import { Task, type TaskState } from '../../src/scheduler/task.js'
import { failOnUnhandledRejections, isSettled, naturals, ProbeSource, range, Tasks, ticks } from '../helpers.js'
import { take } from './helpers.js'

failOnUnhandledRejections()

function tasks(count: number): Task<number>[] {
  return range(count).map((i) => new Task(i, i, undefined))
}

function finish(output: Output<number>, task: Task<number>, state: TaskState): void {
  task.state = state
  output.finished(task)
}

describe('Output', () => {
  it('ordered: hands out in input order, holds the line at an unfinished head, passes dropped items over', () => {
    const output = new Output<number>(true)
    const [a, b, c, d] = tasks(4)
    for (const task of [a!, b!, c!, d!]) output.pulled(task)
    expect(output.held).toBe(4)
    finish(output, b!, 'fulfilled')
    finish(output, c!, 'dropped')
    expect(output.next()).toBeUndefined()
    finish(output, a!, 'fulfilled')
    expect(output.next()).toBe(a)
    expect(output.next()).toBe(b)
    expect(output.held).toBe(2)
    // c is passed over on the way to d, which is not finished yet.
    expect(output.next()).toBeUndefined()
    expect(output.held).toBe(1)
    finish(output, d!, 'fulfilled')
    expect(output.next()).toBe(d)
    expect(output.held).toBe(0)
  })

  it('as-completed: hands out in completion order; a dropped item is passed over when the consumer asks next', () => {
    const output = new Output<number>(false)
    const [a, b, c] = tasks(3)
    for (const task of [a!, b!, c!]) output.pulled(task)
    finish(output, c!, 'fulfilled')
    finish(output, a!, 'dropped')
    expect(output.held).toBe(3)
    expect(output.next()).toBe(c)
    expect(output.held).toBe(1)
    expect(output.next()).toBeUndefined()
    finish(output, b!, 'fulfilled')
    expect(output.next()).toBe(b)
    expect(output.held).toBe(0)
  })

  it('stop(): ordered, nothing from that index on is handed out; as-completed, what waits is dropped', () => {
    const ordered = new Output<number>(true)
    const list = tasks(3)
    for (const task of list) ordered.pulled(task)
    for (const task of list) finish(ordered, task, 'fulfilled')
    ordered.stop(1)
    expect(ordered.next()).toBe(list[0])
    expect(ordered.next()).toBeUndefined()

    const asCompleted = new Output<number>(false)
    for (const task of tasks(2)) {
      asCompleted.pulled(task)
      finish(asCompleted, task, 'fulfilled')
    }
    asCompleted.stop(0)
    expect(asCompleted.held).toBe(0)
    expect(asCompleted.next()).toBeUndefined()
  })
})

describe('3. output order', () => {
  it('ordered: yields in input order whatever the completion order', async () => {
    const tasks = new Tasks<number>()
    const iterator = parallelMap(tasks.fn, { concurrency: 5 })(range(5))
    const results = range(5).map(() => iterator.next())
    await ticks()
    for (const i of [4, 2, 3, 0, 1]) tasks.call(i).resolve(i * 10)
    expect(await Promise.all(results)).toEqual(range(5).map((i) => ({ done: false, value: i * 10 })))
    expect(await iterator.next()).toEqual({ done: true, value: undefined })
  })

  it('ordered: holds results back until the head is done', async () => {
    const tasks = new Tasks<number>()
    const iterator = parallelMap(tasks.fn, { concurrency: 3 })(range(3))
    const first = iterator.next()
    await ticks()
    tasks.call(1).resolve(1)
    tasks.call(2).resolve(2)
    expect(await isSettled(first)).toBe(false)
    tasks.call(0).resolve(0)
    expect(await first).toEqual({ done: false, value: 0 })
    expect(await take(iterator, 3)).toEqual([1, 2])
  })

  it('as-completed: yields each result as soon as it settles', async () => {
    const tasks = new Tasks<number>()
    const iterator = parallelMap(tasks.fn, { concurrency: 4, ordered: false })(range(4))
    const first = iterator.next()
    await ticks()
    expect(await isSettled(first)).toBe(false)
    tasks.call(2).resolve(20)
    expect(await first).toEqual({ done: false, value: 20 })
    const second = iterator.next()
    expect(await isSettled(second)).toBe(false)
    tasks.call(3).resolve(30)
    expect(await second).toEqual({ done: false, value: 30 })
    tasks.call(0).resolve(0)
    tasks.call(1).resolve(10)
    expect(await take(iterator, 5)).toEqual([0, 10])
  })

  it('ordered output equals input order over a large run with random delays', async () => {
    const delays = range(300).map((i) => (i * 7919) % 5)
    const out = await collect(
      parallelMap(
        async (x: number) => {
          await ticks(delays[x])
          return x
        },
        { concurrency: 16 },
      )(range(300)),
    )
    expect(out).toEqual(range(300))
  })
})

describe('review findings', () => {
  it('as-completed under continue: failures a paused consumer has not passed still hold read-ahead room', async () => {
    const source = new ProbeSource(naturals())
    const iterator = parallelMap(
      async (x: number) => {
        if (x > 0) throw new Error(`${x}`)
        return x
      },
      { concurrency: 2, readAhead: 4, ordered: false, onError: 'continue' },
    )(source)
    expect(await iterator.next()).toEqual({ done: false, value: 0 })
    await ticks(50)
    expect(source.pulled).toBeLessThanOrEqual(1 + 4)
    await iterator.return!()
    expect(source.returned).toBe(true)
  })

})
