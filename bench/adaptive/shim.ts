/**
 * Stand-in for `parallelMapSettled(fn, { concurrency: limiter })` until the scheduler takes a
 * Limiter: a small pool over a sync source that takes slots from the limiter, reports every
 * attempt to an adaptive one, keeps `2 × limit` items read ahead and yields settled records
 * (`ordered` or as they complete). Deleted once `parallelMap` does this itself.
 */
import type { Settled } from '../../src/index.js'
import type { Limiter, SharedLimiter } from '../../src/limits/limiter.js'

type Record<T, R> = Settled<T, R>

export function limiterMapSettled<T, R>(
  fn: (item: T, context: { signal: AbortSignal }) => Promise<R>,
  limiter: Limiter,
  ordered: boolean,
): (source: Iterable<T>) => AsyncIterableIterator<Record<T, R>> {
  return (source) => {
    const gate = (limiter as SharedLimiter).gate()
    const items = source[Symbol.iterator]()
    let pulled = 0
    let handed = 0
    let nextOut = 0
    let closed = false
    let active = 0
    let idle: (() => void) | undefined
    const finished = new Map<number, Record<T, R>>()
    const completed: Record<T, R>[] = []
    const controller = new AbortController()
    let waiter: ((result: IteratorResult<Record<T, R>>) => void) | undefined

    const take = (): Record<T, R> | undefined => {
      const record = ordered ? finished.get(nextOut) : completed.shift()
      if (record === undefined) return undefined
      if (ordered) finished.delete(nextOut++)
      handed++
      return record
    }
    const end = (index: number, item: T, startedAt: number, record: Record<T, R>) => {
      active--
      gate.observe?.({
        startedAt,
        endedAt: performance.now(),
        outcome: closed ? 'aborted' : record.status === 'fulfilled' ? 'ok' : 'error',
        error: record.status === 'rejected' ? record.reason : undefined,
        consumerWaiting: waiter !== undefined,
      })
      gate.ended()
      if (closed) {
        if (active === 0) idle?.()
        return
      }
      if (ordered) finished.set(index, record)
      else completed.push(record)
      if (waiter) {
        const next = take()
        if (next) {
          const resolve = waiter
          waiter = undefined
          resolve({ done: false, value: next })
        }
      }
      fill()
    }
    const fill = () => {
      while (!closed && pulled - handed < 2 * gate.limit && gate.mayStart()) {
        gate.started()
        const index = pulled++
        const item = items.next().value as T
        const startedAt = performance.now()
        active++
        const base = { item, index, attempts: 1, startedAt: Date.now(), duration: 0 }
        fn(item, { signal: controller.signal }).then(
          (value) => end(index, item, startedAt, { status: 'fulfilled', value, ...base }),
          (reason: unknown) => end(index, item, startedAt, { status: 'rejected', reason, ...base }),
        )
      }
    }
    gate.attach(fill)
    const iterator: AsyncIterableIterator<Record<T, R>> = {
      [Symbol.asyncIterator]: () => iterator,
      next() {
        const record = take()
        fill()
        if (record) return Promise.resolve({ done: false, value: record })
        return new Promise((resolve) => (waiter = resolve))
      },
      async return() {
        closed = true
        gate.detach()
        controller.abort()
        if (active > 0) await new Promise<void>((resolve) => (idle = resolve))
        return { done: true, value: undefined }
      },
    }
    return iterator
  }
}
