import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll } from 'vitest'

/** The results of running the command. */
export interface Ran {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Makes `scratch()` hand out fresh directories under one removed after the file's tests. */
export function useScratch(): () => string {
  let dir = ''
  let count = 0
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'foreach-parallel-cli-'))
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  return () => {
    const path = join(dir, String(count++))
    mkdirSync(path)
    return path
  }
}

/** Command lines of the processes running now whose command line starts with `text`. */
export function processesMatching(text: string): string[] {
  const found: string[] = []
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim()
      if (command.startsWith(text)) found.push(command)
    } catch {
      // The process ended while we looked.
    }
  }
  return found
}

/** Polls `condition` until it holds; the test's timeout bounds the wait. */
export async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 20))
}

/** A small RFC 4180 reader: quoted fields may hold commas, doubled quotes and line breaks. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let field = ''
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"'
        i++
      } else if (c === '"') quoted = false
      else field += c
    } else if (c === '"') quoted = true
    else if (c === ',') {
      row.push(field)
      field = ''
    } else if (c === '\n') {
      row.push(field)
      rows.push(row)
      row = []
      field = ''
    } else field += c
  }
  return rows
}
