import { readFileSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const pkg = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8'))

/** Every module the built entry point loads, followed through relative imports. */
function moduleGraph(entry: string): { files: string[]; bare: string[] } {
  const files: string[] = []
  const bare = new Set<string>()
  const queue = [resolve(root, entry)]
  while (queue.length > 0) {
    const file = queue.pop()!
    if (files.includes(file)) continue
    files.push(file)
    const code = readFileSync(file, 'utf8')
    for (const [, specifier] of code.matchAll(/(?:import|export)[^'"]*?from\s*['"]([^'"]+)['"]/g)) {
      if (specifier!.startsWith('.')) queue.push(resolve(dirname(file), specifier!))
      else bare.add(specifier!)
    }
  }
  return { files, bare: [...bare] }
}

describe('package', () => {
  it('is ESM only, side-effect free, for Node >= 20, with types first in every export', () => {
    expect(pkg.name).toBe('foreach-parallel')
    expect(pkg.type).toBe('module')
    expect(pkg.sideEffects).toBe(false)
    expect(pkg.engines.node).toBe('>=20')
    for (const [subpath, target] of Object.entries<Record<string, string> | string>(pkg.exports)) {
      if (subpath === './package.json') continue
      expect(Object.keys(target as Record<string, string>)[0], subpath).toBe('types')
    }
  })

  it('keeps node: modules out of the main entry point, so it runs anywhere modern JS runs', () => {
    const { files, bare } = moduleGraph(pkg.exports['.'].default)
    expect(files.length).toBeGreaterThan(3)
    const builtins = bare.filter((name) => name.startsWith('node:') || builtinModules.includes(name))
    expect(builtins).toEqual([])
  })

  it('exports the names the contract lists', async () => {
    const api = await import(resolve(root, pkg.exports['.'].default))
    const names = [
      ...['parallelMap', 'parallelMapSettled', 'parallel', 'pipe', 'collect', 'drain', 'TimeoutError'],
      ...['throttle', 'timeout', 'slice', 'take', 'drop', 'batch', 'merge'],
      ...['startJob', 'waitAll', 'waitAny', 'Job'],
    ]
    for (const name of names) {
      expect(typeof api[name], name).toBe('function')
    }
  })
})
