import { Readable } from 'node:stream'
import { ReadableStream } from 'node:stream/web'
import { describe, expect, it } from 'vitest'
import { DONE } from '../../src/internal/outbox.js'
import { END, SourceReader, type PullListener } from '../../src/internal/source-reader.js'
import type { Source } from '../../src/types.js'
import { isSettled } from '../helpers.js'

/** A source whose iterator is `iterator`, sync or async. */
function syncSource<T>(iterator: unknown): Iterable<T> {
  return { [Symbol.iterator]: () => iterator as Iterator<T> }
}
function asyncSource<T>(iterator: unknown): AsyncIterable<T> {
  return { [Symbol.asyncIterator]: () => iterator as AsyncIterator<T> }
}

/** A listener that records what a `pullTo` delivered. */
function recorder<T>(): PullListener<T> & { readonly seen: unknown[] } {
  const seen: unknown[] = []
  return {
    seen,
    pulled: (result) => seen.push(result),
    pullFailed: (error) => seen.push({ error }),
  }
}

/** `takeSync()` as an iterator result, to compare with the built-in iterator's. */
function nextSync<T>(reader: SourceReader<T>): IteratorResult<T> {
  const item = reader.takeSync()
  return item === END ? DONE : { done: false, value: item }
}

async function drain<T>(reader: SourceReader<T>): Promise<T[]> {
  const out: T[] = []
  for (let result = await reader.pull(); !result.done; result = await reader.pull()) out.push(result.value)
  return out
}

