import { describe, expect, it } from 'vitest'
import { RunningTasks } from '../../src/scheduler/running.js'
import { Task } from '../../src/scheduler/task.js'
import { isSettled, range } from '../helpers.js'

function listed(running: RunningTasks<number>): number[] {
  const out: number[] = []
  running.forEach((task) => out.push(task.index))
  return out
}

describe('RunningTasks', () => {
  it('counts every started task, lists those with asynchronous work once, and unlists them as they settle', () => {
    const running = new RunningTasks<number>()
    const tasks = range(4).map((i) => new Task(i, i, undefined))
    running.count = 4
    for (const task of tasks.slice(0, 3)) running.link(task)
    running.link(tasks[1]!)
    expect(listed(running).sort()).toEqual([0, 1, 2])
    // A task that never had asynchronous work only leaves the count.
    running.settled(tasks[3]!)
    for (const i of [1, 2, 0]) {
      running.settled(tasks[i]!)
      expect(listed(running)).not.toContain(i)
      expect(tasks[i]!.linked).toBe(false)
      expect(tasks[i]!.prev).toBeUndefined()
      expect(tasks[i]!.next).toBeUndefined()
    }
    expect(running.count).toBe(0)
    expect(listed(running)).toEqual([])
  })

  it('whenIdle() resolves at once when nothing runs, else when the last task settles', async () => {
    const running = new RunningTasks<number>()
    expect(await isSettled(running.whenIdle())).toBe(true)
    const task = new Task(0, 0, undefined)
    running.count = 1
    running.link(task)
    const idle = running.whenIdle()
    expect(running.whenIdle()).toBe(idle)
    expect(await isSettled(idle)).toBe(false)
    running.settled(task)
    expect(await isSettled(idle)).toBe(true)
  })
})
