import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { KeyedQueue } from '../src/limits/keys.js'

describe('KeyedQueue', () => {
  it('starts at most perKey entries of a key, oldest first, without holding up other keys', () => {
    const q = new KeyedQueue<string>(2)
    for (const [i, url] of ['a/1', 'a/2', 'a/3', 'b/1', 'a/4', 'b/2', 'c/1'].entries()) q.push(url[0]!, url, i)
    expect([q.shift(), q.shift(), q.shift(), q.shift(), q.shift()]).toEqual(['a/1', 'a/2', 'b/1', 'b/2', 'c/1'])
    expect(q.shift()).toBeUndefined()
    expect(q.waiting).toBe(2)
    q.done('b')
    expect(q.shift()).toBeUndefined()
    q.done('a')
    expect(q.shift()).toBe('a/3')
    q.done('a')
    expect([q.shift(), q.shift(), q.waiting]).toEqual(['a/4', undefined, 0])
  })

  it('hands a key that got room back its oldest entry, in order with the others', () => {
    const q = new KeyedQueue<number>(1)
    q.push('x', 0, 0)
    q.push('x', 2, 2)
    q.push('y', 1, 1)
    q.push('y', 3, 3)
    expect([q.shift(), q.shift(), q.shift()]).toEqual([0, 1, undefined])
    q.done('y')
    q.done('x')
    expect([q.shift(), q.shift()]).toEqual([2, 3])
  })

  it('forgets nothing that runs: a key whose entries all ended starts over', () => {
    const q = new KeyedQueue<number>(1)
    q.push('k', 1, 1)
    expect(q.shift()).toBe(1)
    q.done('k')
    q.push('k', 2, 2)
    q.push('k', 3, 3)
    expect([q.shift(), q.shift()]).toEqual([2, undefined])
  })

  it('clear takes every waiting entry out; running ones still end with done', () => {
    const q = new KeyedQueue<number>(1)
    q.push('a', 0, 0)
    q.push('a', 1, 1)
    q.push('b', 2, 2)
    expect(q.shift()).toBe(0)
    expect(q.clear().sort()).toEqual([1, 2])
    expect([q.waiting, q.shift()]).toEqual([0, undefined])
    q.done('a')
    q.push('a', 3, 3)
    expect(q.shift()).toBe(3)
  })

  it('always starts the oldest waiting entry whose key has room (against a plain model)', () => {
    const step = fc.oneof(
      fc.record({ op: fc.constant('push' as const), key: fc.constantFrom('a', 'b', 'c', 'd') }),
      fc.record({ op: fc.constant('shift' as const) }),
      fc.record({ op: fc.constant('done' as const), pick: fc.nat() }),
    )
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3 }), fc.array(step, { maxLength: 80 }), (perKey, steps) => {
        const q = new KeyedQueue<number>(perKey)
        const waiting: { key: string; order: number }[] = []
        const running: { key: string; order: number }[] = []
        let order = 0
        for (const s of steps) {
          if (s.op === 'push') {
            waiting.push({ key: s.key, order })
            q.push(s.key, order++, order - 1)
          } else if (s.op === 'shift') {
            const busy = (key: string) => running.filter((r) => r.key === key).length >= perKey
            const expected = waiting.find((w) => !busy(w.key))
            expect(q.shift()).toBe(expected?.order)
            if (expected) {
              waiting.splice(waiting.indexOf(expected), 1)
              running.push(expected)
            }
          } else if (running.length > 0) {
            const [ended] = running.splice(s.pick % running.length, 1)
            q.done(ended!.key)
          }
          expect(q.waiting).toBe(waiting.length)
        }
      }),
    )
  })
})
