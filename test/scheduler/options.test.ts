import { describe, expect, it } from 'vitest'
import { parallelMap, parallelMapSettled } from '../../src/index.js'
import { configure, PARALLEL_MAP_OPTIONS } from '../../src/scheduler/options.js'

describe('configure', () => {
  it('fills in the defaults; options that are off stay undefined', () => {
    expect(configure(undefined, false)).toEqual({
      concurrency: 5,
      gate: undefined,
      readAhead: 10,
      queue: undefined,
      ordered: true,
      signal: undefined,
      timeout: undefined,
      policy: 'abort',
      retry: undefined,
      onProgress: undefined,
      onReport: undefined,
      total: undefined,
    })
    expect(configure({ onError: 'continue' }, false).policy).toBe('continue')
    expect(configure({ onError: 'continue' }, true).policy).toBe('settled')
    expect(configure({ retry: { retries: 2 } }, false).retry).toEqual({
      retries: 2,
      minDelay: 100,
      maxDelay: 10_000,
      factor: 2,
      shouldRetry: undefined,
    })
  })

  it.each([[null], [1], ['report'], [{}]])('refuses onReport %o, which is not a function', (onReport) => {
    for (const make of [parallelMap, parallelMapSettled]) {
      expect(() => make((x: number) => x, { onReport } as never)).toThrow(TypeError)
      expect(() => make((x: number) => x, { onReport } as never)).toThrow(/^Expected onReport to be a function, got /)
    }
  })

  it('knows onReport, and suggests it for a typo', () => {
    expect(PARALLEL_MAP_OPTIONS.onReport).toBe(true)
    expect(() => parallelMap((x: number) => x, { onReprt: () => {} } as never)).toThrow(
      new TypeError('Unknown option onReprt; did you mean onReport?'),
    )
  })
})
