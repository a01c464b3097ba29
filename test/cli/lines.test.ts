import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { countLines, lines } from '../../src/cli/lines.js'
import { collect } from '../../src/sinks.js'

async function* chunks(parts: (string | Buffer)[], pulled: { count: number } = { count: 0 }) {
  for (const part of parts) {
    pulled.count++
    yield typeof part === 'string' ? Buffer.from(part) : part
  }
}

describe('lines', () => {
  it('splits on newlines across chunk boundaries, keeps empty lines and a last line without newline', async () => {
    expect(await collect(lines(chunks(['a\nb', 'c\n\nd', '', 'e\nlast'])))).toEqual(['a', 'bc', '', 'de', 'last'])
  })

  it('keeps a \\r before the newline, as GNU parallel does', async () => {
    expect(await collect(lines(chunks(['one\r\ntwo\r', '\nthree\r'])))).toEqual(['one\r', 'two\r', 'three\r'])
  })

  it('splits on NUL with -0, keeping newlines inside items', async () => {
    expect(await collect(lines(chunks(['a\nb\0c', '\0\0d']), '\0'))).toEqual(['a\nb', 'c', '', 'd'])
  })

  it('decodes a UTF-8 character split between chunks', async () => {
    const bytes = Buffer.from('é€\n')
    expect(await collect(lines(chunks([bytes.subarray(0, 1), bytes.subarray(1, 3), bytes.subarray(3)])))).toEqual(['é€'])
  })

  it('reads a chunk only when the lines before it have been taken', async () => {
    const pulled = { count: 0 }
    const iterator = lines(chunks(['a\nb\n', 'c\n', 'd\n'], pulled))
    expect(await iterator.next()).toEqual({ done: false, value: 'a' })
    expect(await iterator.next()).toEqual({ done: false, value: 'b' })
    expect(pulled.count).toBe(1)
    await iterator.return()
    expect(pulled.count).toBe(1)
  })

  it('yields nothing for an empty input', async () => {
    expect(await collect(lines(chunks([])))).toEqual([])
  })
})

describe('countLines', () => {
  it('counts what lines() finds, with or without a final newline', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'foreach-parallel-lines-'))
    try {
      const cases: [string, number][] = [['', 0], ['a', 1], ['a\n', 1], ['a\n\nb', 3], ['a\nb\n', 2]]
      for (const [text, count] of cases) {
        const file = join(dir, 'items')
        writeFileSync(file, text)
        expect(await countLines(file), JSON.stringify(text)).toBe(count)
        expect(await collect(lines(chunks([text])))).toHaveLength(count)
        writeFileSync(file, text.replaceAll('\n', '\0'))
        expect(await countLines(file, '\0'), JSON.stringify(text)).toBe(count)
      }
    } finally {
      rmSync(dir, { recursive: true })
    }
  })
})
