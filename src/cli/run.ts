import type { Readable } from 'node:stream'
import { deferred, type Deferred } from '../internal/deferred.js'
import { parallelMapSettled } from '../parallel-map.js'
import type { Settled, TaskContext } from '../types.js'
import type { CliOptions } from './args.js'
import { Launcher, signalNumber, type Outcome } from './command.js'
import { describeHalt, haltStatus, haltsNow } from './halt.js'
import { openInputs, type Inputs } from './inputs.js'
import { openJoblog, readJoblog, type JoblogWriter } from './joblog.js'
import { JobOutput, Printer } from './output.js'
import { createProgressBar, NO_PROGRESS_BAR, type ProgressBar } from './progress-bar.js'
import { openResults, type ResultsWriter } from './results.js'
import { Slots, StartGate } from './starts.js'
import { exitStatus, type Ending, type StopSignal } from './status.js'
import { expand, type JobInput } from './template.js'

/** Why a run was stopped from outside: a signal, as the reason of `RunIO.signal`. */
export class Stopped extends Error {
  override readonly name = 'Stopped'

  constructor(readonly signalName: StopSignal) {
    super(`stopped by ${signalName}`)
  }
}

/** Why the run stopped itself: `--total-timeout`, `--halt`, or output that could not be written. */
class Cut extends Error {
  override readonly name = 'Cut'

  constructor(
    message: string,
    readonly ending: Ending,
  ) {
    super(message)
  }
}

/** The process's streams and the signal that stops the run. */
export interface RunIO {
  readonly stdin: Readable
  readonly stdout: NodeJS.WriteStream
  readonly stderr: NodeJS.WriteStream
  /** Aborted (with a {@link Stopped} reason) on SIGINT, SIGTERM or SIGHUP. */
  readonly signal: AbortSignal
}

/** A job's command failed: how, for the record the scheduler keeps. */
class CommandFailed extends Error {
  override readonly name = 'CommandFailed'

  constructor(readonly attempt: Attempt) {
    super(attempt.outcome.error)
  }
}

/** The run stopped before the job's command started (it was waiting for its `--delay`). */
class NotStarted extends Error {
  override readonly name = 'NotStarted'
}

/** One attempt of a job: the command line run and how it ended. */
interface Attempt {
  readonly command: string
  readonly outcome: Outcome
}

/** A job on its way through the run: its input, its output, and its record once it has ended. */
interface Job extends JobInput {
  output: JobOutput<Job>
  settled: Settled<Job, Attempt> | undefined
}

/** Files opened before anything runs. */
interface Files {
  readonly inputs: Inputs
  readonly skip: ReadonlySet<number>
  readonly results: ResultsWriter | undefined
  readonly joblog: JoblogWriter | undefined
}

/**
 * Runs the command for every job and returns the exit status (see `exitStatus`). Every file is
 * opened, and every input but the first read, before anything runs: a file that cannot be read
 * exits 255 with nothing run.
 */
export async function run(options: CliOptions, io: RunIO): Promise<number> {
  const stop = new AbortController()
  const onStop = (): void => stop.abort(io.signal.reason)
  if (io.signal.aborted) onStop()
  else io.signal.addEventListener('abort', onStop, { once: true })
  let files: Files | undefined
  try {
    files = await openFiles(options, io, stop.signal)
    return await new Run(options, io, files, stop).run()
  } catch (error) {
    io.stderr.write(`foreach-parallel: ${(error as Error).message}\n`)
    return 255
  } finally {
    io.signal.removeEventListener('abort', onStop)
    files?.results?.close()
    files?.joblog?.close()
    // A read of standard input may still be pending after a stop: end it so that the process exits.
    io.stdin.destroy()
  }
}

async function openFiles(options: CliOptions, io: RunIO, signal: AbortSignal): Promise<Files> {
  const { joblog, resume, results, dryRun } = options
  let logged: ReturnType<typeof readJoblog> | undefined
  if (resume !== undefined) logged = attempt(`cannot read --joblog ${joblog!.path}`, () => readJoblog(joblog!.path, resume))
  const inputs = await openInputs(options.inputs, {
    separator: options.separator,
    stdin: io.stdin,
    count: options.progress && !dryRun,
    readAll: options.halt?.percent !== undefined,
    signal,
  })
  if (dryRun) return { inputs, skip: logged?.skip ?? new Set(), results: undefined, joblog: undefined }
  const resultsWriter = results && attempt(`cannot write --results ${results.path}`, () => openResults(results.path, results.format))
  const append = joblog !== undefined && (joblog.append || logged?.hasHeader === true)
  const joblogWriter = joblog && attempt(`cannot write --joblog ${joblog.path}`, () => openJoblog(joblog.path, append))
  return { inputs, skip: logged?.skip ?? new Set(), results: resultsWriter, joblog: joblogWriter }
}

