import { deferred, type Deferred } from '../internal/deferred.js'
import { Deque } from '../internal/deque.js'
import type { OutputSink } from './command.js'

/** Where the printer writes: our standard output and error. */
export interface PrinterStreams {
  /** Writes a chunk (through the progress bar); `false` when the stream's buffer is full. */
  write(stream: 'stdout' | 'stderr', chunk: Buffer): boolean
  /** Resolves when standard output can take more, or has failed. */
  drain(): Promise<void>
}

/** Options of {@link Printer}. */
export interface PrinterOptions<T> {
  /** `-k`: outputs in the order the jobs were opened; otherwise as each job ends. */
  readonly ordered: boolean
  /** `--line-buffer`: whole lines as they come instead of each job's output at its end. */
  readonly lineBuffer: boolean
  /** Most jobs opened and not printed, with `ordered`: {@link Printer.room} waits below it. */
  readonly window: number
  readonly streams: PrinterStreams
  /** Called once a job's output is out, in print order. */
  readonly onPrinted: (job: T) => void
}

const NEWLINE = 0x0a

/**
 * Prints the jobs' outputs, never mixing two jobs' output within a line. Grouped (the default),
 * each job's standard output then its standard error are printed whole once it ends; with
 * `lineBuffer`, whole lines are printed as they come — in order, from the oldest job still running
 * while the later ones wait, or from every job at once without `ordered`. A retried job shows only
 * its last attempt's output, unless `lineBuffer` printed the earlier ones already.
 */
export class Printer<T> {
  readonly #options: PrinterOptions<T>
  /** With `ordered`: the jobs opened and not printed yet, oldest first. */
  readonly #queue = new Deque<JobOutput<T>>()
  #room: Deferred<void> | undefined

  constructor(options: PrinterOptions<T>) {
    this.#options = options
  }

  /** Registers a job about to run, in input order; `tag` starts each of its output lines. */
  open(job: T, tag: string | undefined): JobOutput<T> {
    const { ordered, lineBuffer } = this.#options
    const output = new JobOutput(job, tag === undefined ? undefined : Buffer.from(tag), lineBuffer, this.#options.streams)
    if (ordered) this.#queue.push(output)
    if (lineBuffer && (!ordered || this.#queue.length === 1)) output.goLive()
    return output
  }

  /**
   * With `ordered`, resolves once fewer than `window` jobs are opened and not printed (or `signal`
   * aborts): the bound that keeps a slow first job from letting the outputs after it pile up.
   */
  room(signal: AbortSignal): Promise<void> {
    if (!this.#options.ordered || this.#queue.length < this.#options.window || signal.aborted) return Promise.resolve()
    const room = (this.#room = deferred())
    const onAbort = (): void => room.resolve()
    signal.addEventListener('abort', onAbort, { once: true })
    return room.promise.finally(() => signal.removeEventListener('abort', onAbort))
  }

  /** The job has ended: prints what can be printed now, `note` after its standard error. */
  async finish(output: JobOutput<T>, note: string | undefined): Promise<void> {
    output.end(note)
    if (!this.#options.ordered) return this.#print(output)
    for (let head = this.#queue.peek(); head?.ended; head = this.#queue.peek()) {
      this.#queue.shift()
      if (this.#room !== undefined && this.#queue.length < this.#options.window) {
        this.#room.resolve()
        this.#room = undefined
      }
      await this.#print(head)
      if (this.#options.lineBuffer) this.#queue.peek()?.goLive()
    }
  }

  async #print(output: JobOutput<T>): Promise<void> {
    if (!output.printRest()) await this.#options.streams.drain()
    this.#options.onPrinted(output.job)
  }
}

/** One job's output on its way to the printer: the sink its command writes to. */
export class JobOutput<T> implements OutputSink {
  readonly job: T
  readonly #tag: Buffer | undefined
  readonly #lineBuffer: boolean
  readonly #streams: PrinterStreams
  /** Output not printed yet, per stream. */
  #stdout: Buffer[] = []
  #stderr: Buffer[] = []
  #live = false
  #ended = false

  constructor(job: T, tag: Buffer | undefined, lineBuffer: boolean, streams: PrinterStreams) {
    this.job = job
    this.#tag = tag
    this.#lineBuffer = lineBuffer
    this.#streams = streams
  }

  get ended(): boolean {
    return this.#ended
  }

  stdout(chunk: Buffer): void {
    this.#take('stdout', this.#stdout, chunk)
  }

  stderr(chunk: Buffer): void {
    this.#take('stderr', this.#stderr, chunk)
  }

  /** A new attempt starts: the last one's output, not printed, is dropped. */
  retry(): void {
    if (this.#lineBuffer) return
    this.#stdout = []
    this.#stderr = []
  }

  /** From now on whole lines are printed as they come (`--line-buffer`); those waiting go first. */
  goLive(): void {
    if (this.#live || this.#ended) return
    this.#live = true
    this.#printLines('stdout', this.#stdout)
    this.#printLines('stderr', this.#stderr)
  }

  /** The job has ended; `note` goes after its standard error. */
  end(note: string | undefined): void {
    this.#ended = true
    if (note !== undefined) this.#stderr.push(Buffer.from(note))
  }

  /** Prints everything not printed yet, standard output first; `false` when stdout's buffer is full. */
  printRest(): boolean {
    const drained = this.#write('stdout', this.#stdout.splice(0))
    this.#write('stderr', this.#stderr.splice(0))
    return drained
  }

  #take(stream: 'stdout' | 'stderr', pending: Buffer[], chunk: Buffer): void {
    pending.push(chunk)
    if (this.#live && chunk.includes(NEWLINE)) this.#printLines(stream, pending)
  }

  /** Prints the whole lines of `pending`, and keeps the part after its last newline. */
  #printLines(stream: 'stdout' | 'stderr', pending: Buffer[]): void {
    if (pending.length === 0) return
    const text = pending.length === 1 ? pending[0]! : Buffer.concat(pending)
    const end = text.lastIndexOf(NEWLINE) + 1
    if (end === 0) return
    pending.length = 0
    if (end < text.length) pending.push(text.subarray(end))
    this.#write(stream, [text.subarray(0, end)])
  }

  #write(stream: 'stdout' | 'stderr', chunks: Buffer[]): boolean {
    if (chunks.length === 0) return true
    const text = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)
    if (text.length === 0) return true
    return this.#streams.write(stream, this.#tag === undefined ? text : tagLines(text, this.#tag))
  }
}

/** `tag` before every line of `text`, the last one too if it has no newline. */
function tagLines(text: Buffer, tag: Buffer): Buffer {
  const parts: Buffer[] = []
  let start = 0
  while (start < text.length) {
    const newline = text.indexOf(NEWLINE, start)
    const end = newline === -1 ? text.length : newline + 1
    parts.push(tag, text.subarray(start, end))
    start = end
  }
  return Buffer.concat(parts)
}
