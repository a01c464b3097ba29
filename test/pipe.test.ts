import { pipe as itPipe } from 'it-pipe'
import { describe, expect, expectTypeOf, it } from 'vitest'
import {
  collect,
  drain,
  parallel,
  parallelMap,
  parallelMapSettled,
  pipe,
  type Operator,
  type Settled,
  type TaskContext,
} from '../src/index.js'

describe('pipe', () => {
  it("gives what it-pipe's pipe gives, duplex stages included", async () => {
    const plusOne = (source: Iterable<number>): number[] => [...source].map((x) => x + 1)
    const join = (source: number[]): string => source.join()
    expect(pipe([1, 2], plusOne, join)).toBe(itPipe([1, 2], plusOne, join))
    const seen: number[] = []
    const duplex = {
      sink: async (source: AsyncIterable<number>) => {
        for await (const x of source) seen.push(x)
      },
      source: [7, 8],
    }
    const out: unknown = await pipe([1, 2], parallelMap((x: number) => x * 2), duplex as never, collect as never)
    expect(out).toEqual([7, 8])
    expect(seen).toEqual([2, 4])
  })

  it.each([
    [() => pipe([1], 5 as never), 'Expected argument 2 of pipe to be a function (a stage), got 5'],
    [() => pipe([1], collect, null as never), 'Expected argument 3 of pipe to be a function (a stage), got null'],
    [() => pipe(42 as never, collect), 'Expected argument 1 of pipe to be a source or a function that returns one, got 42'],
    [() => pipe(undefined as never), 'Expected argument 1 of pipe to be a source or a function that returns one, got undefined (undefined)'],
    [() => pipe('abc' as never, collect), 'Expected argument 1 of pipe to be a source or a function that returns one, got "abc" (string)'],
  ])('names the argument that is not a stage: %s', (call, message) => {
    expect(call).toThrow(TypeError)
    expect(call).toThrow(message)
  })

  it('reads a web ReadableStream without Symbol.asyncIterator (older browsers) given as the source', async () => {
    const stream = new ReadableStream<number>({
      start(controller) {
        controller.enqueue(1)
        controller.enqueue(2)
        controller.close()
      },
    })
    const readerOnly = { getReader: () => stream.getReader() } as unknown as AsyncIterable<number>
    expect(await pipe(readerOnly, parallelMap((x: number) => x * 3), collect)).toEqual([3, 6])
  })

  it('runs a source through operators into a sink', async () => {
    const out = await pipe([1, 2, 3], parallelMap(async (x: number) => `${x}!`), collect)
    expect(out).toEqual(['1!', '2!', '3!'])
  })

  it('accepts a function that returns the source, as it-pipe does', async () => {
    const out = await pipe(() => [1, 2], parallelMap((x: number) => x * 10), collect)
    expect(out).toEqual([10, 20])
  })

  it('mixes with plain it-* style stages', async () => {
    async function* plusOne(source: AsyncIterable<number>) {
      for await (const x of source) yield x + 1
    }
    const out = await pipe([1, 2, 3], parallelMap((x: number) => x * 2), plusOne, parallelMap((x: number) => -x), collect)
    expect(out).toEqual([-3, -5, -7])
  })
})

describe('types', () => {
  it('pipe(source, parallelMap(fn), collect) is a Promise of the results', () => {
    const promise = pipe([1, 2, 3], parallelMap(async (x: number) => String(x)), collect)
    expectTypeOf(promise).toEqualTypeOf<Promise<string[]>>()
    const sync = pipe(['a'], parallelMap((s: string) => s.length), collect)
    expectTypeOf(sync).toEqualTypeOf<Promise<number[]>>()
    return Promise.all([promise, sync])
  })

  it('infers the item type from the source for an unannotated fn', () => {
    const promise = pipe([1, 2, 3], parallelMap((x) => x.toFixed(1)), collect)
    expectTypeOf(promise).toEqualTypeOf<Promise<string[]>>()
    return promise
  })

  it('parallelMapSettled gives Settled records', () => {
    const promise = pipe(['a', 'b'], parallelMapSettled(async (s: string) => s.length), collect)
    expectTypeOf(promise).toEqualTypeOf<Promise<Settled<string, number>[]>>()
    return promise.then((records) => {
      const record = records[0]!
      if (record.status === 'fulfilled') expectTypeOf(record.value).toEqualTypeOf<number>()
      else expectTypeOf(record.reason).toEqualTypeOf<unknown>()
      expectTypeOf(record.item).toEqualTypeOf<string>()
      expectTypeOf(record.index).toEqualTypeOf<number>()
    })
  })

  it('operators are Operator values that also take promised items, and unwrap promises', () => {
    const op = parallelMap(async (x: number, context: TaskContext) => ({ x, attempt: context.attempt }))
    expectTypeOf(op).toExtend<Operator<number, { x: number; attempt: number }>>()
    expectTypeOf(op).toEqualTypeOf<Operator<number | PromiseLike<number>, { x: number; attempt: number }>>()
    expectTypeOf(op([1])).toEqualTypeOf<AsyncIterableIterator<{ x: number; attempt: number }>>()
    expectTypeOf(op([Promise.resolve(1)])).toEqualTypeOf<AsyncIterableIterator<{ x: number; attempt: number }>>()
    expectTypeOf(parallelMap((x: number) => Promise.resolve([x]))).toExtend<Operator<number, number[]>>()
  })

  it('parallel yields the awaited task results', () => {
    const iterator = parallel([async () => 1, () => 2])
    expectTypeOf(iterator).toEqualTypeOf<AsyncIterableIterator<number>>()
    return collect(iterator)
  })

  it('drain resolves with nothing and stages chain their types', () => {
    const done = pipe([1], parallelMap((x: number) => x), drain)
    expectTypeOf(done).toEqualTypeOf<Promise<void>>()
    const chained = pipe(
      [1, 2],
      parallelMap((x: number) => `${x}`),
      parallelMap((s: string) => s.length > 0),
      collect,
    )
    expectTypeOf(chained).toEqualTypeOf<Promise<boolean[]>>()
    return Promise.all([done, chained])
  })
})

describe('pipe rejects mismatched stages at compile time', () => {
  it('does not accept a stage whose input is not the previous output', () => {
    // @ts-expect-error -- a parallelMap over strings cannot follow a source of numbers
    const mismatched = () => pipe([1], parallelMap((s: string) => s.length), collect)
    expect(typeof mismatched).toBe('function')
  })
})
