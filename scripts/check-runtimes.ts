/**
 * Runs the conformance subset of test/runtimes/conformance.ts against the built main entry
 * (dist/index.js, so run `npm run build` first) outside Node:
 * - Deno and Bun, from their npm packages (which ship the binaries), at the versions below, through
 *   `npm exec`; each loads dist/ and its dependencies from node_modules as a user's program would.
 * - Headless Chromium (Debian's `chromium`, at /usr/bin/chromium or `$CHROMIUM`), driven by
 *   playwright-core, on a page that runs an esbuild bundle of the same program.
 * The generated files go to a temporary folder, removed at the end. Exit status 1 if any case
 * fails anywhere.
 *
 * Run: `npm run check-runtimes` (or `node --import tsx scripts/check-runtimes.ts [deno|bun|chromium]…`).
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { build } from 'esbuild'
import { chromium } from 'playwright-core'
import type { ConformanceResult } from '../test/runtimes/conformance.js'

const DENO = 'deno@2.9.6'
const BUN = 'bun@1.4.5'
const CHROMIUM = process.env['CHROMIUM'] ?? '/usr/bin/chromium'
/** What this machine needs: no sandbox as root, no GPU, and no attempts to reach the network. */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
]
/** Most time one runtime may take, start-up included. */
const RUNTIME_LIMIT_MS = 120_000

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const entry = join(root, 'dist', 'index.js')

interface Outcome {
  readonly runtime: string
  readonly results: readonly ConformanceResult[]
}

/** Runs `command` and returns its stdout; on failure the error carries its output. */
async function run(command: string, args: readonly string[]): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)(command, args, { cwd: root, timeout: RUNTIME_LIMIT_MS })
    return stdout
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string }
    throw new Error(`${command} ${args.join(' ')} failed:\n${stdout}${stderr}`)
  }
}

/** The program every runtime runs: the conformance cases (bundled) against the built entry (not bundled). */
async function writeProgram(dir: string): Promise<string> {
  await build({
    entryPoints: [join(root, 'test', 'runtimes', 'conformance.ts')],
    outfile: join(dir, 'conformance.js'),
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    logLevel: 'warning',
  })
  const program = join(dir, 'program.js')
  await writeFile(
    program,
    [
      `import * as api from ${JSON.stringify(entry)}`,
      `import { runConformance } from './conformance.js'`,
      `globalThis.conformance = runConformance(api)`,
      `if (typeof document === 'undefined') console.log(JSON.stringify(await globalThis.conformance))`,
      '',
    ].join('\n'),
  )
  return program
}

/** The last line of stdout is the JSON of the results. */
function parseResults(stdout: string): ConformanceResult[] {
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as ConformanceResult[]
}

async function onDeno(program: string): Promise<Outcome> {
  const version = (await run('npm', ['exec', '--yes', `--package=${DENO}`, '--', 'deno', '--version'])).split('\n')[0]!
  // No permission flags: the main entry needs no file, network or environment access. The
  // dependencies come from node_modules, as for a Deno project that installs them with npm.
  const deno = ['exec', '--yes', `--package=${DENO}`, '--', 'deno', 'run', '--no-prompt', '--node-modules-dir=manual', program]
  const stdout = await run('npm', deno)
  return { runtime: version, results: parseResults(stdout) }
}

async function onBun(program: string): Promise<Outcome> {
  const version = (await run('npm', ['exec', '--yes', `--package=${BUN}`, '--', 'bun', '--version'])).trim()
  const stdout = await run('npm', ['exec', '--yes', `--package=${BUN}`, '--', 'bun', 'run', program])
  return { runtime: `bun ${version}`, results: parseResults(stdout) }
}

async function onChromium(program: string, dir: string): Promise<Outcome> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM)`)
  const bundle = join(dir, 'browser.js')
  await build({ entryPoints: [program], outfile: bundle, bundle: true, format: 'esm', platform: 'browser', target: 'es2022', logLevel: 'warning' })
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: RUNTIME_LIMIT_MS })
  try {
    const page = await browser.newPage()
    const pageErrors: string[] = []
    page.on('pageerror', (error) => pageErrors.push(error.message))
    await page.addScriptTag({ content: await readFile(bundle, 'utf8'), type: 'module' })
    await page.waitForFunction(() => 'conformance' in globalThis, undefined, { timeout: RUNTIME_LIMIT_MS })
    const results = await page.evaluate(() => (globalThis as unknown as { conformance: Promise<ConformanceResult[]> }).conformance)
    if (pageErrors.length > 0) throw new Error(`errors on the page:\n${pageErrors.join('\n')}`)
    return { runtime: `Chromium ${browser.version()}`, results }
  } finally {
    await browser.close()
  }
}

const runtimes = {
  deno: (program: string) => onDeno(program),
  bun: (program: string) => onBun(program),
  chromium: (program: string, dir: string) => onChromium(program, dir),
}

const wanted = process.argv.length > 2 ? process.argv.slice(2) : Object.keys(runtimes)
const unknown = wanted.filter((name) => !(name in runtimes))
if (unknown.length > 0) {
  console.error(`check-runtimes: unknown runtime ${unknown.join(', ')}; known: ${Object.keys(runtimes).join(', ')}`)
  process.exit(2)
}
if (!existsSync(entry)) {
  console.error(`check-runtimes: ${entry} is missing; run npm run build first`)
  process.exit(1)
}

const dir = await mkdtemp(join(tmpdir(), 'foreach-parallel-runtimes-'))
let failed = false
try {
  const program = await writeProgram(dir)
  for (const name of wanted) {
    const started = performance.now()
    try {
      const { runtime, results } = await runtimes[name as keyof typeof runtimes](program, dir)
      const failures = results.filter((result) => !result.passed)
      const seconds = ((performance.now() - started) / 1000).toFixed(1)
      console.log(`check-runtimes: ${runtime}: ${results.length - failures.length} of ${results.length} conformance checks passed (${seconds} s)`)
      for (const failure of failures) console.log(`  failed: ${failure.name}\n    ${failure.error}`)
      if (failures.length > 0) failed = true
    } catch (error) {
      console.log(`check-runtimes: ${name}: ${(error as Error).message}`)
      failed = true
    }
  }
} finally {
  await rm(dir, { recursive: true, force: true })
}
process.exitCode = failed ? 1 : 0
