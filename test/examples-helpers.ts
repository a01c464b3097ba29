import { execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import { readdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { expect } from 'vitest'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')

/** How an example run as a child process ended. */
export interface Outcome {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs an example as `npm run demo` does: a child process, so that it must also exit by itself. */
export async function run(example: string, ...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return runIn(tmpdir(), example, args)
}

/** {@link run} with `tmp` as the example's TMPDIR. */
function runIn(tmp: string, example: string, args: readonly string[]): Promise<{ stdout: string; stderr: string }> {
  return promisify(execFile)(process.execPath, ['--import', 'tsx', `examples/${example}.ts`, ...args], {
    cwd: root,
    timeout: 30_000,
    env: { ...process.env, TMPDIR: tmp },
  })
}

/**
 * {@link runIn}, whatever the exit status. Give `tmp` only to look at what the example leaves there:
 * in a new one tsx compiles everything again.
 */
export async function outcome(tmp: string, example: string, ...args: string[]): Promise<Outcome> {
  try {
    return { code: 0, ...(await runIn(tmp, example, args)) }
  } catch (error) {
    const { code, stdout, stderr } = error as Outcome
    return { code, stdout, stderr }
  }
}

/**
 * Starts an example with `tmp` as its TMPDIR, calls `whenStarted` once its stdout contains `text`,
 * then sends it SIGINT (Ctrl+C) and resolves with how it ended.
 */
export async function interrupt(
  tmp: string,
  text: string,
  example: string,
  args: readonly string[] = [],
  whenStarted: () => Promise<void> = async () => {},
): Promise<Outcome> {
  const child = spawn(process.execPath, ['--import', 'tsx', `examples/${example}.ts`, ...args], {
    cwd: root,
    env: { ...process.env, TMPDIR: tmp },
  })
  const exited = once(child, 'exit')
  let stdout = ''
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  child.stdout.setEncoding('utf8')
  await new Promise<void>((resolve) =>
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk
      if (stdout.includes(text)) resolve()
    }),
  )
  await whenStarted()
  child.kill('SIGINT')
  const [code] = (await exited) as [number | null]
  return { code, stdout, stderr }
}

/** What an example left in its temp directory; tsx keeps its own cache there, which is not the example's. */
export async function leftIn(tmp: string): Promise<string[]> {
  return (await readdir(tmp)).filter((name) => !name.startsWith('tsx-'))
}

/** `--help`: the usage on stdout, starting with `usage`; exit 0; nothing on stderr. */
export function expectHelp(result: Outcome, usage: string): void {
  expect(result).toMatchObject({ code: 0, stderr: '' })
  expect(result.stdout.startsWith(`${usage}\n`)).toBe(true)
}

/** A usage error: the problem, then the usage, on stderr; exit 2; no stack trace. */
export function expectUsageError(result: Outcome, example: string, problem: RegExp): void {
  expect(result).toMatchObject({ code: 2, stdout: '' })
  const [first, usage] = result.stderr.split('\n')
  expect(first).toMatch(problem)
  expect(usage).toMatch(new RegExp(`^Usage: node --import tsx examples/${example}\\.ts`))
  expect(result.stderr).not.toMatch(/^\s+at /m)
}
