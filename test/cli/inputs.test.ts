import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { openInputs, type OpenInputsOptions } from '../../src/cli/inputs.js'
import { collect } from '../../src/sinks.js'
import { useScratch } from './helpers.js'

const scratch = useScratch()

const options = (overrides: Partial<OpenInputsOptions> = {}): OpenInputsOptions => ({
  separator: '\n',
  stdin: Readable.from([Buffer.from('s1\ns2\n')]),
  count: false,
  readAll: false,
  signal: new AbortController().signal,
  ...overrides,
})

describe('openInputs', () => {
  it('reads standard input when there is no source', async () => {
    const inputs = await openInputs([], options())
    expect(await collect(inputs.combinations)).toEqual([['s1'], ['s2']])
    expect(inputs.total).toBeUndefined()
  })

  it('combines the sources as nested loops, the first outermost, and knows the total of value lists', async () => {
    const inputs = await openInputs(
      [
        { kind: 'values', values: ['a', 'b'] },
        { kind: 'values', values: ['1', '2', '3'] },
        { kind: 'file', path: '-', option: '::::' },
      ],
      options(),
    )
    expect(inputs.total).toBe(12)
    const combinations = await collect(inputs.combinations)
    expect(combinations.slice(0, 3)).toEqual([['a', '1', 's1'], ['a', '1', 's2'], ['a', '2', 's1']])
    expect(combinations).toHaveLength(12)
  })

  it('counts a regular file first when asked, and reads it whole for readAll', async () => {
    const file = join(scratch(), 'items')
    writeFileSync(file, 'x\0y\0z')
    const counted = await openInputs([{ kind: 'file', path: file, option: '-a' }], options({ count: true, separator: '\0' }))
    expect(counted.total).toBe(3)
    expect(await collect(counted.combinations)).toEqual([['x'], ['y'], ['z']])
    const whole = await openInputs([{ kind: 'file', path: file, option: '-a' }, { kind: 'values', values: ['1'] }], options({ readAll: true, separator: '\0' }))
    expect(whole.total).toBe(3)
  })

  it('says which file cannot be read', async () => {
    await expect(openInputs([{ kind: 'file', path: '/no/such', option: '-a' }], options())).rejects.toThrow('cannot read -a /no/such: ENOENT')
    await expect(openInputs([{ kind: 'values', values: [] }, { kind: 'file', path: '/', option: '::::' }], options())).rejects.toThrow(
      'cannot read :::: /: it is a directory',
    )
  })
})