describe('SourceReader', () => {
  it('keeps a sync source sync: takeSync hands items as they are, then END for good', () => {
    const pending = Promise.resolve(2)
    const reader = new SourceReader<unknown>([1, pending])
    expect(reader.sync).toBe(true)
    expect(nextSync(reader)).toEqual({ done: false, value: 1 })
    expect(nextSync(reader).value).toBe(pending)
    expect(reader.done).toBe(false)
    expect(reader.takeSync()).toBe(END)
    expect(reader.done).toBe(true)
    expect(reader.takeSync()).toBe(END)
  })

  describe('an array read by index, as the built-in iterator reads it', () => {
    /** What the built-in iterator hands out of `array` while `step(i)` runs before each pull. */
    function readAll<T>(array: T[], step: (pulled: number) => void, read: (reader: SourceReader<T>) => IteratorResult<T>) {
      const reader = new SourceReader(array)
      const out: IteratorResult<T>[] = []
      for (let pulled = 0; pulled < 10; pulled++) {
        step(pulled)
        out.push(read(reader))
      }
      return out
    }

    it('sees the array grow and shrink during the run, and stays done once done, as the iterator does', () => {
      const script = (array: number[]) => (pulled: number) => {
        if (pulled === 1) array.push(3)
        if (pulled === 2) array.splice(0, 1)
        if (pulled === 5) array.push(9)
      }
      const viaReader = [1, 2]
      const viaIterator = [1, 2]
      const iterator = viaIterator[Symbol.iterator]()
      const ours = readAll(viaReader, script(viaReader), nextSync)
      const builtIn = readAll(viaIterator, script(viaIterator), () => iterator.next())
      expect(ours).toEqual(builtIn)
      expect(ours.filter((result) => !result.done).map((result) => result.value)).toEqual([1, 2])
    })

    it('reads holes and inherited elements through the array, as the iterator does', () => {
      // eslint-disable-next-line no-sparse-arrays
      const sparse = [1, , 3]
      const reader = new SourceReader(sparse)
      expect([nextSync(reader), nextSync(reader), nextSync(reader), nextSync(reader).done]).toEqual([
        { done: false, value: 1 },
        { done: false, value: undefined },
        { done: false, value: 3 },
        true,
      ])
    })

    it('uses the iterator of an array that has its own, and a patched array iterator', () => {
      const own = Object.assign([1, 2], {
        *[Symbol.iterator]() {
          yield 'own'
        },
      })
      const reader = new SourceReader<unknown>(own)
      expect([nextSync(reader).value, nextSync(reader).done]).toEqual(['own', true])

      const prototype = Object.getPrototypeOf([][Symbol.iterator]()) as { next: () => IteratorResult<unknown> }
      const next = prototype.next
      prototype.next = function () {
        const result = next.call(this)
        return result.done ? result : { done: false, value: `patched ${String(result.value)}` }
      }
      try {
        const patched = new SourceReader([1])
        expect(nextSync(patched)).toEqual({ done: false, value: 'patched 1' })
      } finally {
        prototype.next = next
      }
    })
  })

  it('reads a sync source with pull() as for await does: promised items are awaited', async () => {
    const reader = new SourceReader([1, Promise.resolve(2)] as unknown as number[])
    expect(await drain(reader)).toEqual([1, 2])
    expect(await reader.pull()).toBe(DONE)
  })

  it('closes a sync source whose promised item rejects, once, and keeps the item error', async () => {
    let closed = 0
    const iterator = {
      next: () => ({ done: false, value: Promise.reject(new Error('bad item')) }),
      return: () => {
        closed++
        throw new Error('return failed too')
      },
    }
    const reader = new SourceReader(syncSource(iterator))
    await expect(reader.pull()).rejects.toThrow('bad item')
    expect(closed).toBe(1)
    expect(reader.done).toBe(true)
    await reader.closeUpstream()
    expect(closed).toBe(1)
  })

  it('pulls an async source one item at a time, and says when a pull is under way', async () => {
    async function* items() {
      yield 'a'
      yield 'b'
    }
    const reader = new SourceReader(items())
    expect(reader.sync).toBe(false)
    const first = reader.pull()
    expect(reader.pulling).toBe(true)
    expect(await first).toEqual({ done: false, value: 'a' })
    expect(reader.pulling).toBe(false)
    expect(await drain(reader)).toEqual(['b'])
    expect(reader.done).toBe(true)
  })

  it('pullTo() hands the outcome to a listener: items, the end, errors', async () => {
    const broken = new Error('broken')
    let calls = 0
    const reader = new SourceReader(
      asyncSource<number>({
        next: () => (++calls === 1 ? Promise.resolve({ done: false, value: 1 }) : Promise.reject(broken)),
      }),
    )
    const listener = recorder<number>()
    void reader.pullTo(listener)
    expect(reader.pulling).toBe(true)
    await isSettled(Promise.resolve())
    void reader.pullTo(listener)
    await isSettled(Promise.resolve())
    expect(listener.seen).toEqual([{ done: false, value: 1 }, { error: broken }])
    expect(reader.done).toBe(true)
    void reader.pullTo(listener)
    expect(listener.seen[2]).toBe(DONE)
  })

  it('turns a synchronous throw of an async next() into a rejection of the error as is', async () => {
    const error = new Error('sync throw')
    const reader = new SourceReader(
      asyncSource({
        next() {
          throw error
        },
      }),
    )
    const pulled = reader.pull()
    expect(pulled).toBeInstanceOf(Promise)
    await expect(pulled).rejects.toBe(error)
    expect(reader.done).toBe(true)
  })

  describe('guarantee 11: a source that breaks the protocol is a TypeError that says so', () => {
    it.each([
      ['[Symbol.iterator]() returns 5', syncSource(5), /\[Symbol\.iterator\]\(\) to return an iterator, got 5/],
      ['[Symbol.asyncIterator]() returns null', asyncSource(null), /\[Symbol\.asyncIterator\]\(\) to return an iterator, got null/],
      ['the iterator has no next()', syncSource({}), /to return an iterator, got an object/],
    ])('when opened: %s', (_, source, message) => {
      expect(() => new SourceReader(source as Source<unknown>)).toThrow(TypeError)
      expect(() => new SourceReader(source as Source<unknown>)).toThrow(message)
    })

    it('a sync next() that returns a non-object', () => {
      const reader = new SourceReader(syncSource({ next: () => null }))
      expect(() => reader.takeSync()).toThrow(new TypeError("Expected the source's next() to return an iterator result object, got null"))
      expect(reader.done).toBe(true)
    })

    it.each([
      ['resolves 42', () => Promise.resolve(42)],
      ['returns 42 without a promise', () => 42],
      ['resolves undefined', () => Promise.resolve(undefined)],
    ])('an async next() that %s', async (_, next) => {
      const reader = new SourceReader(asyncSource({ next }))
      const error = await reader.pull().then(
        () => undefined,
        (thrown: unknown) => thrown,
      )
      expect(error).toBeInstanceOf(TypeError)
      expect((error as Error).message).toMatch(/^Expected the source's next\(\) to resolve to an iterator result object, got /)
      expect(reader.done).toBe(true)
      const listener = recorder()
      void new SourceReader(asyncSource({ next })).pullTo(listener)
      await isSettled(Promise.resolve())
      expect((listener.seen[0] as { error: unknown }).error).toBeInstanceOf(TypeError)
    })
  })

  describe('closeUpstream()', () => {
    function closable() {
      const state = { returned: 0 }
      const iterator = {
        next: () => Promise.resolve({ done: false, value: 1 }),
        return: () => {
          state.returned++
          return Promise.resolve(DONE)
        },
      }
      return { state, source: asyncSource<number>(iterator) }
    }

    it('calls return() once, however often it is called, and later pulls answer done', async () => {
      const { state, source } = closable()
      const reader = new SourceReader(source)
      await reader.pull()
      const closing = reader.closeUpstream()
      expect(reader.closeUpstream()).toBe(closing)
      await closing
      expect(state.returned).toBe(1)
      expect(await reader.pull()).toBe(DONE)
      expect(reader.done).toBe(true)
    })

    it('never rejects, even when return() throws or rejects', async () => {
      let returned = 0
      const make = (fail: () => never | Promise<never>) =>
        new SourceReader(
          asyncSource({
            next: () => Promise.resolve({ done: false, value: 1 }),
            return: () => {
              returned++
              return fail()
            },
          }),
        )
      const throwing = make(() => {
        throw new Error('return threw')
      })
      const rejecting = make(() => Promise.reject(new Error('return failed')))
      await expect(throwing.closeUpstream()).resolves.toBeUndefined()
      await expect(rejecting.closeUpstream()).resolves.toBeUndefined()
      expect(returned).toBe(2)
    })

    it('waits for return() when no pull is pending', async () => {
      let finish!: () => void
      const reader = new SourceReader(
        asyncSource({
          next: () => Promise.resolve({ done: false, value: 1 }),
          return: () => new Promise((resolve) => (finish = () => resolve(DONE))),
        }),
      )
      await reader.pull()
      const closing = reader.closeUpstream()
      expect(await isSettled(closing)).toBe(false)
      finish()
      expect(await isSettled(closing)).toBe(true)
    })
  })

  describe('streams', () => {
    it('reads a Node Readable and destroys it on closeUpstream()', async () => {
      const stream = Readable.from(['a', 'b', 'c'])
      const reader = new SourceReader<string>(stream)
      expect(reader.sync).toBe(false)
      expect(await reader.pull()).toEqual({ done: false, value: 'a' })
      await reader.closeUpstream()
      expect(stream.destroyed).toBe(true)
    })

    it('reads a web ReadableStream, and one with only getReader(), cancelling it on closeUpstream()', async () => {
      const make = (cancelled: { value: boolean }) =>
        new ReadableStream<number>({
          start(controller) {
            controller.enqueue(1)
            controller.enqueue(2)
          },
          cancel() {
            cancelled.value = true
          },
        })
      for (const wrap of [(s: ReadableStream<number>) => s, (s: ReadableStream<number>) => ({ getReader: () => s.getReader() })]) {
        const cancelled = { value: false }
        const reader = new SourceReader<number>(wrap(make(cancelled)) as unknown as Source<number>)
        expect(await reader.pull()).toEqual({ done: false, value: 1 })
        await reader.closeUpstream()
        expect(cancelled.value).toBe(true)
      }
    })

    it('throws when the stream cannot be opened (locked)', () => {
      const stream = new ReadableStream<number>()
      stream.getReader()
      expect(() => new SourceReader(stream)).toThrow(TypeError)
    })
  })
})

describe('SourceReader.closeUpstream (a pipeline stage closing its upstream)', () => {
  it('waits for return() even while a pull is pending, when the source acts on return() at once', async () => {
    let finish!: () => void
    const reader = new SourceReader(
      asyncSource({
        next: () => new Promise(() => {}),
        return: () => new Promise((resolve) => (finish = () => resolve(DONE))),
      }),
    )
    void reader.pullTo(recorder())
    const closing = reader.closeUpstream()
    expect(await isSettled(closing)).toBe(false)
    finish()
    expect(await isSettled(closing)).toBe(true)
    expect(reader.closeUpstream()).toBe(closing)
  })

  it('does not wait for an async generator busy in a pull: its return() queues behind that pull', async () => {
    let closed = false
    async function* stuck(): AsyncGenerator<number> {
      try {
        await new Promise(() => {})
        yield 1
      } finally {
        closed = true
      }
    }
    const reader = new SourceReader(stuck())
    void reader.pullTo(recorder())
    expect(await isSettled(reader.closeUpstream())).toBe(true)
    expect(closed).toBe(false)
  })

  it('calls return() on a source whose pull failed, not on one that ended', async () => {
    let returned = 0
    const failing = new SourceReader(
      asyncSource({
        next: () => Promise.reject(new Error('failed')),
        return: () => {
          returned++
          return Promise.resolve(DONE)
        },
      }),
    )
    const seen = recorder()
    void failing.pullTo(seen)
    await isSettled(Promise.resolve())
    expect(seen.seen).toEqual([{ error: new Error('failed') }])
    await failing.closeUpstream()
    expect(returned).toBe(1)
    const ended = new SourceReader(
      asyncSource({
        next: () => Promise.resolve(DONE),
        return: () => {
          returned++
          return Promise.resolve(DONE)
        },
      }),
    )
    await ended.pull()
    await ended.closeUpstream()
    expect(returned).toBe(1)
  })
})

describe('SourceReader.pullTo on a sync source', () => {
  it('reads it as for await does: a promised item is awaited, then done', async () => {
    const reader = new SourceReader([1, Promise.resolve(2)] as unknown as number[])
    const seen = recorder<number>()
    for (let i = 0; i < 3; i++) {
      void reader.pullTo(seen)
      await isSettled(Promise.resolve())
    }
    expect(seen.seen).toEqual([{ done: false, value: 1 }, { done: false, value: 2 }, DONE])
  })
})