function attempt<T>(what: string, open: () => T): T {
  try {
    return open()
  } catch (error) {
    throw new Error(`${what}: ${(error as Error).message}`, { cause: error })
  }
}

/** A run: pulls jobs, runs them through the scheduler, prints, logs and counts them. */
class Run {
  readonly #options: CliOptions
  readonly #io: RunIO
  readonly #files: Files
  /** Aborts to stop the running commands (a signal, `--total-timeout`, `--halt now`, an output error). */
  readonly #stop: AbortController
  /** Aborts to start no more jobs: whenever `#stop` does, and on `--halt soon`. */
  readonly #pull = new AbortController()
  readonly #printer: Printer<Job>
  readonly #slots = new Slots()
  readonly #gate: StartGate
  readonly #startTime = performance.now()
  #bar: ProgressBar = NO_PROGRESS_BAR
  #launcher: Launcher | undefined
  #started = 0
  #succeeded = 0
  #failed = 0
  #stopped = 0
  #haltStatus: number | undefined
  /**
   * With `--halt`: attempts that ended and whose fate (retried, or a record) the run has not seen
   * yet. No job starts while there are any, so that a job that reaches the halt condition is
   * counted before another starts, as in GNU parallel.
   */
  #unseen = 0
  #seen: Deferred<void> | undefined

