import { createReadStream, fstatSync, openSync } from 'node:fs'
import { once } from 'node:events'
import { constants } from 'node:os'
import { addAbortSignal, type Readable } from 'node:stream'
import { TimeoutError } from '../errors.js'
import { parallelMapSettled } from '../scheduler/parallel-map.js'
import { ProgressCounter } from '../progress.js'
import type { TaskContext } from '../types.js'
import type { CliOptions } from './args.js'
import { buildCommand, runCommand, type Outcome } from './command.js'
import { countLines, lines } from './lines.js'
import { createProgressBar, NO_PROGRESS_BAR, type ProgressBar } from './progress-bar.js'
import { openResults, type ResultsWriter } from './results.js'

/** Why a run was stopped from outside: a signal (Ctrl+C is SIGINT), as the reason of `RunIO.signal`. */
export class Stopped extends Error {
  override readonly name = 'Stopped'

  constructor(readonly signalName: 'SIGINT' | 'SIGTERM') {
    super(`stopped by ${signalName}`)
  }
}

/** Our standard output or error could not be written: the run stops, so that no output is lost silently. */
class OutputError extends Error {
  override readonly name = 'OutputError'
  /** The system's error code: `EPIPE` when the reader went away (`| head`), `ENOSPC`… */
  readonly code: string | undefined

  constructor(error: NodeJS.ErrnoException) {
    super(`cannot write output: ${error.message}`, { cause: error })
    this.code = error.code
  }
}

/** The process's streams and the signal that stops the run. */
export interface RunIO {
  readonly stdin: Readable
  readonly stdout: NodeJS.WriteStream
  readonly stderr: NodeJS.WriteStream
  /** Aborted (with a {@link Stopped} reason) on SIGINT or SIGTERM. */
  readonly signal: AbortSignal
}

/** Exit status when stdout or stderr was closed early, as for a process killed by SIGPIPE. */
const BROKEN_PIPE_STATUS = 128 + constants.signals.SIGPIPE

/**
 * Runs the command for every item and returns the exit status: 0 when all succeeded, the number
 * of failed items up to 100, 101 above, 128 + the signal's number when stopped by a signal, 141
 * when stdout or stderr was closed by its reader, 255 when a file cannot be opened or the output
 * cannot be written.
 */
export async function run(options: CliOptions, io: RunIO): Promise<number> {
  let input: Readable
  let countable = false
  let results: ResultsWriter | undefined
  try {
    if (options.argFile === undefined) input = io.stdin
    else ({ input, countable } = openArgFile(options.argFile))
    if (options.results !== undefined && !options.dryRun) {
      results = openResultsFile(options.results)
    }
  } catch (error) {
    io.stderr.write(`foreach-parallel: ${(error as Error).message}\n`)
    return 255
  }

  const stop = new AbortController()
  const onStop = (): void => stop.abort(io.signal.reason)
  if (io.signal.aborted) onStop()
  else io.signal.addEventListener('abort', onStop, { once: true })
  let outputError: OutputError | undefined
  const onOutputError = (error: NodeJS.ErrnoException): void => {
    outputError ??= new OutputError(error)
    stop.abort(outputError)
  }
  io.stdout.on('error', onOutputError)
  io.stderr.on('error', onOutputError)
  const deadline =
    options.timeout === undefined
      ? undefined
      : setTimeout(() => stop.abort(new TimeoutError(`--timeout of ${options.timeout! / 1000} s reached`)), options.timeout)
  try {
    let status: number
    if (options.dryRun) {
      status = await dryRun(options, input, io, stop.signal)
    } else {
      const bar = options.progress ? createProgressBar({ stream: io.stderr }) : NO_PROGRESS_BAR
      // With a regular file and a bar to show, the items are counted first for the percentage and
      // the ETA; a pipe (`-a <(…)`) can be read only once, so it goes without a total.
      const total = bar !== NO_PROGRESS_BAR && countable ? await countLines(options.argFile!) : undefined
      status = await new Run(options, io, stop.signal, results, bar, new ProgressCounter(total)).run(input)
    }
    await outputSettled()
    const reason: unknown = stop.signal.reason
    if (reason instanceof Stopped) return 128 + constants.signals[reason.signalName]
    if (outputError?.code === 'EPIPE') return BROKEN_PIPE_STATUS
    if (outputError !== undefined) {
      io.stderr.write(`foreach-parallel: ${outputError.message}\n`)
      return 255
    }
    return status
  } catch (error) {
    io.stderr.write(`foreach-parallel: ${(error as Error).message}\n`)
    return 255
  } finally {
    clearTimeout(deadline)
    io.signal.removeEventListener('abort', onStop)
    await outputSettled()
    io.stdout.off('error', onOutputError)
    io.stderr.off('error', onOutputError)
    results?.close()
    // A read of standard input may still be pending after a stop: end it so that the process exits.
    input.destroy()
  }
}

