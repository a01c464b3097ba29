import { ReadableStream } from 'node:stream/web'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { isSettled, ticks } from './helpers.js'
import { deferred } from '../src/internal/deferred.js'
import { Deque } from '../src/internal/deque.js'
import { closeIterator, nextOf } from '../src/internal/iterator.js'
import { DONE, Outbox } from '../src/internal/outbox.js'
import { isSource, open } from '../src/internal/source.js'

function drainDeque<T>(deque: Deque<T>): T[] {
  const out: T[] = []
  while (deque.length > 0) out.push(deque.shift()!)
  return out
}

describe('Deque', () => {
  it('is first in, first out', () => {
    const deque = new Deque<number>()
    expect(deque.length).toBe(0)
    expect(deque.peek()).toBeUndefined()
    expect(deque.shift()).toBeUndefined()
    for (const x of [1, 2, 3]) deque.push(x)
    expect(deque.length).toBe(3)
    expect(deque.peek()).toBe(1)
    expect(deque.shift()).toBe(1)
    expect(deque.peek()).toBe(2)
    expect(drainDeque(deque)).toEqual([2, 3])
    expect(deque.shift()).toBeUndefined()
  })

  it('wraps around the end of its ring', () => {
    const deque = new Deque<number>()
    for (let i = 0; i < 10; i++) deque.push(i)
    for (let i = 0; i < 8; i++) expect(deque.shift()).toBe(i)
    // Head at 8 of 16 slots: the next 14 pushes wrap past the end without growing.
    for (let i = 10; i < 24; i++) deque.push(i)
    expect(deque.length).toBe(16)
    expect(drainDeque(deque)).toEqual(Array.from({ length: 16 }, (_, i) => i + 8))
  })

  it('grows while wrapped and keeps the order', () => {
    const deque = new Deque<number>()
    for (let i = 0; i < 12; i++) deque.push(i)
    for (let i = 0; i < 12; i++) deque.shift()
    for (let i = 0; i < 100; i++) deque.push(i)
    expect(deque.length).toBe(100)
    expect(deque.peek()).toBe(0)
    expect(drainDeque(deque)).toEqual(Array.from({ length: 100 }, (_, i) => i))
  })

  it('clear empties it and it works again afterwards', () => {
    const deque = new Deque<string>()
    for (let i = 0; i < 40; i++) deque.push(`${i}`)
    deque.clear()
    expect(deque.length).toBe(0)
    expect(deque.shift()).toBeUndefined()
    deque.push('a')
    expect(drainDeque(deque)).toEqual(['a'])
  })

  it('behaves like an array queue under any sequence of operations', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('push' as const), value: fc.integer() }),
      fc.constant({ kind: 'shift' as const }),
      fc.constant({ kind: 'clear' as const }),
    )
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const deque = new Deque<number>()
        const model: number[] = []
        for (const o of ops) {
          if (o.kind === 'push') {
            deque.push(o.value)
            model.push(o.value)
          } else if (o.kind === 'shift') {
            expect(deque.shift()).toBe(model.shift())
          } else {
            deque.clear()
            model.length = 0
          }
          expect(deque.length).toBe(model.length)
          expect(deque.peek()).toBe(model[0])
          expect(deque.toArray()).toEqual(model)
        }
        expect(drainDeque(deque)).toEqual(model)
      }),
    )
  })
})

describe('deferred', () => {
  it('resolves and rejects from outside', async () => {
    const ok = deferred<number>()
    ok.resolve(1)
    expect(await ok.promise).toBe(1)
    const bad = deferred<number>()
    const error = new Error('no')
    bad.reject(error)
    await expect(bad.promise).rejects.toBe(error)
  })
})

