import { tick } from '../helpers.js'

export const double = (x: number): number => x * 2

/** A mapper that takes one macrotask turn per item and counts how many of its calls overlap. */
export function counting() {
  const state = { running: 0, max: 0, calls: 0 }
  const fn = async (x: number): Promise<number> => {
    state.calls++
    state.running++
    state.max = Math.max(state.max, state.running)
    await tick()
    state.running--
    return x
  }
  return { state, fn }
}

/** Reads `count` results with `next()` one at a time. */
export async function take<T>(iterator: AsyncIterator<T>, count: number): Promise<T[]> {
  const out: T[] = []
  for (let i = 0; i < count; i++) {
    const result = await iterator.next()
    if (result.done) break
    out.push(result.value)
  }
  return out
}

/** The rejection of `promise`, failing the test if it fulfils. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(value)}`)
    },
    (error: unknown) => error,
  )
}
