import { describe, expect, it } from 'vitest'
import {
  checkBoolean,
  checkDuration,
  checkFunction,
  checkInteger,
  checkNumber,
  checkOneOf,
  checkOptions,
  checkSignal,
  checkSource,
  checkString,
  describe as describeValue,
} from '../src/errors.js'
import { batch, parallel, parallelMap, parallelMapSettled, throttle, timeout, TimeoutError, type ParallelMapOptions } from '../src/index.js'

const fn = (x: unknown) => x

type Case = [options: Record<string, unknown>, Type: typeof TypeError, message: string]

/** Every invalid option value with the exact error it must produce. */
const cases: Case[] = [
  // concurrency: integer >= 1 or Infinity
  [{ concurrency: NaN }, RangeError, 'Expected concurrency to be an integer >= 1 or Infinity, got NaN'],
  [{ concurrency: -1 }, RangeError, 'Expected concurrency to be an integer >= 1 or Infinity, got -1'],
  [{ concurrency: 0 }, RangeError, 'Expected concurrency to be an integer >= 1 or Infinity, got 0'],
  [{ concurrency: 1.5 }, RangeError, 'Expected concurrency to be an integer >= 1 or Infinity, got 1.5'],
  [{ concurrency: -Infinity }, RangeError, 'Expected concurrency to be an integer >= 1 or Infinity, got -Infinity'],
  [{ concurrency: '5' }, TypeError, `Expected concurrency to be an integer >= 1, Infinity, 'auto' or a Limiter, got "5" (string)`],
  [{ concurrency: null }, TypeError, `Expected concurrency to be an integer >= 1, Infinity, 'auto' or a Limiter, got null`],
  [{ concurrency: 5n }, TypeError, `Expected concurrency to be an integer >= 1, Infinity, 'auto' or a Limiter, got 5 (bigint)`],
  [{ concurrency: { limit: 5 } }, TypeError, `Expected concurrency to be an integer >= 1, Infinity, 'auto' or a Limiter, got an object`],
  // ordered: boolean
  [{ ordered: 'yes' }, TypeError, 'Expected ordered to be a boolean, got "yes" (string)'],
  [{ ordered: 1 }, TypeError, 'Expected ordered to be a boolean, got 1'],
  [{ ordered: null }, TypeError, 'Expected ordered to be a boolean, got null'],
  // readAhead: integer >= concurrency or Infinity
  [{ readAhead: NaN }, RangeError, 'Expected readAhead to be an integer >= 5 or Infinity, got NaN'],
  [{ readAhead: -1 }, RangeError, 'Expected readAhead to be an integer >= 5 or Infinity, got -1'],
  [{ readAhead: 0 }, RangeError, 'Expected readAhead to be an integer >= 5 or Infinity, got 0'],
  [{ readAhead: 5.5 }, RangeError, 'Expected readAhead to be an integer >= 5 or Infinity, got 5.5'],
  [{ readAhead: 4 }, RangeError, 'Expected readAhead to be an integer >= 5 or Infinity, got 4'],
  [{ concurrency: 3, readAhead: 2 }, RangeError, 'Expected readAhead to be an integer >= 3 or Infinity, got 2'],
  [{ readAhead: '8' }, TypeError, 'Expected readAhead to be an integer >= 5 or Infinity, got "8" (string)'],
  [{ readAhead: null }, TypeError, 'Expected readAhead to be an integer >= 5 or Infinity, got null'],
  [{ concurrency: Infinity, readAhead: 1000 }, RangeError, 'Expected readAhead to be Infinity when concurrency is Infinity, got 1000'],
  [{ concurrency: Infinity, readAhead: '1' }, TypeError, 'Expected readAhead to be Infinity when concurrency is Infinity, got "1" (string)'],
  // signal: an AbortSignal
  [{ signal: {} }, TypeError, 'Expected signal to be an AbortSignal, got an object'],
  [{ signal: 'abort' }, TypeError, 'Expected signal to be an AbortSignal, got "abort" (string)'],
  [{ signal: null }, TypeError, 'Expected signal to be an AbortSignal, got null'],
  [{ signal: new AbortController() }, TypeError, 'Expected signal to be an AbortSignal, got an object'],
  // timeout: finite number > 0
  [{ timeout: NaN }, RangeError, 'Expected timeout to be a finite number > 0, got NaN'],
  [{ timeout: -1 }, RangeError, 'Expected timeout to be a finite number > 0, got -1'],
  [{ timeout: 0 }, RangeError, 'Expected timeout to be a finite number > 0, got 0'],
  [{ timeout: Infinity }, RangeError, 'Expected timeout to be a finite number > 0, got Infinity'],
  [{ timeout: '100' }, TypeError, 'Expected timeout to be a finite number > 0, got "100" (string)'],
  [{ timeout: 2 ** 31 }, RangeError, 'Expected timeout to be at most 2147483647 ms (the longest timer delay), got 2147483648'],
  [
    { retry: { retries: 1, maxDelay: 2 ** 31 } },
    RangeError,
    'Expected retry.maxDelay to be at most 2147483647 ms (the longest timer delay), got 2147483648',
  ],
  [{ timeout: null }, TypeError, 'Expected timeout to be a finite number > 0, got null'],
  // onError: one of two strings; anything else is a TypeError, even a string
  [{ onError: 'ignore' }, TypeError, `Expected onError to be one of 'abort', 'continue', got "ignore" (string)`],
  [{ onError: 'Abort' }, TypeError, `Expected onError to be one of 'abort', 'continue', got "Abort" (string)`],
  [{ onError: 0 }, TypeError, `Expected onError to be one of 'abort', 'continue', got 0`],
  [{ onError: null }, TypeError, `Expected onError to be one of 'abort', 'continue', got null`],
  // retry: an object with retries and optional delays
  [{ retry: 3 }, TypeError, 'Expected retry to be an object, got 3'],
  [{ retry: null }, TypeError, 'Expected retry to be an object, got null'],
  [{ retry: [] }, TypeError, 'Expected retry to be an object, got an array'],
  [{ retry: {} }, TypeError, 'Expected retry.retries to be an integer >= 0, got undefined (undefined)'],
  [{ retry: { retries: NaN } }, RangeError, 'Expected retry.retries to be an integer >= 0, got NaN'],
  [{ retry: { retries: -1 } }, RangeError, 'Expected retry.retries to be an integer >= 0, got -1'],
  [{ retry: { retries: 1.5 } }, RangeError, 'Expected retry.retries to be an integer >= 0, got 1.5'],
  [{ retry: { retries: Infinity } }, RangeError, 'Expected retry.retries to be an integer >= 0, got Infinity'],
  [{ retry: { retries: '2' } }, TypeError, 'Expected retry.retries to be an integer >= 0, got "2" (string)'],
  [{ retry: { retries: null } }, TypeError, 'Expected retry.retries to be an integer >= 0, got null'],
  [{ retry: { retries: 1, minDelay: -1 } }, RangeError, 'Expected retry.minDelay to be a finite number >= 0, got -1'],
  [{ retry: { retries: 1, minDelay: NaN } }, RangeError, 'Expected retry.minDelay to be a finite number >= 0, got NaN'],
  [
    { retry: { retries: 1, minDelay: Infinity } },
    RangeError,
    'Expected retry.minDelay to be a finite number >= 0, got Infinity',
  ],
  [{ retry: { retries: 1, minDelay: '1' } }, TypeError, 'Expected retry.minDelay to be a finite number >= 0, got "1" (string)'],
  [{ retry: { retries: 1, maxDelay: 50 } }, RangeError, 'Expected retry.maxDelay to be a finite number >= 100, got 50'],
  [
    { retry: { retries: 1, minDelay: 10, maxDelay: 5 } },
    RangeError,
    'Expected retry.maxDelay to be a finite number >= 10, got 5',
  ],
  [{ retry: { retries: 1, maxDelay: NaN } }, RangeError, 'Expected retry.maxDelay to be a finite number >= 100, got NaN'],
  [{ retry: { retries: 1, maxDelay: null } }, TypeError, 'Expected retry.maxDelay to be a finite number >= 100, got null'],
  [{ retry: { retries: 1, factor: 0.5 } }, RangeError, 'Expected retry.factor to be a finite number >= 1, got 0.5'],
  [{ retry: { retries: 1, factor: -1 } }, RangeError, 'Expected retry.factor to be a finite number >= 1, got -1'],
  [{ retry: { retries: 1, factor: NaN } }, RangeError, 'Expected retry.factor to be a finite number >= 1, got NaN'],
  [{ retry: { retries: 1, factor: '2' } }, TypeError, 'Expected retry.factor to be a finite number >= 1, got "2" (string)'],
  [{ retry: { retries: 1, shouldRetry: true } }, TypeError, 'Expected retry.shouldRetry to be a function, got true (boolean)'],
  [{ retry: { retries: 1, shouldRetry: null } }, TypeError, 'Expected retry.shouldRetry to be a function, got null'],
  // onProgress: a function
  [{ onProgress: 'log' }, TypeError, 'Expected onProgress to be a function, got "log" (string)'],
  [{ onProgress: {} }, TypeError, 'Expected onProgress to be a function, got an object'],
  [{ onProgress: null }, TypeError, 'Expected onProgress to be a function, got null'],
  // total: integer >= 0
  [{ total: NaN }, RangeError, 'Expected total to be an integer >= 0, got NaN'],
  [{ total: -1 }, RangeError, 'Expected total to be an integer >= 0, got -1'],
  [{ total: 1.5 }, RangeError, 'Expected total to be an integer >= 0, got 1.5'],
  [{ total: Infinity }, RangeError, 'Expected total to be an integer >= 0, got Infinity'],
  [{ total: '10' }, TypeError, 'Expected total to be an integer >= 0, got "10" (string)'],
  [{ total: null }, TypeError, 'Expected total to be an integer >= 0, got null'],
]