describe('open', () => {
  it('keeps arrays, sync iterables and generators sync', () => {
    const opened = open([1, 2])
    expect(opened.sync).toBe(true)
    expect(opened.iterator.next()).toEqual({ done: false, value: 1 })
    function* generator() {
      yield 'a'
    }
    expect(open(generator()).sync).toBe(true)
    expect(open(new Map([[1, 2]])).sync).toBe(true)
  })

  it('prefers the async iterator when a source has both', async () => {
    const both = {
      *[Symbol.iterator]() {
        yield 'sync'
      },
      async *[Symbol.asyncIterator]() {
        yield 'async'
      },
    }
    const opened = open(both)
    expect(opened.sync).toBe(false)
    expect(await opened.iterator.next()).toEqual({ done: false, value: 'async' })
  })

  it('opens a web ReadableStream through its async iterator', async () => {
    const stream = new ReadableStream<number>({
      start(controller) {
        controller.enqueue(7)
        controller.close()
      },
    })
    const opened = open(stream)
    expect(opened.sync).toBe(false)
    expect(await opened.iterator.next()).toEqual({ done: false, value: 7 })
    expect((await opened.iterator.next()).done).toBe(true)
  })

  it('reads a ReadableStream-like object that only has getReader(), and releases the lock at the end', async () => {
    const stream = new ReadableStream<number>({
      start(controller) {
        for (const x of [1, 2]) controller.enqueue(x)
        controller.close()
      },
    })
    const opened = open({ getReader: () => stream.getReader() } as never)
    expect(opened.sync).toBe(false)
    const { iterator } = opened
    expect(await iterator.next()).toEqual({ done: false, value: 1 })
    expect(stream.locked).toBe(true)
    expect(await iterator.next()).toEqual({ done: false, value: 2 })
    expect(await iterator.next()).toEqual({ done: true, value: undefined })
    expect(stream.locked).toBe(false)
  })

  it('cancels the stream and releases the lock when a getReader() source is returned early', async () => {
    let cancelled: unknown = 'not yet'
    let i = 0
    const stream = new ReadableStream<number>({
      pull(controller) {
        controller.enqueue(i++)
      },
      cancel(reason) {
        cancelled = reason
      },
    })
    const { iterator } = open({ getReader: () => stream.getReader() } as never)
    expect(await iterator.next()).toEqual({ done: false, value: 0 })
    expect(await iterator.return!()).toEqual({ done: true, value: undefined })
    expect(cancelled).toBeUndefined()
    expect(stream.locked).toBe(false)
  })
})

describe('isSource', () => {
  it.each([
    [[], true],
    [new Set(), true],
    [(function* () {})(), true],
    [(async function* () {})(), true],
    [{ getReader: () => undefined }, true],
    ['abc', false],
    [null, false],
    [undefined, false],
    [42, false],
    [{}, false],
    [{ next: () => ({ done: true }) }, false],
  ])('%o → %s', (value, expected) => {
    expect(isSource(value)).toBe(expected)
  })
})

describe('nextOf', () => {
  it('turns a synchronous throw of next() into a rejection', async () => {
    const error = new Error('sync')
    const iterator = {
      next(): Promise<IteratorResult<number>> {
        throw error
      },
    }
    const pulled = nextOf(iterator)
    expect(pulled).toBeInstanceOf(Promise)
    await expect(pulled).rejects.toBe(error)
  })
})

describe('closeIterator', () => {
  it('resolves once return() has settled, whether it fulfils or rejects, and never rejects', async () => {
    const gate = deferred<IteratorResult<number>>()
    const closing = closeIterator({ next: () => gate.promise, return: () => gate.promise }, false)
    expect(await isSettled(closing)).toBe(false)
    gate.reject(new Error('return failed'))
    await expect(closing).resolves.toBeUndefined()
  })

  it('resolves at once while a pull is pending, but still calls return()', async () => {
    let returned = 0
    const stuck = new Promise<never>(() => {})
    const closing = closeIterator(
      {
        next: () => stuck,
        return: () => {
          returned++
          return stuck
        },
      },
      true,
    )
    expect(returned).toBe(1)
    expect(await isSettled(closing)).toBe(true)
  })

  it('copes with no return(), and with a return() that throws synchronously', async () => {
    await expect(closeIterator({ next: () => Promise.resolve(DONE) }, false)).resolves.toBeUndefined()
    const throwing = {
      next: () => Promise.resolve(DONE),
      return(): Promise<IteratorResult<number>> {
        throw new Error('sync')
      },
    }
    await expect(closeIterator(throwing, false)).resolves.toBeUndefined()
  })
})

