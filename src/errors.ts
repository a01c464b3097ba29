import { isSource } from './internal/source.js'

/**
 * What an item fails with when its per-item `timeout` expires, and what the `timeout` operator
 * rejects with. `name` is `'TimeoutError'`, like the DOMException that `AbortSignal.timeout()` uses.
 */
export class TimeoutError extends Error {
  /** Always `'TimeoutError'`, so a timeout can be told from other errors without `instanceof`. */
  override readonly name = 'TimeoutError'

  /** @param message - defaults to `'Operation timed out'` */
  constructor(message = 'Operation timed out', options?: ErrorOptions) {
    super(message, options)
  }
}

/** Renders a received value for an error message: `0`, `NaN`, `"5" (string)`, `null`, `object`. */
export function describe(value: unknown): string {
  if (typeof value === 'number') return String(value)
  if (typeof value === 'string') return `${JSON.stringify(value)} (string)`
  if (value === null) return 'null'
  if (typeof value === 'function') return 'a function'
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object'
  // Objects and functions were described above: what is left has a useful String().
  // eslint-disable-next-line @typescript-eslint/no-base-to-string
  return `${String(value)} (${typeof value})`
}

function fail(name: string, expected: string, value: unknown, Type: typeof TypeError): never {
  throw new Type(`Expected ${name} to be ${expected}, got ${describe(value)}`)
}

/**
 * An integer >= `min`, or `Infinity` when allowed. A non-number is a `TypeError`; `NaN`, a fraction
 * or a number out of range is a `RangeError`.
 */
export function checkInteger(name: string, value: unknown, min: number, allowInfinity = false): number {
  const expected = `an integer >= ${min}${allowInfinity ? ' or Infinity' : ''}`
  if (typeof value !== 'number') fail(name, expected, value, TypeError)
  if (value === Infinity && allowInfinity) return value
  if (!Number.isInteger(value) || value < min) fail(name, expected, value, RangeError)
  return value
}

/** The longest delay a timer keeps: Node and browsers fire a longer one at once. */
export const MAX_DELAY = 2_147_483_647

/** A delay in ms that a timer can keep (at most {@link MAX_DELAY}); checked after its other checks. */
export function checkMaxDelay(name: string, value: number): number {
  if (value > MAX_DELAY) {
    throw new RangeError(`Expected ${name} to be at most ${MAX_DELAY} ms (the longest timer delay), got ${value}`)
  }
  return value
}

/** A finite number > 0 (a duration in ms), at most {@link MAX_DELAY}. */
export function checkDuration(name: string, value: unknown): number {
  const expected = 'a finite number > 0'
  if (typeof value !== 'number') fail(name, expected, value, TypeError)
  if (!Number.isFinite(value) || value <= 0) fail(name, expected, value, RangeError)
  return checkMaxDelay(name, value)
}

/** A finite number >= `min`. */
export function checkNumber(name: string, value: unknown, min: number): number {
  const expected = `a finite number >= ${min}`
  if (typeof value !== 'number') fail(name, expected, value, TypeError)
  if (!Number.isFinite(value) || value < min) fail(name, expected, value, RangeError)
  return value
}

/** A boolean; anything else is a `TypeError`. */
export function checkBoolean(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') fail(name, 'a boolean', value, TypeError)
  return value
}

/** A string; anything else is a `TypeError`. */
export function checkString(name: string, value: unknown): string {
  if (typeof value !== 'string') fail(name, 'a string', value, TypeError)
  return value
}

/** A function; anything else is a `TypeError`. */
export function checkFunction<F = (...args: never[]) => unknown>(name: string, value: unknown): F {
  if (typeof value !== 'function') fail(name, 'a function', value, TypeError)
  return value as F
}

/** One of a fixed set of strings; anything else is a `TypeError`. */
export function checkOneOf<const V extends string>(name: string, value: unknown, allowed: readonly V[]): V {
  if (!allowed.includes(value as V)) {
    fail(name, `one of ${allowed.map((v) => `'${v}'`).join(', ')}`, value, TypeError)
  }
  return value as V
}

/**
 * A real `AbortSignal`; anything else, a look-alike included, is a `TypeError`: a look-alike without
 * `removeEventListener` or `reason` would fail only at the end of a run.
 */
export function checkSignal(name: string, value: unknown): AbortSignal {
  if (!(value instanceof AbortSignal)) fail(name, 'an AbortSignal', value, TypeError)
  return value
}

/** A plain object; anything else (`null`, an array, a primitive) is a `TypeError`. */
export function checkObject<O extends object>(name: string, value: unknown): O {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(name, 'an object', value, TypeError)
  return value as O
}

/**
 * Every key an options object of type `O` may have, each mapped to `true`. Being a mapped type, the
 * compiler makes a table list every option of `O` and nothing else.
 */
export type KnownKeys<O> = { readonly [K in keyof Required<O>]: true }

/**
 * A plain options object, or `undefined` (taken as `{}`). A key that `known` does not list is a
 * `TypeError` naming it and the nearest known key, so a typo (`concurency`) is never silently ignored.
 */
export function checkOptions<O extends object>(name: string, value: unknown, known: KnownKeys<O>): Partial<O> {
  if (value === undefined) return {}
  const options = checkObject<Partial<O>>(name, value)
  for (const key of Object.keys(options)) {
    if (!Object.hasOwn(known, key)) throw new TypeError(unknownOption(name, key, Object.keys(known)))
  }
  return options
}

function unknownOption(name: string, key: string, known: string[]): string {
  const where = name === 'options' ? '' : ` in ${name}`
  if (known.length === 0) return `Unknown option ${key}${where}; it takes no options`
  let nearest = known[0]!
  let best = Infinity
  for (const candidate of known) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase())
    if (distance < best) [nearest, best] = [candidate, distance]
  }
  const close = best <= Math.max(2, Math.floor(nearest.length / 3))
  return close
    ? `Unknown option ${key}${where}; did you mean ${nearest}?`
    : `Unknown option ${key}${where}; the options are ${known.join(', ')} (nearest: ${nearest})`
}

/** Levenshtein distance; option names are short, so the quadratic table is fine. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    previous = current
  }
  return previous[b.length]!
}

/**
 * An iterable or async iterable (arrays, generators, Node `Readable`, web `ReadableStream`). A string
 * is refused: iterating it character by character is never what a pipeline of items meant.
 */
export function checkSource(value: unknown, name = 'source'): void {
  if (!isSource(value)) fail(name, 'an iterable or async iterable (not a string)', value, TypeError)
}
