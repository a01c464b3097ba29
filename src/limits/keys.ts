import { Deque } from '../internal/deque.js'

/** The entries of one key: how many run, and those waiting, oldest first. */
interface KeyState<E> {
  readonly key: string
  running: number
  readonly waiting: Deque<{ readonly entry: E; readonly order: number }>
  /** Whether the key is in the ready heap (it has room and waiting entries). */
  ready: boolean
}

/**
 * The "what starts next" policy of `key` + `keyConcurrency`: entries wait under their key, at most
 * `perKey` of a key run at once, and the next to start is the oldest waiting entry whose key has
 * room, so that a busy key never holds up the others and no key starves. A key with nothing running
 * or waiting is forgotten, so memory follows the keys in use, not every key ever seen.
 */
export class KeyedQueue<E> {
  readonly #perKey: number
  readonly #keys = new Map<string, KeyState<E>>()
  /** Keys with room and waiting entries, as a binary min-heap on their oldest entry's order. */
  readonly #heap: KeyState<E>[] = []
  #waiting = 0

  /** @param perKey - most entries of one key running at once. */
  constructor(perKey: number) {
    this.#perKey = perKey
  }

  /** Entries waiting, all keys together. */
  get waiting(): number {
    return this.#waiting
  }

  /** Queues `entry` under `key`; `order` ranks it (lower starts first), such as its index. */
  push(key: string, entry: E, order: number): void {
    let state = this.#keys.get(key)
    if (state === undefined) {
      state = { key, running: 0, waiting: new Deque(), ready: false }
      this.#keys.set(key, state)
    }
    state.waiting.push({ entry, order })
    this.#waiting++
    if (!state.ready && state.running < this.#perKey) this.#add(state)
  }

  /** Takes the oldest waiting entry whose key has room and counts it as running; `undefined` if none may start. */
  shift(): E | undefined {
    const state = this.#heap[0]
    if (state === undefined) return undefined
    const { entry } = state.waiting.shift()!
    this.#waiting--
    state.running++
    if (state.waiting.length > 0 && state.running < this.#perKey) this.#down(0)
    else this.#removeTop()
    return entry
  }

  /** An entry of `key` that `shift` handed out has ended: its key has room again. */
  done(key: string): void {
    const state = this.#keys.get(key)!
    state.running--
    if (state.waiting.length > 0) {
      if (!state.ready) this.#add(state)
    } else if (state.running === 0) {
      this.#keys.delete(key)
    }
  }

  /** Every waiting entry, taken out (the keys of running entries stay until `done`). */
  clear(): E[] {
    const entries: E[] = []
    for (const state of this.#keys.values()) {
      for (let item = state.waiting.shift(); item; item = state.waiting.shift()) entries.push(item.entry)
      state.ready = false
      if (state.running === 0) this.#keys.delete(state.key)
    }
    this.#heap.length = 0
    this.#waiting = 0
    return entries
  }

  #order(at: number): number {
    return this.#heap[at]!.waiting.peek()!.order
  }

  #add(state: KeyState<E>): void {
    state.ready = true
    const heap = this.#heap
    let at = heap.push(state) - 1
    while (at > 0) {
      const parent = (at - 1) >> 1
      if (this.#order(parent) <= this.#order(at)) break
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
      const child = right < heap.length && this.#order(right) < this.#order(left) ? right : left
      if (this.#order(at) <= this.#order(child)) return
      ;[heap[child], heap[at]] = [heap[at]!, heap[child]!]
      at = child
    }
  }
}