/** Runs `create` and returns what it threw. */
function thrown(create: () => unknown): unknown {
  try {
    create()
  } catch (error) {
    return error
  }
  throw new Error('expected a throw')
}

describe.each([
  ['parallelMap', parallelMap],
  ['parallelMapSettled', parallelMapSettled],
] as const)('%s validates when it is created', (_, operator) => {
  it.each(cases)('%o → %o: %s', (options, Type, message) => {
    const error = thrown(() => operator(fn, options as ParallelMapOptions))
    expect(error).toBeInstanceOf(Type)
    // A RangeError is not a TypeError and vice versa: the class must be exact.
    expect((error as Error).constructor).toBe(Type)
    expect((error as Error).message).toBe(message)
  })

  it.each([
    [undefined, 'undefined (undefined)'],
    [null, 'null'],
    ['x => x', '"x => x" (string)'],
    [{}, 'an object'],
    [5, '5'],
  ])('rejects fn = %o with a TypeError', (value, shown) => {
    expect(() => operator(value as never)).toThrow(new TypeError(`Expected fn to be a function, got ${shown}`))
    expect(() => operator(value as never)).toThrow(TypeError)
  })

  it.each([
    [null, 'null'],
    [5, '5'],
    ['fast', '"fast" (string)'],
    [[], 'an array'],
    [fn, 'a function'],
  ])('rejects options = %o with a TypeError', (value, shown) => {
    expect(() => operator(fn, value as never)).toThrow(new TypeError(`Expected options to be an object, got ${shown}`))
  })

  it('accepts the edges of every range, and undefined as "use the default"', () => {
    const good: ParallelMapOptions[] = [
      {},
      { concurrency: 1, readAhead: 1 },
      { concurrency: Infinity, readAhead: Infinity },
      { concurrency: 2, readAhead: Infinity },
      { timeout: 1.5 },
      { timeout: Number.MIN_VALUE },
      { onError: 'abort' },
      { onError: 'continue' },
      { ordered: false },
      { signal: new AbortController().signal },
      { retry: { retries: 0 } },
      { retry: { retries: 1, minDelay: 0, maxDelay: 0, factor: 1, shouldRetry: () => true } },
      { retry: { retries: 1, minDelay: 20_000 } },
      { total: 0 },
      { onProgress: () => {} },
      {
        concurrency: undefined,
        ordered: undefined,
        readAhead: undefined,
        signal: undefined,
        timeout: undefined,
        onError: undefined,
        retry: undefined,
        onProgress: undefined,
        total: undefined,
      },
    ]
    for (const options of good) expect(() => operator(fn, options)).not.toThrow()
    expect(() => operator(fn)).not.toThrow()
  })

  it('with concurrency Infinity, readAhead must be Infinity too', () => {
    expect(() => operator(fn, { concurrency: Infinity, readAhead: 1000 })).toThrow(RangeError)
  })

  it.each([
    [5, '5'],
    [null, 'null'],
    [undefined, 'undefined (undefined)'],
    ['abc', '"abc" (string)'],
    [{}, 'an object'],
    [{ next: () => ({ done: true }) }, 'an object'],
    [Promise.resolve([1]), 'an object'],
  ])('rejects the source %o with a TypeError when applied, not at the first next()', (source, shown) => {
    const op = operator(fn)
    expect(() => op(source as never)).toThrow(
      new TypeError(`Expected source to be an iterable or async iterable (not a string), got ${shown}`),
    )
  })

  it('accepts a String object, which is a plain iterable', () => {
    expect(() => operator(fn)(new String('ab') as never)).not.toThrow()
  })
})

