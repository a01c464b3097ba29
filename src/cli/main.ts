#!/usr/bin/env node
import { readFileSync } from 'node:fs'
import { HELP, parseCommandLine, type CommandLine } from './args.js'
import { run, Stopped } from './run.js'
import type { StopSignal } from './status.js'
import { UsageError } from './usage-error.js'

const STOP_SIGNALS: readonly StopSignal[] = ['SIGINT', 'SIGTERM', 'SIGHUP']

/**
 * The `foreach-parallel` command: parses the arguments, turns SIGINT, SIGTERM and SIGHUP into a
 * stop of the run, and sets the exit status. See `foreach-parallel --help`.
 */
async function main(argv: readonly string[]): Promise<number> {
  // A write error outside a run (a message to a full disk) must not crash the process: the exit
  // status tells. During a run, the run's own listeners stop it.
  process.stdout.on('error', () => {})
  process.stderr.on('error', () => {})
  let commandLine: CommandLine
  try {
    commandLine = parseCommandLine(argv)
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    process.stderr.write(`foreach-parallel: ${error.message}\n`)
    return 255
  }
  if (commandLine.kind === 'help') {
    process.stdout.write(HELP)
    return 0
  }
  if (commandLine.kind === 'version') {
    const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
    process.stdout.write(`${manifest.version}\n`)
    return 0
  }
  const stop = new AbortController()
  // A second signal while stopping changes nothing: the children get SIGKILL after their grace period.
  const handlers = STOP_SIGNALS.map((signal) => [signal, () => stop.abort(new Stopped(signal))] as const)
  for (const [signal, handler] of handlers) process.on(signal, handler)
  try {
    return await run(commandLine.options, {
      stdin: process.stdin,
      stdout: process.stdout,
      stderr: process.stderr,
      signal: stop.signal,
    })
  } finally {
    for (const [signal, handler] of handlers) process.off(signal, handler)
  }
}

main(process.argv.slice(2)).then(
  (status) => {
    process.exitCode = status
  },
  (error: unknown) => {
    process.stderr.write(`foreach-parallel: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
    process.exitCode = 255
  },
)
