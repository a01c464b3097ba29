import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync } from 'node:fs'
import { constants, tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Command } from './template.js'
import { Watchdog } from './watchdog.js'

/** How long a command may take to exit after SIGTERM before it gets SIGKILL. */
const KILL_GRACE_MS = 2000

/** How often the output files of `live` commands are read (`--line-buffer`). */
const LIVE_POLL_MS = 50

/** Where a command's output goes. */
export interface OutputSink {
  stdout(chunk: Buffer): void
  stderr(chunk: Buffer): void
}

/** How one run of a command ended. */
export interface Outcome {
  /** The exit status as a shell reports it (127: not found); `null` when the run's signal killed it. */
  readonly exitCode: number | null
  /** The signal that killed it, when the run sent one (`--timeout`, a stop). */
  readonly signal: NodeJS.Signals | null
  /** Why it failed (`exit code 3`, `timed out after 2 s`, `stopped by SIGINT`…); `undefined` on success. */
  readonly error: string | undefined
  /** How it failed: a non-zero `exit`, stopped by its `timeout`, or stopped by the run (`stop`). */
  readonly failure: 'exit' | 'timeout' | 'stop' | undefined
  /** `Date.now()` when it was started. */
  readonly startedAt: number
  /** Milliseconds from start to end. */
  readonly runtime: number
  /** Bytes it wrote to standard output. */
  readonly received: number
}

/** Options of {@link Launcher.run}. */
export interface RunOptions {
  /** Aborting any of them stops the command; the outcome's `error` is then the reason's message. */
  readonly signals: readonly AbortSignal[]
  /** Deadline in ms, after which the command is stopped and fails. */
  readonly timeout?: number | undefined
  readonly output: OutputSink
  /** Hand the output over as it comes (every 50 ms), instead of all at once when the command ends. */
  readonly live?: boolean
}

/**
 * The launcher's script. For each request — a line `ID SLOT`, then a line with the command's words,
 * each single-quoted — it starts a subshell that starts the command with standard input from
 * `/dev/null` and its output appended to the slot's two files, reports `S ID PID` (the command's
 * process id), waits for it and reports `E ID STATUS`. A newline inside a word comes as `"$_fp_n"`. The variables start with `_fp_` so as not to change the commands' environment.
 *
 * The commands share the launcher's process group. So that a command signalling its whole group
 * (`kill 0`) does not end the launcher or lose the other commands' statuses, the launcher ignores
 * SIGTERM, SIGINT and SIGHUP and the subshells catch them, waiting on; the commands get the default
 * actions back (a caught signal is reset by exec), except SIGINT and SIGQUIT, which a shell always
 * ignores in a command it starts in the background.
 */
const SCRIPT = `_fp_d=$1
_fp_n='
'
trap '' TERM INT HUP
while IFS= read -r _fp_h && IFS= read -r _fp_c; do
  _fp_i=\${_fp_h% *}; _fp_f=$_fp_d/\${_fp_h#* }
  : >"$_fp_f.1"; : >"$_fp_f.2"
  {
    trap : TERM INT HUP
    eval "exec $_fp_c" </dev/null >>"$_fp_f.1" 2>>"$_fp_f.2" &
    _fp_p=$!
    echo "S $_fp_i $_fp_p"
    while :; do wait $_fp_p; _fp_s=$?; kill -0 $_fp_p 2>/dev/null || break; done
    echo "E $_fp_i $_fp_s"
  } &
done
wait
`

/** A command sent to the launcher and not reported ended yet. */
interface Pending {
  readonly slot: number
  readonly output: OutputSink
  readonly live: Live | undefined
  readonly startedAt: number
  readonly startTime: number
  /** The command's process id, once the launcher has said. */
  pid: number | undefined
  /** Signals to send once the pid is known. */
  queued: NodeJS.Signals[]
  stopReason: string | undefined
  failure: 'timeout' | 'stop' | undefined
  ended: (status: number, received: number) => void
}

/** A `live` command's output files, open, and how much of them was handed on. */
interface Live {
  readonly fds: [number, number]
  readonly read: [number, number]
}

/**
 * Runs commands without forking this process for each: a small `/bin/sh` process (the launcher),
 * fed one request per command, forks them. Forking Node costs milliseconds per command and is
 * serialized (the parent waits for the child to exec); forking a shell costs far less, which is
 * how the command keeps up with `xargs -P`.
 *
 * Each command's output goes to a file per job slot, in a private temporary directory, read when it
 * ends (or as it grows, `live`). Stopping a command sends SIGTERM to it and everything it started,
 * then SIGKILL two seconds later. The launcher and its commands form one process group, which a
 * {@link Watchdog} kills if this process dies first, even by SIGKILL.
 */
