import { extname } from 'node:path'
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { checkDuration, checkInteger, MAX_DELAY } from '../errors.js'

/** Formats of the `--results` file, chosen by its extension. */
export type ResultsFormat = 'json' | 'ndjson' | 'csv'

/** The command line of `foreach-parallel`, validated, with every default filled in. */
export interface CliOptions {
  /** The command and its arguments, `{}` not yet replaced. Never empty. */
  readonly command: readonly string[]
  /** `-j/--throttle-limit`: most commands running at once. Default `5`. */
  readonly throttleLimit: number
  /** `--keep-order` (default, `true`) or `--as-completed` (`false`). */
  readonly ordered: boolean
  /** `--timeout`, converted to ms: the whole run's deadline. */
  readonly timeout: number | undefined
  /** `--item-timeout`, converted to ms: the deadline of each attempt of a command. */
  readonly itemTimeout: number | undefined
  /** `--retries`: how many more times a failed command is run. Default `0`. */
  readonly retries: number
  /** `--progress`: a bar on stderr when it is a terminal. */
  readonly progress: boolean
  /** `--results FILE` and the format its extension names. */
  readonly results: { readonly path: string; readonly format: ResultsFormat } | undefined
  /** `-a/--arg-file FILE`: items come from this file instead of standard input. */
  readonly argFile: string | undefined
  /** `--shell`: run the command through `/bin/sh -c`. */
  readonly shell: boolean
  /** `--dry-run`: print the commands, run nothing. */
  readonly dryRun: boolean
}

/** What the command line asks for. */
export type CommandLine =
  | { readonly kind: 'run'; readonly options: CliOptions }
  | { readonly kind: 'help' }
  | { readonly kind: 'version' }

/** A bad option or a missing command: the command exits with status 255 and this message. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}

/** The text `--help` prints. */
export const HELP = `Usage: <items> | foreach-parallel [options] [--] command [args...]
       foreach-parallel [options] -a FILE [--] command [args...]

Runs the command once per input line, at most N at a time, like PowerShell's
ForEach-Object -Parallel, xargs -P and GNU parallel. Every {} in the command is
replaced by the item; without {}, the item is added as the last argument.
Each command's output is printed whole when it ends, never interleaved.

Options:
  -j, --throttle-limit N    run at most N commands at once (integer >= 1, default 5)
      --keep-order          print outputs in input order (the default)
      --as-completed        print each output as soon as its command ends
      --timeout SECONDS     stop the whole run after SECONDS; running items fail,
                            items not yet started are not run and not counted
      --item-timeout SECONDS
                            stop a command that runs longer than SECONDS; it fails
                            (both: a number > 0, at most 2147483.647)
      --retries N           run a failed command up to N more times (default 0)
      --progress            draw a progress bar on stderr when it is a terminal
      --results FILE        write a record per item to FILE (.json, .ndjson, .csv)
  -a, --arg-file FILE       read the items from FILE instead of standard input
      --shell               run the command through /bin/sh -c (items are quoted)
      --dry-run             print the commands, run nothing
  -h, --help                print this help
      --version             print the version

Exit status: 0 when every item succeeded; 1-100 the number of failed items
(with --timeout, the items running at the deadline count as failed, the items
never started do not count); 101 when more than 100 failed; 130 on SIGINT
(Ctrl+C), 143 on SIGTERM; 141 when stdout or stderr was closed by its reader
(| head); 255 for bad options or usage, a file that cannot be opened, or
output that cannot be written (disk full).
`

const OPTIONS = {
  'throttle-limit': { type: 'string', short: 'j' },
  'keep-order': { type: 'boolean' },
  'as-completed': { type: 'boolean' },
  timeout: { type: 'string' },
  'item-timeout': { type: 'string' },
  retries: { type: 'string' },
  progress: { type: 'boolean' },
  results: { type: 'string' },
  'arg-file': { type: 'string', short: 'a' },
  shell: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} satisfies ParseArgsConfig['options']