describe('parallel validates at once', () => {
  it.each([
    [{ concurrency: 0 }, RangeError, 'Expected concurrency to be an integer >= 1 or Infinity, got 0'],
    [{ concurrency: 1.5 }, RangeError, 'Expected concurrency to be an integer >= 1 or Infinity, got 1.5'],
    [{ concurrency: NaN }, RangeError, 'Expected concurrency to be an integer >= 1 or Infinity, got NaN'],
    [{ concurrency: '4' }, TypeError, `Expected concurrency to be an integer >= 1, Infinity, 'auto' or a Limiter, got "4" (string)`],
    [{ ordered: 'yes' }, TypeError, 'Expected ordered to be a boolean, got "yes" (string)'],
    [null, TypeError, 'Expected options to be an object, got null'],
  ] as const)('%o', (options, Type, message) => {
    const error = thrown(() => parallel([], options as never))
    expect((error as Error).constructor).toBe(Type)
    expect((error as Error).message).toBe(message)
  })

  it('rejects a source that is not iterable', () => {
    expect(() => parallel(42 as never)).toThrow(
      new TypeError('Expected source to be an iterable or async iterable (not a string), got 42'),
    )
  })
})

describe('TimeoutError', () => {
  it('is an Error named TimeoutError', () => {
    const error = new TimeoutError()
    expect(error).toBeInstanceOf(Error)
    expect(error).toBeInstanceOf(TimeoutError)
    expect(error.name).toBe('TimeoutError')
    expect(error.message).toBe('Operation timed out')
    expect(String(error)).toBe('TimeoutError: Operation timed out')
    expect(Object.prototype.toString.call(error)).toBe('[object Error]')
  })

  it('takes a message and a cause', () => {
    const cause = new Error('root')
    const error = new TimeoutError('late', { cause })
    expect(error.message).toBe('late')
    expect(error.cause).toBe(cause)
  })
})

