/**
 * Checks the package as a user gets it, in scratch projects under the temp directory (removed at
 * the end):
 * 1. `npm pack` (the `prepare` script builds it), then `npm install` of the tarball, with the
 *    TypeScript consumer of scripts/consumer/ type-checked strictly, `skipLibCheck` off, under
 *    `moduleResolution` node16 and bundler, then run; it imports every entry of `exports`.
 * 2. The bin runs from the installed package.
 * 3. Every source map in the package points at files the package ships.
 * 4. `npm install git+file://…` of the committed HEAD (a fresh clone that npm builds with `prepare`)
 *    gives a package that loads.
 *
 * Run: `npm run check-install` (or `node --import tsx scripts/check-install.ts`).
 */
import { execFile } from 'node:child_process'
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as {
  name: string
  version: string
  exports: Record<string, unknown>
  peerDependencies?: Record<string, string>
}

/**
 * Runs a command with `input` on its stdin (closed at once when there is none) and returns its
 * stdout; on failure the error carries its whole output.
 */
async function run(cwd: string, command: string, args: readonly string[], input = ''): Promise<string> {
  const running = promisify(execFile)(command, args, { cwd, maxBuffer: 64 * 1024 * 1024 })
  running.child.stdin!.end(input)
  try {
    return (await running).stdout
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string }
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd}:\n${stdout}${stderr}`)
  }
}

const started = performance.now()

function step(text: string): void {
  console.log(`check-install: ${((performance.now() - started) / 1000).toFixed(1).padStart(5)} s  ${text}`)
}

/** The version of a package installed in this repository, so the scratch project uses the same one. */
async function installedVersion(name: string): Promise<string> {
  const manifest = JSON.parse(await readFile(join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }
  return manifest.version
}

/** `import * as` every subpath of `exports`, as `entries.ts` for the consumer. */
function entriesModule(): string {
  const specifiers = Object.keys(pkg.exports)
    .filter((subpath) => subpath !== './package.json')
    .map((subpath) => (subpath === '.' ? pkg.name : `${pkg.name}/${subpath.slice(2)}`))
  const imports = specifiers.map((specifier, i) => `import * as entry${i} from '${specifier}'`)
  const table = specifiers.map((specifier, i) => `  '${specifier}': entry${i},`)
  return [...imports, '', 'export const entries: Record<string, object> = {', ...table, '}', ''].join('\n')
}

async function* files(dir: string): AsyncGenerator<string> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) yield* files(path)
    else yield path
  }
}

/** Every `sources` entry of every `.map` file resolves to a file inside the installed package. */
async function checkSourceMaps(installed: string): Promise<number> {
  let maps = 0
  const missing: string[] = []
  for await (const file of files(installed)) {
    if (!file.endsWith('.map')) continue
    maps++
    const map = JSON.parse(await readFile(file, 'utf8')) as { sources: string[]; sourceRoot?: string }
    for (const source of map.sources) {
      const target = resolve(dirname(file), map.sourceRoot ?? '', source)
      if (!target.startsWith(installed + '/') || !existsSync(target)) missing.push(`${file} -> ${source}`)
    }
  }
  if (maps === 0) throw new Error('the package ships no source maps')
  if (missing.length > 0) throw new Error(`source maps point at files the package does not ship:\n${missing.join('\n')}`)
  return maps
}

async function checkTarball(scratch: string): Promise<void> {
  step('npm pack')
  const [packed] = JSON.parse(await run(root, 'npm', ['pack', '--json', '--pack-destination', scratch])) as { filename: string }[]
  const tarball = join(scratch, packed!.filename)

  const project = join(scratch, 'consumer')
  await mkdir(join(project, 'src'), { recursive: true })
  await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }))
  const consumer = join(root, 'scripts', 'consumer')
  for (const name of ['tsconfig.node16.json', 'tsconfig.bundler.json']) await cp(join(consumer, name), join(project, name))
  for (const name of ['consumer.ts', 'cube.ts']) await cp(join(consumer, name), join(project, 'src', name))
  await writeFile(join(project, 'src', 'entries.ts'), entriesModule())

  // The optional peers too: a user of every entry installs them.
  const peers = Object.entries(pkg.peerDependencies ?? {}).map(([name, range]) => `${name}@${range}`)
  step(`npm install ${packed!.filename} ${peers.join(' ')}`.trimEnd())
  await run(project, 'npm', [
    'install',
    '--no-audit',
    '--no-fund',
    '--prefer-offline',
    tarball,
    ...peers,
    `typescript@${await installedVersion('typescript')}`,
    `@types/node@${await installedVersion('@types/node')}`,
  ])

  const tsc = join(project, 'node_modules', 'typescript', 'bin', 'tsc')
  step('tsc, moduleResolution bundler, skipLibCheck false')
  await run(project, process.execPath, [tsc, '-p', 'tsconfig.bundler.json'])
  step('tsc, moduleResolution node16, skipLibCheck false')
  await run(project, process.execPath, [tsc, '-p', 'tsconfig.node16.json'])
  step('node out/consumer.js')
  process.stdout.write(await run(project, process.execPath, [join('out', 'consumer.js')]))

  const bin = join(project, 'node_modules', '.bin', pkg.name)
  step(`${pkg.name} --version; printf 'a\\nb\\nc\\n' | ${pkg.name} echo item`)
  const version = (await run(project, bin, ['--version'])).trim()
  if (version !== pkg.version) throw new Error(`the bin says version ${version}, package.json ${pkg.version}`)
  const echoed = await run(project, bin, ['echo', 'item'], 'a\nb\nc\n')
  if (echoed !== 'item a\nitem b\nitem c\n') throw new Error(`the bin printed ${JSON.stringify(echoed)}`)

  const maps = await checkSourceMaps(join(project, 'node_modules', pkg.name))
  step(`${maps} source maps, every source shipped`)
}

async function checkGitInstall(scratch: string): Promise<void> {
  const head = (await run(root, 'git', ['rev-parse', 'HEAD'])).trim()
  const project = join(scratch, 'from-git')
  await mkdir(project)
  await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'from-git', private: true, type: 'module' }))
  step(`npm install git+file://${root}#${head.slice(0, 12)}`)
  await run(project, 'npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', `git+file://${root}#${head}`])
  const loaded = await run(project, process.execPath, [
    '--input-type=module',
    '--eval',
    `const api = await import('${pkg.name}'); console.log(Object.keys(api).length)`,
  ])
  if (!(Number(loaded) > 0)) throw new Error(`the package installed from git exports nothing: ${loaded}`)
  step(`installed from git, ${loaded.trim()} exports`)
}

const scratch = await mkdtemp(join(tmpdir(), 'foreach-parallel-install-'))
try {
  await checkTarball(scratch)
  await checkGitInstall(scratch)
  step('ok')
} catch (error) {
  console.error(`check-install: ${(error as Error).message}`)
  process.exitCode = 1
} finally {
  await rm(scratch, { recursive: true, force: true })
}