describe('Outbox', () => {
  it('answers parked calls in call order', async () => {
    const outbox = new Outbox<number>()
    const a = outbox.park()
    const b = outbox.park()
    expect(outbox.waiting).toBe(2)
    outbox.resolve({ done: false, value: 1 })
    outbox.resolve({ done: false, value: 2 })
    expect(await a).toEqual({ done: false, value: 1 })
    expect(await b).toEqual({ done: false, value: 2 })
    expect(outbox.waiting).toBe(0)
  })

  it('fail(): the oldest parked call rejects at once, the others end once closing settles', async () => {
    const outbox = new Outbox<number>()
    const a = outbox.park()
    const b = outbox.park()
    const closing = deferred<void>()
    const error = new Error('boom')
    outbox.fail(error, closing.promise)
    await expect(a).rejects.toBe(error)
    expect(await isSettled(b)).toBe(false)
    closing.resolve()
    expect(await b).toBe(DONE)
    expect(outbox.closed).toBe(true)
    expect(await outbox.answerClosed()).toBe(DONE)
  })

  it('fail() with nobody parked hands the error to the next call, exactly once', async () => {
    const outbox = new Outbox<number>()
    const error = new Error('later')
    outbox.fail(error, Promise.resolve())
    await expect(outbox.answerClosed()).rejects.toBe(error)
    expect(await outbox.answerClosed()).toBe(DONE)
  })

  it('end() answers parked and later calls done once closing settles; endNow() at once, dropping an error', async () => {
    const outbox = new Outbox<number>()
    const parked = outbox.park()
    const closing = deferred<void>()
    outbox.end(closing.promise)
    expect(await isSettled(parked)).toBe(false)
    expect(await isSettled(outbox.answerClosed())).toBe(false)
    closing.resolve()
    expect(await parked).toBe(DONE)

    const now = new Outbox<number>()
    const waiting = now.park()
    now.endNow(new Promise(() => {}))
    expect(await isSettled(waiting)).toBe(true)

    const failed = new Outbox<number>()
    failed.fail(new Error('unwanted'), Promise.resolve())
    failed.endNow(Promise.resolve())
    expect(await failed.answerClosed()).toBe(DONE)
    await ticks()
  })

  it('abort(): parked calls and every later call reject with the reason, at once', async () => {
    const outbox = new Outbox<number>()
    const a = outbox.park()
    const b = outbox.park()
    const reason = new Error('aborted')
    outbox.abort(reason)
    expect(outbox.closed).toBe(true)
    await expect(a).rejects.toBe(reason)
    await expect(b).rejects.toBe(reason)
    await expect(outbox.answerClosed()).rejects.toBe(reason)
    outbox.endNow(Promise.resolve())
    outbox.fail(new Error('too late'), Promise.resolve())
    await expect(outbox.answerClosed()).rejects.toBe(reason)
    const ended = new Outbox<number>()
    ended.end(Promise.resolve())
    ended.abort(reason)
    expect(await ended.answerClosed()).toBe(DONE)
  })

  it('ignores fail() and end() once closed', async () => {
    const outbox = new Outbox<number>()
    outbox.end(Promise.resolve())
    outbox.fail(new Error('too late'), Promise.resolve())
    expect(await outbox.answerClosed()).toBe(DONE)
  })
})

describe('Outbox: a reserved call (answered by its iterator, outside the outbox)', () => {
  it('fail() keeps the error for the reserved call, which is older than the parked ones', async () => {
    const outbox = new Outbox<number>()
    outbox.reserve()
    const parked = outbox.park()
    const closing = deferred<void>()
    const error = new Error('deadline')
    outbox.fail(error, closing.promise)
    expect(await isSettled(parked)).toBe(false)
    await expect(outbox.answerReserved()).rejects.toBe(error)
    expect(outbox.reserved).toBe(false)
    closing.resolve()
    expect(await parked).toBe(DONE)
  })

  it('after endNow() the reserved call is answered done at once; after end(), once closing settles', async () => {
    const now = new Outbox<number>()
    now.reserve()
    now.endNow(new Promise(() => {}))
    expect(await isSettled(now.answerReserved())).toBe(true)
    const ended = new Outbox<number>()
    ended.reserve()
    const closing = deferred<void>()
    ended.end(closing.promise)
    const answer = ended.answerReserved()
    expect(await isSettled(answer)).toBe(false)
    closing.resolve()
    expect(await answer).toBe(DONE)
  })

  it('parkReserved() parks it ahead of the calls parked since, and counts it as waiting', async () => {
    const outbox = new Outbox<number>()
    outbox.reserve()
    const later = outbox.park()
    const reserved = outbox.parkReserved()
    expect(outbox.reserved).toBe(false)
    expect(outbox.waiting).toBe(2)
    outbox.resolve({ done: false, value: 1 })
    outbox.resolve({ done: false, value: 2 })
    expect(await reserved).toEqual({ done: false, value: 1 })
    expect(await later).toEqual({ done: false, value: 2 })
    outbox.reserve()
    outbox.release()
    const error = new Error('to a parked call')
    const parked = outbox.park()
    outbox.fail(error, Promise.resolve())
    await expect(parked).rejects.toBe(error)
  })
})
