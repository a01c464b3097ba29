import { createReadStream, fstatSync, openSync } from 'node:fs'
import { addAbortSignal, type Readable } from 'node:stream'
import type { InputSource } from './args.js'
import { collect } from '../sinks.js'
import { countLines, lines } from './lines.js'

/** The jobs' input values, ready to be read. */
export interface Inputs {
  /**
   * One array per job, a value per input source, in GNU parallel's order: the first source is the
   * outer loop. The first source is read as the jobs are taken; the others were read whole.
   */
  readonly combinations: AsyncIterable<readonly string[]>
  /** How many jobs there are, when that is known before they are read. */
  readonly total: number | undefined
}

/** Options of {@link openInputs}. */
export interface OpenInputsOptions {
  readonly separator: string
  readonly stdin: Readable
  /** Count the first source's records first when it is a regular file (for a progress total). */
  readonly count: boolean
  /** Read the first source whole before the run (`--halt` percentages need the number of jobs). */
  readonly readAll: boolean
  /** Ends a pending read of the first source when it aborts. */
  readonly signal: AbortSignal
}

/**
 * Opens every input source (standard input when there is none), so that a file that cannot be read
 * is reported before anything runs, and reads all but the first whole.
 *
 * @throws Error `cannot read -a FILE: …` for a file that cannot be opened or read.
 */
export async function openInputs(sources: readonly InputSource[], options: OpenInputsOptions): Promise<Inputs> {
  const opened = (sources.length === 0 ? [{ kind: 'file', path: '-', option: '-a' } as const] : sources).map((source) =>
    openSource(source, options),
  )
  const rest: (readonly string[])[] = []
  for (const source of opened.slice(1)) rest.push(await readWhole(source, options.separator))
  const first = opened[0]!
  const firstValues = Array.isArray(first.values) || !options.readAll ? first.values : await readWhole(first, options.separator)
  let total: number | undefined
  if (Array.isArray(firstValues)) total = firstValues.length
  else if (options.count && first.regularFile) total = await countLines(first.path, options.separator)
  if (total !== undefined) total = rest.reduce((product, values) => product * values.length, total)
  if (!Array.isArray(firstValues)) addAbortSignal(options.signal, firstValues as Readable)
  return { combinations: combine(firstValues, rest, options.separator), total }
}

interface Opened {
  readonly path: string
  readonly option: string
  /** The values of a `:::` group, or the stream of a file. */
  readonly values: readonly string[] | Readable
  readonly regularFile: boolean
}

function openSource(source: InputSource, { stdin }: OpenInputsOptions): Opened {
  if (source.kind === 'values') return { path: '', option: ':::', values: source.values, regularFile: false }
  const { path, option } = source
  if (path === '-') return { path, option, values: stdin, regularFile: false }
  let fd: number
  try {
    fd = openSync(path, 'r')
  } catch (error) {
    throw new Error(`cannot read ${option} ${path}: ${(error as Error).message}`)
  }
  const stats = fstatSync(fd)
  if (stats.isDirectory()) throw new Error(`cannot read ${option} ${path}: it is a directory`)
  return { path, option, values: createReadStream('', { fd }), regularFile: stats.isFile() }
}

async function readWhole(source: Opened, separator: string): Promise<readonly string[]> {
  if (Array.isArray(source.values)) return source.values as readonly string[]
  try {
    return await collect(lines(source.values as Readable, separator))
  } catch (error) {
    throw new Error(`cannot read ${source.option} ${source.path}: ${(error as Error).message}`)
  }
}

async function* combine(
  first: readonly string[] | Readable,
  rest: readonly (readonly string[])[],
  separator: string,
): AsyncGenerator<readonly string[], void, undefined> {
  const values = Array.isArray(first) ? first : lines(first as Readable, separator)
  for await (const value of values) {
    if (rest.length === 0) yield [value]
    else yield* product([value], rest)
  }
}

function* product(prefix: readonly string[], rest: readonly (readonly string[])[]): Generator<readonly string[]> {
  const [next, ...later] = rest
  for (const value of next!) {
    const args = [...prefix, value]
    if (later.length === 0) yield args
    else yield* product(args, later)
  }
}
