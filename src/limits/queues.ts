import { Deque } from '../internal/deque.js'
import type { Queued, StartQueue } from '../scheduler/seams.js'

/**
 * The start queue of a run under a `Limiter` without keys: pulled items start in input order, each
 * once the limiter lets a call start. (Without it, an item whose pull was under way when the
 * limiter said yes would start however the limiter had changed by its arrival: lowered, paused,
 * or taken by another run that shares it.)
 */
export class FifoStartQueue<Q extends Queued<unknown>> implements StartQueue<Q> {
  readonly fifo = true
  readonly #waiting = new Deque<Q>()

  get length(): number {
    return this.#waiting.length
  }

  add(queued: Q): void {
    this.#waiting.push(queued)
  }

  next(): Q | undefined {
    return this.#waiting.shift()
  }

  ended(): void {}

  drop(from: number): Q[] {
    const kept: Q[] = []
    const dropped: Q[] = []
    for (let queued = this.#waiting.shift(); queued !== undefined; queued = this.#waiting.shift()) {
      ;(queued.index < from ? kept : dropped).push(queued)
    }
    for (const queued of kept) this.#waiting.push(queued)
    return dropped
  }
}

/** The waiting items of one key, and how many of its calls run. */
interface KeyState<Q> {
  readonly key: string
  running: number
  readonly waiting: Deque<Q>
  /** Whether the key is in the ready heap (it has room and waiting items). */
  ready: boolean
}

/**
 * The start queue of `key` + `keyConcurrency`: items wait under their key, at most `perKey` calls
 * of a key run at once, and the next to start is the oldest waiting item whose key has room, so
 * that a busy key never holds up the others and no key starves. A key with nothing running or
 * waiting is forgotten: memory follows the keys in use, not every key ever seen.
 */
export class KeyedStartQueue<Q extends Queued<unknown>> implements StartQueue<Q> {
  readonly #keyOf: (item: unknown) => string
  readonly #perKey: number
  readonly #keys = new Map<string, KeyState<Q>>()
  /** Keys with room and waiting items, as a binary min-heap on their oldest item's index. */
  readonly #heap: KeyState<Q>[] = []
  #length = 0

  /**
   * @param keyOf - the `key` option: called once per item, when it is added.
   * @param perKey - most calls of one key running at once.
   */
  constructor(keyOf: (item: unknown) => string, perKey: number) {
    this.#keyOf = keyOf
    this.#perKey = perKey
  }

  get length(): number {
    return this.#length
  }

  /** Queues an item under its key. Throws what `key` throws, or a `TypeError` if it is no string. */
  add(queued: Q): void {
    const key = this.#keyOf(queued.item)
    if (typeof key !== 'string') {
      throw new TypeError(`Expected key to return a string, got ${typeof key} for the item at index ${queued.index}`)
    }
    queued.key = key
    let state = this.#keys.get(key)
    if (state === undefined) {
      state = { key, running: 0, waiting: new Deque(), ready: false }
      this.#keys.set(key, state)
    }
    state.waiting.push(queued)
    this.#length++
    if (!state.ready && state.running < this.#perKey) this.#add(state)
  }

  /** Takes the oldest waiting item whose key has room, and counts it as running under its key. */
  next(): Q | undefined {
    const state = this.#heap[0]
    if (state === undefined) return undefined
    const queued = state.waiting.shift()!
    this.#length--
    state.running++
    if (state.waiting.length > 0 && state.running < this.#perKey) this.#down(0)
    else this.#removeTop()
    return queued
  }

  /** An item that {@link next} handed out has settled: its key has room again. */
  ended(queued: Q): void {
    const state = this.#keys.get(queued.key!)!
    state.running--
    if (state.waiting.length > 0) {
      if (!state.ready) this.#add(state)
    } else if (state.running === 0) {
      this.#keys.delete(state.key)
    }
  }

  drop(from: number): Q[] {
    const dropped: Q[] = []
    for (const state of this.#keys.values()) {
      const kept: Q[] = []
      for (let queued = state.waiting.shift(); queued !== undefined; queued = state.waiting.shift()) {
        ;(queued.index < from ? kept : dropped).push(queued)
      }
      for (const queued of kept) state.waiting.push(queued)
      if (state.waiting.length === 0 && state.running === 0) this.#keys.delete(state.key)
    }
    this.#length -= dropped.length
    // Heads may have changed: rebuild the heap from the keys that still have room and items.
    this.#heap.length = 0
    for (const state of this.#keys.values()) {
      state.ready = false
      if (state.waiting.length > 0 && state.running < this.#perKey) this.#add(state)
    }
    return dropped
  }

  #index(at: number): number {
    return this.#heap[at]!.waiting.peek()!.index
  }

  #add(state: KeyState<Q>): void {
    state.ready = true
    const heap = this.#heap
    let at = heap.push(state) - 1
    while (at > 0) {
      const parent = (at - 1) >> 1
      if (this.#index(parent) <= this.#index(at)) break
      ;[heap[parent], heap[at]] = [heap[at]!, heap[parent]!]
      at = parent
    }
  }

  #removeTop(): void {
    const heap = this.#heap
    heap[0]!.ready = false
    const last = heap.pop()!
    if (heap.length === 0) return
    heap[0] = last
    this.#down(0)
  }

  #down(at: number): void {
    const heap = this.#heap
    for (;;) {
      const left = 2 * at + 1
      if (left >= heap.length) return
      const right = left + 1
      const child = right < heap.length && this.#index(right) < this.#index(left) ? right : left
      if (this.#index(at) <= this.#index(child)) return
      ;[heap[child], heap[at]] = [heap[at]!, heap[child]!]
      at = child
    }
  }
}