const FORMATS: Record<string, ResultsFormat> = { '.json': 'json', '.ndjson': 'ndjson', '.csv': 'csv' }

/**
 * Parses and validates the arguments of `foreach-parallel` (without `node` and the script). The
 * command starts after `--`, or at the first argument that is not an option or an option's value,
 * so that `-j 4 gzip -k {}` works as well as `-j 4 -- gzip -k {}`.
 *
 * @throws UsageError for an unknown option, a bad value, or a missing command.
 */
export function parseCommandLine(argv: readonly string[]): CommandLine {
  const start = commandStart(argv)
  const command = argv.slice(argv[start] === '--' ? start + 1 : start)
  let values: ReturnType<typeof parseOptions>
  try {
    values = parseOptions(argv.slice(0, start))
  } catch (error) {
    throw new UsageError(parseErrorMessage(error))
  }
  if (values.help) return { kind: 'help' }
  if (values.version) return { kind: 'version' }
  if (command.length === 0) throw new UsageError('no command given')
  if (values['keep-order'] && values['as-completed']) {
    throw new UsageError('--keep-order and --as-completed exclude each other')
  }
  const throttleLimit = values['throttle-limit']
  const timeout = values.timeout
  const itemTimeout = values['item-timeout']
  const retries = values.retries
  return {
    kind: 'run',
    options: {
      command,
      throttleLimit: throttleLimit === undefined ? 5 : numberOption('--throttle-limit', throttleLimit, integer(1)),
      ordered: !values['as-completed'],
      timeout: timeout === undefined ? undefined : numberOption('--timeout', timeout, seconds),
      itemTimeout: itemTimeout === undefined ? undefined : numberOption('--item-timeout', itemTimeout, seconds),
      retries: retries === undefined ? 0 : numberOption('--retries', retries, integer(0)),
      progress: values.progress ?? false,
      results: values.results === undefined ? undefined : resultsOption(values.results),
      argFile: values['arg-file'],
      shell: values.shell ?? false,
      dryRun: values['dry-run'] ?? false,
    },
  }
}

function parseOptions(args: string[]) {
  return parseArgs({ args, options: OPTIONS, strict: true, allowPositionals: false }).values
}

/** Index of `--` or of the command's first word; `argv.length` when there is neither. */
function commandStart(argv: readonly string[]): number {
  // A lenient pass only to find where the options end: the strict pass then reports any mistake.
  const { tokens } = parseArgs({ args: [...argv], options: OPTIONS, strict: false, allowPositionals: true, tokens: true })
  const first = tokens.find((token) => token.kind === 'positional' || token.kind === 'option-terminator')
  return first === undefined ? argv.length : first.index
}

function parseErrorMessage(error: unknown): string {
  const { code, message } = error as { code?: string; message: string }
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return message.replace(/\. To specify a positional.*$/s, '')
  return message.split('\n')[0]!
}

function integer(min: number): (name: string, value: unknown) => number {
  return (name, value) => checkInteger(name, value, min)
}

/** Seconds > 0, converted to ms; bounded in ms, the unit the timers keep them in. */
function seconds(name: string, value: unknown): number {
  if (typeof value === 'number' && Number.isFinite(value) && 1000 * value > MAX_DELAY) {
    throw new RangeError(`Expected ${name} to be at most ${MAX_DELAY / 1000} seconds (the longest timer delay), got ${value}`)
  }
  return 1000 * checkDuration(name, value)
}

/** A number option, checked by one of the library's checks; the message shows the text as typed. */
function numberOption(name: string, text: string, check: (name: string, value: unknown) => number): number {
  const value = text.trim() === '' ? NaN : Number(text)
  try {
    return check(name, value)
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/got .*$/, `got ${JSON.stringify(text)}`))
  }
}

function resultsOption(path: string): CliOptions['results'] {
  const format = FORMATS[extname(path).toLowerCase()]
  if (format === undefined) {
    throw new UsageError(`Expected --results to end in .json, .ndjson or .csv, got ${JSON.stringify(path)}`)
  }
  return { path, format }
}