describe('the argument checks', () => {
  it('describe renders every kind of value', () => {
    expect(describeValue(0)).toBe('0')
    expect(describeValue(NaN)).toBe('NaN')
    expect(describeValue('5')).toBe('"5" (string)')
    expect(describeValue(null)).toBe('null')
    expect(describeValue(undefined)).toBe('undefined (undefined)')
    expect(describeValue(true)).toBe('true (boolean)')
    expect(describeValue(5n)).toBe('5 (bigint)')
    expect(describeValue(Symbol('s'))).toBe('Symbol(s) (symbol)')
    expect(describeValue(() => 1)).toBe('a function')
    expect(describeValue([1])).toBe('an array')
    expect(describeValue({})).toBe('an object')
  })

  it('return the value when it is valid', () => {
    expect(checkInteger('n', 3, 1)).toBe(3)
    expect(checkInteger('n', Infinity, 1, true)).toBe(Infinity)
    expect(checkDuration('d', 0.5)).toBe(0.5)
    expect(checkNumber('x', 0, 0)).toBe(0)
    expect(checkBoolean('b', false)).toBe(false)
    expect(checkString('name', '')).toBe('')
    expect(checkFunction('f', fn)).toBe(fn)
    expect(checkOneOf('mode', 'b', ['a', 'b'])).toBe('b')
    const signal = AbortSignal.abort()
    expect(checkSignal('s', signal)).toBe(signal)
    expect(checkOptions<{ a?: number }>('o', undefined, { a: true })).toEqual({})
    const options = { a: 1 }
    expect(checkOptions<{ a?: number }>('o', options, { a: true })).toBe(options)
    expect(() => checkSource([])).not.toThrow()
  })

  it('name the limits in their messages', () => {
    expect(() => checkInteger('size', 0, 1)).toThrow(new RangeError('Expected size to be an integer >= 1, got 0'))
    expect(() => checkInteger('size', Infinity, 1)).toThrow(new RangeError('Expected size to be an integer >= 1, got Infinity'))
    expect(() => checkNumber('wait', -0.5, 0)).toThrow(new RangeError('Expected wait to be a finite number >= 0, got -0.5'))
    expect(() => checkString('name', 5)).toThrow(new TypeError('Expected name to be a string, got 5'))
    expect(() => checkString('name', null)).toThrow(new TypeError('Expected name to be a string, got null'))
    expect(() => checkOneOf('onTimeout', 'stop', ['throw', 'end'])).toThrow(
      new TypeError(`Expected onTimeout to be one of 'throw', 'end', got "stop" (string)`),
    )
  })
})