  constructor(options: CliOptions, io: RunIO, files: Files, stop: AbortController) {
    this.#options = options
    this.#io = io
    this.#files = files
    this.#stop = stop
    this.#gate = new StartGate(options.delay)
    this.#printer = new Printer<Job>({
      ordered: options.ordered,
      lineBuffer: options.lineBuffer,
      window: 2 * options.jobs,
      streams: {
        write: (stream, chunk) => this.#bar.write(this.#io[stream], chunk),
        drain: () => drain(this.#io.stdout),
      },
      onPrinted: (job) => this.#printed(job),
    })
  }

  async run(): Promise<number> {
    const stop = this.#stop.signal
    const onStop = (): void => this.#pull.abort(stop.reason)
    if (stop.aborted) onStop()
    else stop.addEventListener('abort', onStop, { once: true })
    const onOutputError = (error: NodeJS.ErrnoException): void => {
      this.#cut(new Cut(`cannot write output: ${error.message}`, { kind: 'output-error', code: error.code }))
    }
    this.#io.stdout.on('error', onOutputError)
    this.#io.stderr.on('error', onOutputError)
    const { totalTimeout } = this.#options
    const deadline =
      totalTimeout === undefined
        ? undefined
        : setTimeout(() => this.#cut(new Cut(`--total-timeout of ${totalTimeout / 1000} s reached`, { kind: 'total-timeout' })), totalTimeout)
    try {
      if (this.#options.dryRun) await this.#dryRun()
      else await this.#execute()
      await outputSettled()
      return this.#finish()
    } finally {
      clearTimeout(deadline)
      stop.removeEventListener('abort', onStop)
      await outputSettled()
      this.#io.stdout.off('error', onOutputError)
      this.#io.stderr.off('error', onOutputError)
    }
  }

  /** Stops the run from inside; the first reason, from inside or outside, is the one that counts. */
  #cut(reason: Cut): void {
    if (!this.#stop.signal.aborted) this.#stop.abort(reason)
  }

  /** `--dry-run`: the commands, one per line, as lazily as a run reads its jobs; nothing runs. */
  async #dryRun(): Promise<void> {
    for await (const job of this.#jobs()) {
      await this.#printer.finish(job.output, undefined)
      const text = `${expand(this.#options.template, job, 1).text}\n`
      if (!this.#io.stdout.write(text)) await drain(this.#io.stdout)
    }
  }

  async #execute(): Promise<void> {
    const { jobs, tries, progress } = this.#options
    if (progress) this.#bar = createProgressBar({ stream: this.#io.stderr })
    const total = this.#files.inputs.total
    const skipped = total === undefined ? 0 : [...this.#files.skip].filter((seq) => seq <= total).length
    const launcher = (this.#launcher = new Launcher())
    const records = parallelMapSettled<Job, Attempt>(this.#task, {
      concurrency: jobs,
      // Records come as each job ends, the moment GNU parallel logs it and checks --halt; the
      // printer puts the outputs back in input order, within a window as bounded as the scheduler's.
      ordered: false,
      retry: tries > 1 ? { retries: tries - 1, shouldRetry: () => this.#retrying() } : undefined,
      onProgress: this.#bar === NO_PROGRESS_BAR ? undefined : (snapshot) => this.#bar.update(snapshot),
      total: this.#bar === NO_PROGRESS_BAR || total === undefined ? undefined : total - skipped,
    })(this.#jobs())
    try {
      for await (const record of records) await this.#ended(record)
    } finally {
      this.#bar.stop()
      await launcher.close()
    }
  }

  /** The jobs to run, in input order, numbered from 1 (skipped ones included, as `--resume` needs). */
  async *#jobs(): AsyncGenerator<Job, void, undefined> {
    const pull = this.#pull.signal
    const { skip } = this.#files
    let seq = 0
    try {
      for await (const args of this.#files.inputs.combinations) {
        seq++
        if (pull.aborted) return
        if (skip.has(seq)) continue
        await this.#printer.room(pull)
        while (this.#unseen > 0) await (this.#seen ??= deferred()).promise
        if (pull.aborted) return
        const job = { seq, args, settled: undefined } as Job
        job.output = this.#printer.open(job, this.#options.tag ? `${args.join(' ')}\t` : undefined)
        yield job
      }
    } catch (error) {
      // A stop ends a pending read of standard input by destroying it.
      if (pull.aborted) return
      throw new Error(`cannot read the items: ${(error as Error).message}`, { cause: error })
    }
  }

  readonly #task = async (job: Job, context: TaskContext): Promise<Attempt> => {
    if (context.attempt > 1) job.output.retry()
    if (!(await this.#gate.wait(this.#stop.signal))) {
      this.#attemptEnded()
      throw new NotStarted()
    }
    if (context.attempt === 1) this.#started++
    const slot = this.#slots.take()
    const command = expand(this.#options.template, job, slot)
    let outcome: Outcome
    try {
      outcome = await this.#launcher!.run(command, slot, {
        signals: [context.signal, this.#stop.signal],
        timeout: this.#options.timeout,
        output: job.output,
        live: this.#options.lineBuffer,
      })
    } finally {
      this.#slots.give(slot)
    }
    this.#attemptEnded()
    const result = { command: command.text, outcome }
    // Thrown so that the scheduler retries the job and counts it as failed.
    if (outcome.error !== undefined) throw new CommandFailed(result)
    return result
  }

  #attemptEnded(): void {
    if (this.#options.halt !== undefined) this.#unseen++
  }

  #attemptSeen(): void {
    if (this.#options.halt === undefined || --this.#unseen > 0) return
    this.#seen?.resolve()
    this.#seen = undefined
  }

  /** The scheduler asks whether to try a failed job again: not once the run stops taking jobs. */
  #retrying(): boolean {
    if (this.#pull.signal.aborted) return false
    this.#attemptSeen()
    return true
  }

  /** A job has ended (its last attempt): count, log, check `--halt`, then print. */
  async #ended(record: Settled<Job, Attempt>): Promise<void> {
    const job = record.item
    job.settled = record
    this.#attemptSeen()
    const result = attemptOf(record)
    if (result === undefined) return this.#printer.finish(job.output, undefined)
    const { outcome } = result
    if (outcome.failure === 'stop') this.#stopped++
    else {
      if (outcome.failure === undefined) this.#succeeded++
      else this.#failed++
      this.#files.joblog?.write({
        seq: job.seq,
        startedAt: outcome.startedAt,
        runtime: outcome.runtime,
        received: outcome.received,
        exitval: outcome.failure === 'timeout' ? -1 : (outcome.exitCode ?? 0),
        signal: signalNumber(outcome.signal),
        command: result.command,
      })
      this.#checkHalt(outcome)
    }
    // A plain non-zero exit speaks for itself through the command's own stderr.
    const quiet = outcome.failure !== 'timeout'
    await this.#printer.finish(job.output, quiet ? undefined : `foreach-parallel: ${JSON.stringify(job.args.join(' '))}: ${outcome.error}\n`)
  }

  #checkHalt(outcome: Outcome): void {
    const { halt } = this.#options
    if (halt === undefined || this.#haltStatus !== undefined) return
    const tally = { succeeded: this.#succeeded, failed: this.#failed }
    const failed = outcome.failure !== undefined
    const total = this.#files.inputs.total
    if (!haltsNow(halt, tally, failed, total)) return
    const status = outcome.exitCode || (outcome.signal !== null ? 128 + signalNumber(outcome.signal) : 0)
    this.#haltStatus = haltStatus(halt, tally, status, total)
    const what = `--halt ${describeHalt(halt)} reached (${tally.succeeded} succeeded, ${tally.failed} failed)`
    if (halt.when === 'now') {
      this.#io.stderr.write(`foreach-parallel: ${what}: stopping the running commands\n`)
      this.#cut(new Cut(`stopped by --halt ${describeHalt(halt)}`, { kind: 'finished' }))
    } else {
      this.#io.stderr.write(`foreach-parallel: ${what}: starting no more commands\n`)
      this.#pull.abort(new Cut(`--halt ${describeHalt(halt)}`, { kind: 'finished' }))
    }
  }

  /** A job's output is out: its record goes to the results file. */
  #printed(job: Job): void {
    const record = job.settled
    if (record === undefined || this.#files.results === undefined) return
    const result = attemptOf(record)
    if (result === undefined) return
    const { outcome } = result
    this.#files.results.write({
      item: job.args.join(' '),
      index: job.seq - 1,
      command: result.command,
      status: outcome.failure === undefined ? 'succeeded' : 'failed',
      exitCode: outcome.exitCode,
      signal: outcome.signal,
      attempts: record.attempts,
      startedAt: new Date(record.startedAt).toISOString(),
      duration: Math.round(record.duration),
      error: outcome.error ?? null,
    })
  }

  /** After a stop by a signal or `--total-timeout`, a summary on stderr; the exit status. */
  #finish(): number {
    const reason: unknown = this.#stop.signal.reason
    let ending: Ending = { kind: 'finished' }
    if (reason instanceof Stopped) ending = { kind: 'signal', signal: reason.signalName }
    // A dry run that reached its --total-timeout ran nothing that could fail.
    else if (reason instanceof Cut && !(this.#options.dryRun && reason.ending.kind === 'total-timeout')) ending = reason.ending
    if (ending.kind === 'output-error' && ending.code !== 'EPIPE') this.#io.stderr.write(`foreach-parallel: ${(reason as Error).message}\n`)
    if (ending.kind === 'signal' || ending.kind === 'total-timeout') {
      const seconds = ((performance.now() - this.#startTime) / 1000).toFixed(1)
      const why = ending.kind === 'signal' ? `${(reason as Error).message} after ${seconds} s` : (reason as Error).message
      this.#io.stderr.write(
        `foreach-parallel: ${why}: ${this.#succeeded} succeeded, ${this.#failed} failed, ${this.#stopped} stopped while running\n`,
      )
    }
    return exitStatus({
      ending,
      failed: this.#failed,
      stopped: this.#stopped,
      started: this.#started,
      halt: this.#options.halt,
      haltStatus: this.#haltStatus,
    })
  }
}

/**
 * The last attempt of a job that ran; `undefined` for one the run stopped before it started. Any
 * other error is a bug, thrown on.
 */
function attemptOf(record: Settled<Job, Attempt>): Attempt | undefined {
  if (record.status === 'fulfilled') return record.value
  if (record.reason instanceof CommandFailed) return record.reason.attempt
  if (record.reason instanceof NotStarted) return undefined
  throw record.reason
}

/** Lets the error of the latest write to stdout or stderr, emitted on a later tick, reach its listener. */
function outputSettled(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

/** Resolves when `stream` can take more writes, or can take none ever again (it failed or closed). */
function drain(stream: NodeJS.WriteStream): Promise<void> {
  if (stream.destroyed || !stream.writableNeedDrain) return Promise.resolve()
  return new Promise((resolve) => {
    const done = (): void => {
      stream.off('drain', done)
      stream.off('close', done)
      stream.off('error', done)
      resolve()
    }
    stream.on('drain', done)
    stream.on('close', done)
    stream.on('error', done)
  })
}
