import { spawn, type ChildProcess } from 'node:child_process'

/** How long a command may take to exit after SIGTERM before it gets SIGKILL. */
const KILL_GRACE_MS = 2000

/** One command to run: what to spawn, and how it reads in a shell (for `--dry-run`). */
export interface Command {
  readonly file: string
  readonly args: readonly string[]
  readonly text: string
}

/**
 * Builds the command for one item: every `{}` in the template is replaced by the item, or the item
 * is appended as the last argument when no `{}` appears. With `shell`, the words are joined by
 * spaces into a script for `/bin/sh -c`, and the item is quoted before it is put in.
 */
export function buildCommand(template: readonly string[], item: string, shell: boolean): Command {
  const hasPlaceholder = template.some((word) => word.includes('{}'))
  if (shell) {
    const script = template.join(' ')
    const text = hasPlaceholder ? replace(script, quote(item)) : `${script} ${quote(item)}`
    return { file: '/bin/sh', args: ['-c', text], text }
  }
  const argv = hasPlaceholder ? template.map((word) => replace(word, item)) : [...template, item]
  return { file: argv[0]!, args: argv.slice(1), text: argv.map(quote).join(' ') }
}

function replace(word: string, item: string): string {
  return word.split('{}').join(item)
}

/** Quotes a word for a POSIX shell; a word that needs no quotes is returned as is. */
function quote(word: string): string {
  if (/^[\w@%+=:,./-]+$/.test(word)) return word
  return `'${word.replaceAll("'", `'\\''`)}'`
}

/** How one run of a command ended. */
export interface Outcome {
  /** The exit code, or `null` when it was killed by a signal or never started. */
  readonly exitCode: number | null
  /** The signal that killed it, if any. */
  readonly signal: NodeJS.Signals | null
  readonly stdout: Buffer
  readonly stderr: Buffer
  /** Why it failed (`exit code 3`, `timed out after 2 s`, `spawn x ENOENT`…); `undefined` on success. */
  readonly error: string | undefined
  /** `true` when it was stopped because the run was stopped (`signal` aborted). */
  readonly stopped: boolean
  /** `performance.now()` when it ended. */
  readonly endedAt: number
}

/** Options of {@link runCommand}. */
export interface RunCommandOptions {
  /** Aborting it stops the command; the outcome's `error` is then the reason's message. */
  readonly signal: AbortSignal
  /** Deadline in ms, after which the command is stopped and fails. */
  readonly timeout?: number | undefined
}

/**
 * Runs a command with standard input from `/dev/null`, collecting its whole output. The command
 * gets a process group of its own, so that stopping it (SIGTERM to the group, then SIGKILL after
 * two seconds) also stops whatever it started, a shell pipeline included. Never rejects:
 * a command that cannot start fails with the spawn error.
 */
export function runCommand(command: Command, options: RunCommandOptions): Promise<Outcome> {
  const { signal, timeout } = options
  return new Promise((resolve) => {
    const stdout: Buffer[] = []
    const stderr: Buffer[] = []
    let child: ChildProcess
    let stopReason: string | undefined
    let stoppedByRun = false
    let graceTimer: NodeJS.Timeout | undefined
    let deadline: NodeJS.Timeout | undefined
    let finished = false

    const finish = (exitCode: number | null, exitSignal: NodeJS.Signals | null, spawnError?: Error): void => {
      if (finished) return
      finished = true
      clearTimeout(graceTimer)
      clearTimeout(deadline)
      signal.removeEventListener('abort', onAbort)
      let error = stopReason ?? spawnError?.message
      if (error === undefined && exitSignal !== null) error = `killed by ${exitSignal}`
      if (error === undefined && exitCode !== 0) error = `exit code ${exitCode}`
      resolve({
        exitCode,
        signal: exitSignal,
        stdout: Buffer.concat(stdout),
        stderr: Buffer.concat(stderr),
        error,
        stopped: stoppedByRun,
        endedAt: performance.now(),
      })
    }
    const stop = (reason: string): void => {
      if (stopReason !== undefined) return
      stopReason = reason
      signalGroup(child, 'SIGTERM')
      graceTimer = setTimeout(() => signalGroup(child, 'SIGKILL'), KILL_GRACE_MS)
    }
    const onAbort = (): void => {
      stoppedByRun = true
      stop(reasonText(signal.reason))
    }

    try {
      child = spawn(command.file, command.args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    } catch (error) {
      // Invalid arguments (a NUL byte in the item) throw here instead of emitting 'error'.
      finish(null, null, error as Error)
      return
    }
    child.stdout!.on('data', (chunk: Buffer) => stdout.push(chunk))
    child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk))
    child.once('error', (error: NodeJS.ErrnoException) => {
      if (child.pid !== undefined) return
      finish(null, null, error.code === 'ENOENT' ? new Error(`command not found: ${command.file}`) : error)
    })
    child.once('close', (code, exitSignal) => finish(code, exitSignal))
    if (child.pid === undefined) return
    if (signal.aborted) onAbort()
    else signal.addEventListener('abort', onAbort, { once: true })
    if (timeout !== undefined) {
      deadline = setTimeout(() => stop(`timed out after ${timeout / 1000} s`), timeout)
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