describe('unknown option keys', () => {
  it('are a TypeError naming the key and the nearest known one', () => {
    expect(() => parallelMap((x: number) => x, { concurency: 3 } as never)).toThrow(
      new TypeError('Unknown option concurency; did you mean concurrency?'),
    )
    expect(() => parallelMap((x: number) => x, { retry: { retires: 1 } } as never)).toThrow(
      new TypeError('Unknown option retires in retry; did you mean retries?'),
    )
    expect(() => batch(2, { maxwait: 5 } as never)).toThrow(new TypeError('Unknown option maxwait; did you mean maxWait?'))
    expect(() => throttle({ limit: 1, interval: 10, intervall: 5 } as never)).toThrow(
      new TypeError('Unknown option intervall; did you mean interval?'),
    )
  })

  it('list the options when none is close', () => {
    expect(() => timeout({ total: 5, zzzzzzzz: 1 } as never)).toThrow(
      new TypeError('Unknown option zzzzzzzz; the options are total, each, onTimeout (nearest: total)'),
    )
  })

  it('ignore inherited keys and accept every known one', () => {
    const options = Object.create({ inherited: true }) as Record<string, unknown>
    options.concurrency = 2
    expect(() => parallelMap((x: number) => x, options)).not.toThrow()
  })
})

describe('checkSignal', () => {
  it('refuses a look-alike that is not a real AbortSignal', () => {
    const fake = { aborted: false, addEventListener() {} }
    expect(() => checkSignal('signal', fake)).toThrow(new TypeError('Expected signal to be an AbortSignal, got an object'))
    expect(() => parallelMap((x: number) => x, { signal: fake as never })).toThrow(TypeError)
  })
})