/** The `--arg-file`, and whether it is a regular file, whose lines can be counted before they are read. */
function openArgFile(path: string): { input: Readable; countable: boolean } {
  let fd: number
  try {
    fd = openSync(path, 'r')
  } catch (error) {
    throw new Error(`cannot read --arg-file: ${(error as Error).message}`)
  }
  const stats = fstatSync(fd)
  if (stats.isDirectory()) throw new Error(`cannot read --arg-file: ${path} is a directory`)
  return { input: createReadStream('', { fd }), countable: stats.isFile() }
}

function openResultsFile({ path, format }: NonNullable<CliOptions['results']>): ResultsWriter {
  try {
    return openResults(path, format)
  } catch (error) {
    throw new Error(`cannot write --results: ${(error as Error).message}`)
  }
}

/** The input's lines; a read error says what failed. */
async function* items(input: Readable): AsyncGenerator<string, void, undefined> {
  try {
    yield* lines(input)
  } catch (error) {
    throw new Error(`cannot read the items: ${(error as Error).message}`, { cause: error })
  }
}

/** `--dry-run`: the commands, one per line, as lazily as a run reads its items; nothing runs. */
async function dryRun(options: CliOptions, input: Readable, io: RunIO, signal: AbortSignal): Promise<number> {
  // A stop must end a pending read too: standard input may stay open (a terminal, `--timeout`).
  addAbortSignal(signal, input)
  try {
    for await (const item of items(input)) await write(io.stdout, `${buildCommand(options.command, item, options.shell).text}\n`)
  } catch (error) {
    if (!signal.aborted) throw error
  }
  return 0
}

/** One item from its first attempt until it is reported. */
interface Entry {
  readonly item: string
  readonly index: number
  readonly startedAt: number
  readonly startTime: number
  attempts: number
  /** The latest attempt's outcome. */
  outcome: Outcome | undefined
  /** No attempt will follow: the last one succeeded, retries are used up, or the run stopped. */
  final: boolean
}

/** A run that executes commands: bookkeeping, printing, the results file and the exit status. */
class Run {
  readonly #options: CliOptions
  readonly #io: RunIO
  readonly #signal: AbortSignal
  readonly #results: ResultsWriter | undefined
  readonly #bar: ProgressBar
  readonly #counter: ProgressCounter
  /** Items started and not reported yet: the scheduler's read-ahead bounds their number. */
  readonly #entries = new Map<number, Entry>()
  readonly #startTime = performance.now()
  #succeeded = 0
  #failed = 0
  #stopped = 0

  constructor(
    options: CliOptions,
    io: RunIO,
    signal: AbortSignal,
    results: ResultsWriter | undefined,
    bar: ProgressBar,
    counter: ProgressCounter,
  ) {
    this.#options = options
    this.#io = io
    this.#signal = signal
    this.#results = results
    this.#bar = bar
    this.#counter = counter
  }

