/**
 * A FIFO queue on a growable ring buffer: O(1) push and shift without the O(n) copy of
 * `Array.prototype.shift`, and without shrinking the backing array on every shift.
 */
export class Deque<T> {
  #items: (T | undefined)[] = new Array<T | undefined>(16)
  #head = 0
  #length = 0

  get length(): number {
    return this.#length
  }

  push(item: T): void {
    if (this.#length === this.#items.length) this.#grow()
    this.#items[(this.#head + this.#length) & (this.#items.length - 1)] = item
    this.#length++
  }

  /** The oldest item, or `undefined` when empty. */
  peek(): T | undefined {
    return this.#length === 0 ? undefined : this.#items[this.#head]
  }

  /** Removes and returns the oldest item, or `undefined` when empty. */
  shift(): T | undefined {
    if (this.#length === 0) return undefined
    const item = this.#items[this.#head]
    this.#items[this.#head] = undefined
    this.#head = (this.#head + 1) & (this.#items.length - 1)
    this.#length--
    return item
  }

  /** The items, oldest first, in a new array; the deque is left as it is. */
  toArray(): T[] {
    const items = new Array<T>(this.#length)
    for (let i = 0; i < this.#length; i++) items[i] = this.#items[(this.#head + i) & (this.#items.length - 1)] as T
    return items
  }

  clear(): void {
    this.#items = new Array<T | undefined>(16)
    this.#head = 0
    this.#length = 0
  }

  #grow(): void {
    const old = this.#items
    const items = new Array<T | undefined>(old.length * 2)
    for (let i = 0; i < this.#length; i++) items[i] = old[(this.#head + i) & (old.length - 1)]
    this.#items = items
    this.#head = 0
  }
}
