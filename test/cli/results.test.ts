import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { openResults, type ResultRecord } from '../../src/cli/results.js'

const dir = mkdtempSync(join(tmpdir(), 'foreach-parallel-results-'))
afterAll(() => rmSync(dir, { recursive: true }))

const record = (item: string, error: string | null): ResultRecord => ({
  item,
  index: 0,
  command: `echo ${item}`,
  status: error === null ? 'succeeded' : 'failed',
  exitCode: error === null ? 0 : null,
  signal: null,
  attempts: 1,
  startedAt: '2026-01-01T00:00:00.000Z',
  duration: 12,
  error,
})

describe('openResults', () => {
  it('writes a valid JSON array, empty or not', () => {
    const empty = join(dir, 'empty.json')
    openResults(empty, 'json').close()
    expect(JSON.parse(readFileSync(empty, 'utf8'))).toEqual([])
    const file = join(dir, 'two.json')
    const writer = openResults(file, 'json')
    writer.write(record('a', null))
    writer.write(record('b', 'exit code 1'))
    writer.close()
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual([record('a', null), record('b', 'exit code 1')])
  })

  it('writes one JSON record per line as NDJSON', () => {
    const file = join(dir, 'r.ndjson')
    const writer = openResults(file, 'ndjson')
    writer.write(record('line\nbreak', null))
    writer.close()
    expect(readFileSync(file, 'utf8')).toBe(`${JSON.stringify(record('line\nbreak', null))}\n`)
  })

  it('quotes CSV fields that hold commas, quotes, line breaks or edge spaces, and leaves null empty', () => {
    const file = join(dir, 'r.csv')
    const writer = openResults(file, 'csv')
    for (const item of ['plain', 'a,b', 'say "hi"', 'two\nlines', ' padded', 'cr\r']) writer.write(record(item, null))
    writer.write(record('x', 'killed by SIGKILL'))
    writer.close()
    expect(readFileSync(file, 'utf8')).toBe(
      [
        'item,status,exitCode,duration,error',
        'plain,succeeded,0,12,',
        '"a,b",succeeded,0,12,',
        '"say ""hi""",succeeded,0,12,',
        '"two\nlines",succeeded,0,12,',
        '" padded",succeeded,0,12,',
        '"cr\r",succeeded,0,12,',
        'x,failed,,12,killed by SIGKILL',
        '',
      ].join('\n'),
    )
  })

  it('throws the file system error when the file cannot be created', () => {
    expect(() => openResults(join(dir, 'missing', 'r.json'), 'json')).toThrow(/ENOENT/)
  })
})