export class Launcher {
  readonly #dir: string
  readonly #process: ChildProcess
  readonly #watchdog: Watchdog
  readonly #pending = new Map<number, Pending>()
  #nextId = 1
  #buffered = ''
  #poller: NodeJS.Timeout | undefined
  #exited: Promise<void>
  #gone: string | undefined

  constructor() {
    this.#dir = mkdtempSync(join(tmpdir(), 'foreach-parallel-'))
    // The launcher's own stderr goes nowhere: it would hold ours open (a pipe's reader would wait
    // on it), and its subshells' notices (`Terminated`) are noise.
    this.#process = spawn('/bin/sh', ['-c', SCRIPT, 'foreach-parallel', this.#dir], {
      stdio: ['pipe', 'pipe', 'ignore'],
      detached: true,
    })
    this.#watchdog = new Watchdog(this.#dir)
    this.#watchdog.watch(this.#process.pid!)
    this.#process.stdin!.on('error', () => {})
    this.#process.stdout!.setEncoding('utf8').on('data', (text: string) => this.#read(text))
    this.#exited = new Promise((resolve) => {
      this.#process.once('close', () => {
        // Without its launcher, no command can end: they all fail now rather than hang.
        this.#gone ??= 'the command launcher died'
        for (const [id, pending] of this.#pending) {
          this.#pending.delete(id)
          pending.ended(-1, 0)
        }
        resolve()
      })
    })
  }

  /**
   * Runs one command in job slot `slot` (no two running commands share one). Never rejects: a
   * command that cannot start fails with the shell's status (127: not found, 126: not executable).
   */
  run(command: Command, slot: number, options: RunOptions): Promise<Outcome> {
    const { signals, timeout, output } = options
    const words = [command.file, ...command.args]
    const startedAt = Date.now()
    const startTime = performance.now()
    if (this.#gone !== undefined || words.some((word) => word.includes('\0'))) {
      const error = this.#gone ?? 'an argument holds a NUL byte'
      return Promise.resolve({ exitCode: 127, signal: null, error, failure: 'exit', startedAt, runtime: 0, received: 0 })
    }
    const id = this.#nextId++
    return new Promise((resolve) => {
      let deadline: NodeJS.Timeout | undefined
      let grace: NodeJS.Timeout | undefined
      const onAbort = function (this: AbortSignal): void {
        stop(reasonText(this.reason), 'stop')
      }
      const pending: Pending = {
        slot,
        output,
        live: options.live ? { fds: [-1, -1], read: [0, 0] } : undefined,
        startedAt,
        startTime,
        pid: undefined,
        queued: [],
        stopReason: undefined,
        failure: undefined,
        ended: (status, received) => {
          clearTimeout(deadline)
          clearTimeout(grace)
          for (const signal of signals) signal.removeEventListener('abort', onAbort)
          resolve(this.#outcome(pending, status, received))
        },
      }
      const stop = (reason: string, failure: 'timeout' | 'stop'): void => {
        if (pending.stopReason !== undefined) return
        pending.stopReason = reason
        pending.failure = failure
        this.#signal(pending, 'SIGTERM')
        grace = setTimeout(() => this.#signal(pending, 'SIGKILL'), KILL_GRACE_MS)
      }
      this.#pending.set(id, pending)
      this.#process.stdin!.write(`${id} ${slot}\n${words.map(launcherQuote).join(' ')}\n`)
      for (const signal of signals) {
        if (signal.aborted) onAbort.call(signal)
        else signal.addEventListener('abort', onAbort, { once: true })
      }
      if (timeout !== undefined) deadline = setTimeout(() => stop(`timed out after ${timeout / 1000} s`, 'timeout'), timeout)
    })
  }

  /** Lets the launcher and the watchdog exit (every command has ended) and removes the output files. */
  async close(): Promise<void> {
    clearInterval(this.#poller)
    this.#gone ??= 'the run is over'
    this.#process.stdin!.end()
    await this.#exited
    this.#watchdog.unwatch(this.#process.pid!)
    this.#watchdog.close()
    rmSync(this.#dir, { recursive: true, force: true })
  }

  #read(text: string): void {
    const lines = (this.#buffered + text).split('\n')
    this.#buffered = lines.pop()!
    for (const line of lines) {
      const [kind, id, value] = line.split(' ')
      const pending = this.#pending.get(Number(id))
      if (pending === undefined) continue
      if (kind === 'S') this.#started(pending, Number(value))
      else {
        this.#pending.delete(Number(id))
        this.#ended(pending, Number(value))
      }
    }
  }

  #started(pending: Pending, pid: number): void {
    pending.pid = pid
    for (const signal of pending.queued.splice(0)) this.#signal(pending, signal)
    if (pending.live === undefined) return
    const file = join(this.#dir, String(pending.slot))
    pending.live.fds[0] = openSync(`${file}.1`, 'r')
    pending.live.fds[1] = openSync(`${file}.2`, 'r')
    this.#poller ??= setInterval(() => this.#poll(), LIVE_POLL_MS)
  }

  #ended(pending: Pending, status: number): void {
    const file = join(this.#dir, String(pending.slot))
    let received: number
    if (pending.live === undefined) {
      const stdout = readFileSync(`${file}.1`)
      const stderr = readFileSync(`${file}.2`)
      if (stdout.length > 0) pending.output.stdout(stdout)
      if (stderr.length > 0) pending.output.stderr(stderr)
      received = stdout.length
    } else {
      readNew(pending)
      closeSync(pending.live.fds[0])
      closeSync(pending.live.fds[1])
      received = pending.live.read[0]
    }
    if (this.#poller !== undefined && ![...this.#pending.values()].some((other) => other.live !== undefined)) {
      clearInterval(this.#poller)
      this.#poller = undefined
    }
    pending.ended(status, received)
  }

  #poll(): void {
    for (const pending of this.#pending.values()) {
      if (pending.live !== undefined && pending.live.fds[0] !== -1) readNew(pending)
    }
  }

  #outcome(pending: Pending, status: number, received: number): Outcome {
    const base = { startedAt: pending.startedAt, runtime: performance.now() - pending.startTime, received }
    if (status === -1) return { ...base, exitCode: null, signal: null, error: this.#gone, failure: 'stop' }
    // A command that exits 0 has succeeded, even if a stop or its deadline came while it was ending.
    if (status === 0) return { ...base, exitCode: 0, signal: null, error: undefined, failure: undefined }
    const { failure, stopReason } = pending
    // The shell reports a command killed by signal N as 128 + N: the run's own signals are told apart.
    const signal = failure !== undefined && status > 128 ? signalName(status - 128) : null
    return {
      ...base,
      exitCode: signal === null ? status : null,
      signal,
      error: stopReason ?? `exit code ${status}`,
      failure: failure ?? 'exit',
    }
  }

  /** Sends `signal` to the command and every process it started. */
  #signal(pending: Pending, signal: NodeJS.Signals): void {
    if (pending.pid === undefined) {
      pending.queued.push(signal)
      return
    }
    for (const pid of processTree(pending.pid)) {
      try {
        process.kill(pid, signal)
      } catch {
        // It has exited already.
      }
    }
  }
}

/** Hands on what a live command's files gained since the last read. */
function readNew(pending: Pending): void {
  const live = pending.live!
  for (const index of [0, 1] as const) {
    for (;;) {
      const chunk = Buffer.allocUnsafe(64 * 1024)
      const bytes = readSync(live.fds[index], chunk, 0, chunk.length, live.read[index])
      if (bytes === 0) break
      live.read[index] += bytes
      const data = chunk.subarray(0, bytes)
      if (index === 0) pending.output.stdout(data)
      else pending.output.stderr(data)
    }
  }
}

/** Quotes a word for the launcher's `eval`: single quotes, with newlines outside them (a line is a request). */
function launcherQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`).replaceAll('\n', `'"$_fp_n"'`)}'`
}

/** `root` and every process below it, from /proc on Linux, from `ps` elsewhere. */
function processTree(root: number): number[] {
  const children = new Map<number, number[]>()
  for (const [pid, parent] of processTable()) {
    const siblings = children.get(parent)
    if (siblings === undefined) children.set(parent, [pid])
    else siblings.push(pid)
  }
  const found = [root]
  for (let queue = [root]; queue.length > 0; ) {
    const next = children.get(queue.pop()!) ?? []
    found.push(...next)
    queue.push(...next)
  }
  return found
}

function processTable(): [number, number][] {
  if (process.platform !== 'linux') {
    return execFileSync('ps', ['-A', '-o', 'pid=,ppid='], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .map((line) => line.trim().split(/\s+/).map(Number) as [number, number])
  }
  const table: [number, number][] = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'latin1')
      // The command name, in parentheses, may hold spaces and parentheses: the fields follow the last ')'.
      table.push([Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])])
    } catch {
      // It exited while we looked.
    }
  }
  return table
}

function reasonText(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason)
}

function signalName(number: number): NodeJS.Signals | null {
  const entry = Object.entries(constants.signals).find(([, value]) => value === number)
  return entry === undefined ? null : (entry[0] as NodeJS.Signals)
}

/** A signal's number, as the joblog writes it; 0 for none. */
export function signalNumber(signal: NodeJS.Signals | null): number {
  return signal === null ? 0 : constants.signals[signal]
}
