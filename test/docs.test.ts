import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'

/**
 * The README and the pages under docs/ are checked like code: every relative link must reach a
 * file (and a heading, when it names one), and every TypeScript or JavaScript block must
 * type-check against the sources, so that no example drifts from the API it shows.
 */

const root = resolve(import.meta.dirname, '..')
const pages = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)]

interface Block {
  readonly page: string
  readonly line: number
  readonly lang: string
  readonly code: string
  /** Declarations the page puts before the block in an HTML comment: `<!-- check: declare const urls: string[] -->`. */
  readonly prelude: string
}

/** The fenced blocks of a page, with the line each starts on and the `check:` comment above it. */
function blocks(page: string): Block[] {
  const lines = readFileSync(join(root, page), 'utf8').split('\n')
  const found: Block[] = []
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)/.exec(lines[i]!)
    if (open === null) continue
    const start = i
    const body: string[] = []
    for (i++; i < lines.length && !lines[i]!.startsWith('```'); i++) body.push(lines[i]!)
    const above = lines[start - 1] ?? ''
    const prelude = /^<!-- check: ([\s\S]*) -->$/.exec(above)?.[1] ?? ''
    found.push({ page, line: start + 1, lang: open[1]!, code: body.join('\n'), prelude })
  }
  return found
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchors(page: string): Set<string> {
  const text = readFileSync(page, 'utf8').replace(/^```[\s\S]*?^```/gm, '')
  const seen = new Map<string, number>()
  const result = new Set<string>()
  for (const [, title] of text.matchAll(/^#{1,6} (.*)$/gm)) {
    const base = title!
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-')
    const n = seen.get(base) ?? 0
    seen.set(base, n + 1)
    result.add(n === 0 ? base : `${base}-${n}`)
  }
  return result
}

describe('docs', () => {
  it('has pages to check', () => {
    expect(pages).toContain('README.md')
    expect(pages.length).toBeGreaterThan(5)
  })

  it.each(pages)('%s: every relative link reaches a file and heading', (page) => {
    const text = readFileSync(join(root, page), 'utf8').replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '')
    const broken: string[] = []
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/i.test(target!)) continue
      const [path, anchor] = target!.split('#') as [string, string | undefined]
      const file = path === '' ? join(root, page) : resolve(dirname(join(root, page)), path)
      let exists = true
      try {
        statSync(file)
      } catch {
        exists = false
      }
      if (!exists) broken.push(`${target} (no such file)`)
      else if (anchor !== undefined && file.endsWith('.md') && !anchors(file).has(anchor)) {
        broken.push(`${target} (no heading #${anchor} in ${relative(root, file)})`)
      }
    }
    expect(broken).toEqual([])
  })

  it('README: the first run prints what the README says it prints', async () => {
    const [program, output] = blocks('README.md').filter((b) => b.lang === 'ts' || b.lang === 'text')
    expect(program?.lang).toBe('ts')
    expect(output?.lang).toBe('text')
    const dir = mkdtempSync(join(root, 'node_modules', '.first-run-'))
    try {
      const file = join(dir, 'first-run.mts')
      writeFileSync(file, program!.code.replace(`from 'foreach-parallel'`, `from '${join(root, 'src', 'index.ts')}'`))
      const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', file])
      expect(stdout.trim()).toBe(output!.code.trim())
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 60_000)

  describe('code blocks type-check', () => {
    const dir = mkdtempSync(join(root, 'node_modules', '.snippets-'))
    afterAll(() => rmSync(dir, { recursive: true, force: true }))

    it('every ts and js block of the README and docs/', async () => {
      const checked = pages.flatMap(blocks).filter((b) => ['ts', 'typescript', 'js', 'javascript'].includes(b.lang))
      expect(checked.length).toBeGreaterThan(10)
      const names = new Map<string, Block>()
      for (const block of checked) {
        const name = `${block.page.replace(/[/.]/g, '_')}_${block.line}.mts`
        names.set(name, block)
        // A block is a module of its own; the prelude declares what the prose around it assumes.
        writeFileSync(join(dir, name), `${block.prelude}\n${block.code}\nexport {}\n`)
      }
      const src = relative(dir, join(root, 'src'))
      const config = {
        extends: relative(dir, join(root, 'tsconfig.json')),
        compilerOptions: {
          noEmit: true,
          allowJs: true,
          checkJs: true,
          noUnusedLocals: false,
          rootDir: relative(dir, root),
          paths: {
            'foreach-parallel': [`${src}/index.ts`],
            'foreach-parallel/workers': [`${src}/workers/index.ts`],
            'foreach-parallel/distributed': [`${src}/distributed/index.ts`],
          },
        },
        include: ['*.mts'],
      }
      mkdirSync(dir, { recursive: true })
      writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(config))
      const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
      const output = await promisify(execFile)(process.execPath, [tsc, '-p', dir]).then(
        () => '',
        (error: { stdout?: string }) => error.stdout ?? String(error),
      )
      // Point each diagnostic at the page and line of the block it came from.
      const located = output.replace(/^(\S+\.mts)\((\d+),(\d+)\)/gm, (_, file: string, line: string) => {
        const block = names.get(file.split('/').pop()!)
        if (block === undefined) return file
        const preludeLines = block.prelude === '' ? 1 : block.prelude.split('\n').length
        return `${block.page}:${block.line + Number(line) - preludeLines}`
      })
      expect(located).toBe('')
    }, 120_000)
  })
})
