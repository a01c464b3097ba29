import { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { collect, drain } from '../src/index.js'
import { naturals } from './helpers.js'

describe('collect', () => {
  it('reads arrays, iterables, generators and streams into an array', async () => {
    async function* generated() {
      yield 'a'
      yield 'b'
    }
    expect(await collect([1, 2, 3])).toEqual([1, 2, 3])
    expect(await collect(new Set(['x']))).toEqual(['x'])
    expect(await collect(generated())).toEqual(['a', 'b'])
    expect(await collect(Readable.from([{ id: 1 }, { id: 2 }]))).toEqual([{ id: 1 }, { id: 2 }])
    expect(await collect([])).toEqual([])
  })

  it('rejects with the source error after the source has cleaned up', async () => {
    let cleaned = false
    const broken = new Error('broken')
    async function* failing() {
      try {
        yield 1
        throw broken
      } finally {
        cleaned = true
      }
    }
    await expect(collect(failing())).rejects.toBe(broken)
    expect(cleaned).toBe(true)
  })

  it('rejects a non-source with a TypeError', async () => {
    await expect(collect(5 as never)).rejects.toThrow(
      new TypeError('Expected source to be an iterable or async iterable (not a string), got 5'),
    )
    await expect(collect('abc' as never)).rejects.toThrow(TypeError)
  })
})

describe('drain', () => {
  it('reads the source to the end for its side effects and resolves with nothing', async () => {
    const seen: number[] = []
    function* source() {
      for (const x of naturals()) {
        if (x === 5) return
        seen.push(x)
        yield x
      }
    }
    expect(await drain(source())).toBeUndefined()
    expect(seen).toEqual([0, 1, 2, 3, 4])
  })

  it('rejects with the source error, and a non-source with a TypeError', async () => {
    const broken = new Error('broken')
    async function* failing() {
      yield 1
      throw broken
    }
    await expect(drain(failing())).rejects.toBe(broken)
    await expect(drain(null as never)).rejects.toThrow(TypeError)
  })
})
