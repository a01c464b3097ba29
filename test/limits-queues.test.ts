import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { FifoStartQueue, KeyedStartQueue } from '../src/limits/queues.js'
import type { Queued } from '../src/scheduler/seams.js'

type Entry = Queued<string>

/** Items `'a/1'`, `'b/1'`, … at indexes 0, 1, … */
function entries(...items: string[]): Entry[] {
  return items.map((item, index) => ({ item, index, key: undefined }))
}

/** The key of `'host/path'` is its host. */
function byHost(perKey: number): KeyedStartQueue<Entry> {
  return new KeyedStartQueue((item) => (item as string).split('/')[0]!, perKey)
}

function items(list: (Entry | undefined)[]): (string | undefined)[] {
  return list.map((entry) => entry?.item)
}

describe('FifoStartQueue', () => {
  it('starts items in the order they came, and drops those from an index on', () => {
    const q = new FifoStartQueue<Entry>()
    for (const entry of entries('a', 'b', 'c', 'd')) q.add(entry)
    expect(q.next()?.item).toBe('a')
    expect(items(q.drop(2))).toEqual(['c', 'd'])
    expect([q.next()?.item, q.next(), q.length]).toEqual(['b', undefined, 0])
  })
})

describe('KeyedStartQueue', () => {
  it('starts at most perKey items of a key, oldest first, without holding up other keys', () => {
    const q = byHost(2)
    const list = entries('a/1', 'a/2', 'a/3', 'b/1', 'a/4', 'b/2', 'c/1')
    for (const entry of list) q.add(entry)
    expect(list.map((entry) => entry.key)).toEqual(['a', 'a', 'a', 'b', 'a', 'b', 'c'])
    expect(items([q.next(), q.next(), q.next(), q.next(), q.next(), q.next()])).toEqual(['a/1', 'a/2', 'b/1', 'b/2', 'c/1', undefined])
    expect(q.length).toBe(2)
    q.ended(list[3]!)
    expect(q.next()).toBeUndefined()
    q.ended(list[0]!)
    expect(q.next()?.item).toBe('a/3')
    q.ended(list[1]!)
    expect(items([q.next(), q.next()])).toEqual(['a/4', undefined])
    expect(q.length).toBe(0)
  })

  it('hands a key that got room back its oldest item, in index order with the other keys', () => {
    const q = byHost(1)
    const list = entries('x/0', 'y/1', 'x/2', 'y/3')
    for (const entry of list) q.add(entry)
    expect(items([q.next(), q.next(), q.next()])).toEqual(['x/0', 'y/1', undefined])
    q.ended(list[1]!)
    q.ended(list[0]!)
    expect(items([q.next(), q.next()])).toEqual(['x/2', 'y/3'])
  })

  it('a key whose items all ended starts over', () => {
    const q = byHost(1)
    const [first, second, third] = entries('k/1', 'k/2', 'k/3')
    q.add(first!)
    expect(q.next()).toBe(first)
    q.ended(first!)
    q.add(second!)
    q.add(third!)
    expect(items([q.next(), q.next()])).toEqual(['k/2', undefined])
  })

  it('drops the waiting items from an index on; running ones still end', () => {
    const q = byHost(1)
    const list = entries('a/0', 'a/1', 'b/2', 'b/3', 'c/4')
    for (const entry of list) q.add(entry)
    expect(q.next()?.item).toBe('a/0')
    expect(items(q.drop(2)).sort()).toEqual(['b/2', 'b/3', 'c/4'])
    expect([q.length, q.next()]).toEqual([1, undefined])
    q.ended(list[0]!)
    expect(items([q.next(), q.next()])).toEqual(['a/1', undefined])
  })

  it('lets a throwing key function through, and refuses a key that is not a string', () => {
    const boom = new Error('no host')
    const q = new KeyedStartQueue<Entry>((item) => {
      if (item === 'bad') throw boom
      return item === 'num' ? (5 as unknown as string) : 'k'
    }, 1)
    const [bad, num, good] = entries('bad', 'num', 'good')
    expect(() => q.add(bad!)).toThrow(boom)
    expect(() => q.add(num!)).toThrow(new TypeError('Expected key to return a string, got number for the item at index 1'))
    q.add(good!)
    expect([q.length, q.next()]).toEqual([1, good])
  })

  it('always starts the oldest waiting item whose key has room (against a plain model)', () => {
    const step = fc.oneof(
      fc.record({ op: fc.constant('add' as const), key: fc.constantFrom('a', 'b', 'c', 'd') }),
      fc.record({ op: fc.constant('next' as const) }),
      fc.record({ op: fc.constant('ended' as const), pick: fc.nat() }),
      fc.record({ op: fc.constant('drop' as const), from: fc.nat(80) }),
    )
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3 }), fc.array(step, { maxLength: 80 }), (perKey, steps) => {
        const q = byHost(perKey)
        const waiting: Entry[] = []
        const running: Entry[] = []
        let index = 0
        for (const s of steps) {
          if (s.op === 'add') {
            const entry: Entry = { item: `${s.key}/${index}`, index: index++, key: undefined }
            waiting.push(entry)
            q.add(entry)
          } else if (s.op === 'next') {
            const busy = (key: string) => running.filter((r) => r.key === key).length >= perKey
            const expected = waiting.find((w) => !busy(w.key!))
            expect(q.next()).toBe(expected)
            if (expected) {
              waiting.splice(waiting.indexOf(expected), 1)
              running.push(expected)
            }
          } else if (s.op === 'ended') {
            if (running.length > 0) q.ended(running.splice(s.pick % running.length, 1)[0]!)
          } else {
            const dropped = waiting.filter((w) => w.index >= s.from)
            expect(q.drop(s.from).sort((a, b) => a.index - b.index)).toEqual(dropped)
            waiting.splice(0, waiting.length, ...waiting.filter((w) => w.index < s.from))
          }
          expect(q.length).toBe(waiting.length)
        }
      }),
    )
  })
})
