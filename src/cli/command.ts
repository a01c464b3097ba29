import { spawn, type ChildProcess } from 'node:child_process'
import { constants } from 'node:os'
import type { Command } from './template.js'
import type { Watchdog } from './watchdog.js'

/** How long a command may take to exit after SIGTERM before it gets SIGKILL. */
const KILL_GRACE_MS = 2000

/** Where a running command's output goes, chunk by chunk. */
export interface OutputSink {
  stdout(chunk: Buffer): void
  stderr(chunk: Buffer): void
}

/** How one run of a command ended. */
export interface Outcome {
  /** The exit code; for a command that could not start, the shell's: 127 (not found) or 126. */
  readonly exitCode: number | null
  /** The signal that killed it, if any. */
  readonly signal: NodeJS.Signals | null
  /** Why it failed (`exit code 3`, `timed out after 2 s`, `command not found: x`…); `undefined` on success. */
  readonly error: string | undefined
  /**
   * How it failed: a non-zero `exit`, killed by a `signal`, stopped by its `timeout`, stopped by
   * the run (`stop`: a signal aborted before it exited), or it could not `spawn`.
   */
  readonly failure: 'exit' | 'signal' | 'timeout' | 'stop' | 'spawn' | undefined
  /** `Date.now()` when it started. */
  readonly startedAt: number
  /** Milliseconds from start to end. */
  readonly runtime: number
  /** Bytes it wrote to standard output. */
  readonly received: number
}

/** Options of {@link runCommand}. */
export interface RunCommandOptions {
  /** Aborting any of them stops the command; the outcome's `error` is then the reason's message. */
  readonly signals: readonly AbortSignal[]
  /** Deadline in ms, after which the command is stopped and fails. */
  readonly timeout?: number | undefined
  readonly output: OutputSink
  /** Kills the command's process group if this process dies first. */
  readonly watchdog?: Watchdog | undefined
}

/** The status a shell reports for a command that could not start. */
const SPAWN_STATUS: Record<string, number> = { ENOENT: 127, EACCES: 126 }

/**
 * Runs a command with standard input from `/dev/null`, handing its output to `options.output`.
 * The command gets a process group of its own, so that stopping it (SIGTERM to the group, then
 * SIGKILL after two seconds) also stops whatever it started, a shell pipeline included. A command
 * that exits 0 has succeeded, even if a stop or its deadline came while it was ending. Never
 * rejects: a command that cannot start fails with the spawn error.
 */
export function runCommand(command: Command, options: RunCommandOptions): Promise<Outcome> {
  const { signals, timeout, output, watchdog } = options
  const startedAt = Date.now()
  const startTime = performance.now()
  return new Promise((resolve) => {
    let child: ChildProcess
    let received = 0
    let stopReason: string | undefined
    let stoppedByRun = false
    let timedOut = false
    let graceTimer: NodeJS.Timeout | undefined
    let deadline: NodeJS.Timeout | undefined
    let finished = false

    const finish = (exitCode: number | null, exitSignal: NodeJS.Signals | null, spawnError?: NodeJS.ErrnoException): void => {
      if (finished) return
      finished = true
      clearTimeout(graceTimer)
      clearTimeout(deadline)
      for (const signal of signals) signal.removeEventListener('abort', onAbort)
      if (child?.pid !== undefined) watchdog?.unwatch(child.pid)
      let error: string | undefined
      let failure: Outcome['failure']
      if (spawnError !== undefined) {
        error = spawnError.code === 'ENOENT' ? `command not found: ${command.file}` : spawnError.message
        failure = 'spawn'
        exitCode = SPAWN_STATUS[spawnError.code ?? ''] ?? 127
      } else if (exitCode !== 0) {
        failure = stoppedByRun ? 'stop' : timedOut ? 'timeout' : exitSignal !== null ? 'signal' : 'exit'
        error = stopReason ?? (exitSignal !== null ? `killed by ${exitSignal}` : `exit code ${exitCode}`)
      }
      resolve({
        exitCode,
        signal: exitSignal,
        error,
        failure,
        startedAt,
        runtime: performance.now() - startTime,
        received,
      })
    }
    const stop = (reason: string): boolean => {
      if (stopReason !== undefined) return false
      stopReason = reason
      signalGroup(child, 'SIGTERM')
      graceTimer = setTimeout(() => signalGroup(child, 'SIGKILL'), KILL_GRACE_MS)
      return true
    }
    function onAbort(this: AbortSignal): void {
      if (stop(reasonText(this.reason))) stoppedByRun = true
    }

    try {
      child = spawn(command.file, command.args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    } catch (error) {
      // Invalid arguments (a NUL byte in the item) throw here instead of emitting 'error'.
      finish(null, null, error as NodeJS.ErrnoException)
      return
    }
    child.stdout!.on('data', (chunk: Buffer) => {
      received += chunk.length
      output.stdout(chunk)
    })
    child.stderr!.on('data', (chunk: Buffer) => output.stderr(chunk))
    child.once('error', (error: NodeJS.ErrnoException) => {
      if (child.pid === undefined) finish(null, null, error)
    })
    child.once('close', (code, exitSignal) => finish(code, exitSignal))
    if (child.pid === undefined) return
    watchdog?.watch(child.pid)
    for (const signal of signals) {
      if (signal.aborted) onAbort.call(signal)
      else signal.addEventListener('abort', onAbort, { once: true })
    }
    if (timeout !== undefined) {
      deadline = setTimeout(() => {
        if (stop(`timed out after ${timeout / 1000} s`)) timedOut = true
      }, timeout)
    }
  })
}

function signalGroup(child: ChildProcess, name: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, name)
  } catch {
    // The group is gone already: everything in it has exited.
  }
}

function reasonText(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason)
}

/** A signal's number, as the joblog writes it; 0 for none. */
export function signalNumber(signal: NodeJS.Signals | null): number {
  return signal === null ? 0 : constants.signals[signal]
}