  async run(input: Readable): Promise<number> {
    const options = this.#options
    // The per-item deadline is kept by runCommand, not by parallelMap's `timeout`: that one frees the
    // slot at the deadline, while a command being stopped must hold it until it has exited, so that
    // -j counts the processes alive.
    const iterator = parallelMapSettled(this.#task, {
      concurrency: options.throttleLimit,
      ordered: options.ordered,
      signal: this.#signal,
      retry: options.retries > 0 ? { retries: options.retries } : undefined,
    })(items(input))
    try {
      for (;;) {
        const result = await iterator.next()
        if (result.done) break
        await this.#report(this.#entries.get(result.value.index)!)
      }
    } catch (error) {
      if (!this.#signal.aborted) throw error
    } finally {
      // Resolves once every command has exited: the ones the stop killed included.
      await iterator.return?.()
      // What finished or was stopped but was not handed out before the stop, in input order.
      for (const entry of [...this.#entries.values()].sort((a, b) => a.index - b.index)) await this.#report(entry)
      this.#bar.stop()
    }
    this.#summarize()
    const failed = this.#failed + this.#stopped
    return failed > 100 ? 101 : failed
  }

  readonly #task = async (item: string, context: TaskContext): Promise<void> => {
    let entry = this.#entries.get(context.index)
    if (entry === undefined) {
      entry = {
        item,
        index: context.index,
        startedAt: Date.now(),
        startTime: performance.now(),
        attempts: 0,
        outcome: undefined,
        final: false,
      }
      this.#entries.set(context.index, entry)
      this.#counter.started++
      this.#counter.running++
      this.#bar.update(this.#counter.snapshot())
    }
    entry.attempts = context.attempt
    const command = buildCommand(this.#options.command, item, this.#options.shell)
    const outcome = await runCommand(command, { signal: context.signal, timeout: this.#options.itemTimeout })
    entry.outcome = outcome
    if (outcome.error === undefined || outcome.stopped || context.attempt > this.#options.retries) {
      entry.final = true
      this.#counter.running--
      if (outcome.error === undefined) this.#counter.succeeded++
      else this.#counter.failed++
      this.#bar.update(this.#counter.snapshot())
    }
    // Thrown so that the scheduler retries the item and counts it as failed.
    if (outcome.error !== undefined) throw new Error(outcome.error)
  }

  /** Prints an item's output whole, then records its outcome. */
  async #report(entry: Entry): Promise<void> {
    this.#entries.delete(entry.index)
    const outcome = entry.outcome!
    const succeeded = entry.final && outcome.error === undefined
    if (succeeded) this.#succeeded++
    else if (outcome.stopped) this.#stopped++
    else this.#failed++
    // A plain non-zero exit speaks for itself through the command's own stderr.
    const note =
      outcome.error !== undefined && !outcome.stopped && outcome.exitCode === null
        ? `foreach-parallel: ${JSON.stringify(entry.item)}: ${outcome.error}\n`
        : ''
    await this.#print(outcome.stdout, note === '' ? outcome.stderr : Buffer.concat([outcome.stderr, Buffer.from(note)]))
    this.#results?.write({
      item: entry.item,
      index: entry.index,
      status: succeeded ? 'succeeded' : 'failed',
      exitCode: outcome.exitCode,
      signal: outcome.signal,
      attempts: entry.attempts,
      startedAt: new Date(entry.startedAt).toISOString(),
      duration: Math.round(outcome.endedAt - entry.startTime),
      error: outcome.error ?? null,
    })
  }

  async #print(stdout: Buffer, stderr: Buffer): Promise<void> {
    const { stdout: out, stderr: err } = this.#io
    // Written even after a write error (`| head`): stderr may still work, and the stream's error
    // listener has already stopped the run.
    const drained = stdout.length === 0 || this.#bar.write(out, stdout)
    if (stderr.length > 0) this.#bar.write(err, stderr)
    if (!drained) await drain(out)
  }

  /** After a stop by a signal or `--timeout`, what finished and what was cut short, on stderr. */
  #summarize(): void {
    const reason: unknown = this.#signal.reason
    if (!(reason instanceof Stopped || reason instanceof TimeoutError)) return
    const seconds = ((performance.now() - this.#startTime) / 1000).toFixed(1)
    const why = reason instanceof Stopped ? `${reason.message} after ${seconds} s` : reason.message
    this.#io.stderr.write(
      `foreach-parallel: ${why}: ${this.#succeeded} succeeded, ` +
        `${this.#failed} failed, ${this.#stopped} stopped while running\n`,
    )
  }
}

/** Lets the error of the latest write to stdout or stderr, emitted on a later tick, reach its listener. */
function outputSettled(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

/** Writes and waits for the stream to drain if its buffer is full: the backpressure of slow readers. */
async function write(stream: NodeJS.WriteStream, text: string): Promise<void> {
  if (!stream.write(text)) await drain(stream)
}

async function drain(stream: NodeJS.WriteStream): Promise<void> {
  try {
    await once(stream, 'drain')
  } catch {
    // A write error (EPIPE) ends the wait; the stream's error listener stops the run.
  }
}
