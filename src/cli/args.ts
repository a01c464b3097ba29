import { availableParallelism } from 'node:os'
import { extname } from 'node:path'
import { MAX_DELAY } from '../errors.js'
import { parseHalt, type HaltPolicy } from './halt.js'
import { compileTemplate, type Template } from './template.js'
import { UsageError } from './usage-error.js'

/** Formats of the `--results` file, chosen by its extension. */
export type ResultsFormat = 'json' | 'ndjson' | 'csv'

/** Where items come from: values given after `:::`, or a file's records (`-a`, `::::`; `-` is stdin). */
export type InputSource =
  | { readonly kind: 'values'; readonly values: readonly string[] }
  | { readonly kind: 'file'; readonly path: string; readonly option: '-a' | '::::' }

/** The command line of `foreach-parallel`, validated, with every default filled in. */
export interface CliOptions {
  /** The command, its replacement strings parsed and checked. */
  readonly template: Template
  /** The input sources, `-a` files first, then the `:::` and `::::` groups; none: standard input. */
  readonly inputs: readonly InputSource[]
  /** What ends an item in a file or standard input: a newline, or NUL with `-0`. */
  readonly separator: '\n' | '\0'
  /** `-j`: most commands running at once. Default `5`. */
  readonly jobs: number
  /** `-k` (default, `true`) or `--as-completed` (`false`). */
  readonly ordered: boolean
  /** `--timeout`, in ms: the deadline of each attempt of a command. */
  readonly timeout: number | undefined
  /** `--total-timeout`, in ms: the whole run's deadline. */
  readonly totalTimeout: number | undefined
  /** `--retries`: how many times in all a failing command is tried (GNU parallel's meaning). Default `1`. */
  readonly tries: number
  /** `--delay`, in ms: the least time between two starts. Default `0`. */
  readonly delay: number
  /** `--halt`; `undefined` for never. */
  readonly halt: HaltPolicy | undefined
  /** `--tag`: each output line starts with the item and a TAB. */
  readonly tag: boolean
  /** `--line-buffer`: output printed as it comes, whole lines at a time. */
  readonly lineBuffer: boolean
  /** `--progress`: a bar on stderr when it is a terminal. */
  readonly progress: boolean
  /** `--joblog FILE` (`+FILE` appends). */
  readonly joblog: { readonly path: string; readonly append: boolean } | undefined
  /** `--resume` skips the jobs the joblog has; `--resume-failed` only those that succeeded. */
  readonly resume: 'logged' | 'succeeded' | undefined
  /** `--results FILE` and the format its extension names. */
  readonly results: { readonly path: string; readonly format: ResultsFormat } | undefined
  /** `--dry-run`: print the commands, run nothing. */
  readonly dryRun: boolean
}

/** What the command line asks for. */
export type CommandLine =
  | { readonly kind: 'run'; readonly options: CliOptions }
  | { readonly kind: 'help' }
  | { readonly kind: 'version' }

/** The text `--help` prints. */
export const HELP = `Usage: <items> | foreach-parallel [options] [--] command [args...]
       foreach-parallel [options] command [args...] ::: values... [::: values...]
       foreach-parallel [options] command [args...] :::: files...

Runs the command once per item, at most N at a time, like PowerShell's
ForEach-Object -Parallel and GNU parallel, whose options and replacement
strings it takes. The command runs from its words, without a shell: an item is
never shell code. Each command's output is printed whole when it ends.

Items: lines of standard input, of -a FILE or of :::: FILE, or the values after
:::. Several sources combine as nested loops; {1} {2}... name each source.

Replacement strings: {} item   {.} without extension   {/} basename
  {//} dirname   {/.} basename without extension   {#} job number   {%} slot
  {N} {N.} {N/} {N//} {N/.} the same for input source N. Without any, the
  item is added as the last argument. Other text in braces is left as is.

Options:
  -j, -P, --jobs N       run at most N commands at once: an integer >= 1, or
                         a percentage of the CPU cores (100%); default 5
  -k, --keep-order       print outputs in input order (the default)
      --as-completed     print each output as soon as its command ends
      --timeout SECS     stop a command that runs longer (also --item-timeout)
      --total-timeout SECS
                         stop the whole run after SECS
      --retries N        try a failing command up to N times in all
      --delay SECS       wait SECS between two starts
      --halt WHEN,WHY=N  stop early: now|soon, fail|success|done=N or =N%
      --tag              start each output line with the item and a TAB
      --line-buffer      print output as it comes, whole lines at a time
      --progress         a progress bar on stderr when it is a terminal
      --joblog FILE      log each job in GNU parallel's format (+FILE appends)
      --resume           skip the jobs the joblog has
      --resume-failed    skip the jobs the joblog has as succeeded
      --results FILE     a record per item in FILE (.json, .ndjson, .csv)
  -a, --arg-file FILE    read items from FILE (several -a: several sources)
  -0, --null             items end with NUL instead of a newline
      --shell            run the command through /bin/sh -c, items quoted
  -q, --quote            words are passed as they are (the default here)
      --dry-run          print the commands, run nothing
      --will-cite        accepted, for GNU parallel command lines
  -h, --help             print this help
      --version          print the version
SECS: seconds, with fractions and s m h d units (1.5, 2m30s).

Differences from GNU parallel: without --shell no shell runs the command (so
$VAR, globs and | in its words are plain text); defaults are 5 jobs in input
order; Ctrl+C, SIGTERM and SIGHUP stop the running commands. Forms not
supported are refused. See docs/command.md.

Exit status: 0 all succeeded; 1-100 the number of failed items; 101 more than
100 failed; with --halt, GNU parallel's (fail=1: the failing command's status);
with --total-timeout, the failed and cut-short items (at least 1); 129, 130,
143 on SIGHUP, SIGINT, SIGTERM; 141 when the output's reader went away;
255 for bad options, unreadable files or output that cannot be written.
`

type Key =
  | 'jobs'
  | 'keepOrder'
  | 'asCompleted'
  | 'timeout'
  | 'totalTimeout'
  | 'retries'
  | 'delay'
  | 'halt'
  | 'tag'
  | 'lineBuffer'
  | 'progress'
  | 'joblog'
  | 'resume'
  | 'resumeFailed'
  | 'results'
  | 'argFile'
  | 'null'
  | 'shell'
  | 'quote'
  | 'dryRun'
  | 'willCite'
  | 'help'
  | 'version'

/** Options that take a value; the others are flags. */
const TAKES_VALUE = new Set<Key>(['jobs', 'timeout', 'totalTimeout', 'retries', 'delay', 'halt', 'joblog', 'results', 'argFile'])

const LONG: Record<string, Key> = {
  '--jobs': 'jobs',
  '--max-procs': 'jobs',
  '--throttle-limit': 'jobs',
  '--keep-order': 'keepOrder',
  '--as-completed': 'asCompleted',
  '--timeout': 'timeout',
  '--item-timeout': 'timeout',
  '--total-timeout': 'totalTimeout',
  '--retries': 'retries',
  '--delay': 'delay',
  '--halt': 'halt',
  '--halt-on-error': 'halt',
  '--tag': 'tag',
  '--line-buffer': 'lineBuffer',
  '--lb': 'lineBuffer',
  '--progress': 'progress',
  '--joblog': 'joblog',
  '--jl': 'joblog',
  '--resume': 'resume',
  '--resume-failed': 'resumeFailed',
  '--results': 'results',
  '--arg-file': 'argFile',
  '--null': 'null',
  '--shell': 'shell',
  '--quote': 'quote',
  '--dry-run': 'dryRun',
  '--will-cite': 'willCite',
  '--help': 'help',
  '--version': 'version',
}

const SHORT: Record<string, Key> = {
  j: 'jobs',
  P: 'jobs',
  k: 'keepOrder',
  a: 'argFile',
  '0': 'null',
  q: 'quote',
  h: 'help',
}

/** GNU parallel options a user may reach for that this command does not have. */
const GNU_ONLY = new Set([
  '--pipe', '--pipepart', '--pipe-part', '--block', '-S', '--sshlogin', '--link', '--xapply', '-X', '-m', '--xargs',
  '-N', '-n', '--max-args', '-L', '-l', '--max-lines', '-I', '-i', '--replace', '-u', '--ungroup', '--group',
  '--bar', '--eta', '-v', '--verbose', '-t', '--colsep', '-C', '--header', '--plus', '--rpl', '--tagstring',
  '--ctag', '-d', '--delimiter', '--env', '--nice', '--retry-failed', '--semaphore', '--sem', '--memfree',
  '--load', '--shuf', '--tmux', '--termseq', '--filter', '--arg-sep', '--arg-file-sep', '-E', '--eof', '-r',
  '--no-run-if-empty', '--files', '--compress', '--round-robin', '--tee', '--onall', '--nonall', '--workdir',
  '--wd', '--transfer', '--return', '--cleanup', '--trc', '--basefile', '--results-dir', '--keep-order-first',
  '--ungroup', '--sqlmaster', '--sqlworker', '--fg', '--bg', '--jobs-file', '--linebuffer', '-V',
])

const SEPARATORS = new Set([':::', '::::'])
const LINKED = new Set([':::+', '::::+'])

const FORMATS: Record<string, ResultsFormat> = { '.json': 'json', '.ndjson': 'ndjson', '.csv': 'csv' }

/** One option as it was typed, with its value. */
interface Given {
  readonly key: Key
  readonly name: string
  readonly value: string | undefined
}

/**
 * Parses and validates the arguments of `foreach-parallel` (without `node` and the script). The
 * options come first; the command starts after `--` or at the first word that is not an option,
 * and runs to the first `:::` or `::::`, after which come the input groups, as in GNU parallel.
 *
 * @throws UsageError for an unknown option, a bad value, a bad replacement string, or no command.
 */
export function parseCommandLine(argv: readonly string[]): CommandLine {
  const { given, rest } = readOptions(argv)
  const last = new Map<Key, Given>()
  const argFiles: InputSource[] = []
  for (const option of given) {
    if (option.key === 'argFile') argFiles.push({ kind: 'file', path: option.value!, option: '-a' })
    else last.set(option.key, option)
  }
  if (last.has('help')) return { kind: 'help' }
  if (last.has('version')) return { kind: 'version' }

  const { command, groups } = splitGroups(rest)
  if (command.length === 0) throw new UsageError('no command given (GNU parallel\'s items-as-commands form is not supported)')
  const flag = (key: Key) => last.has(key)
  const value = (key: Key) => last.get(key)
  if (flag('keepOrder') && flag('asCompleted')) throw new UsageError('-k/--keep-order and --as-completed exclude each other')
  if (flag('shell') && flag('quote')) throw new UsageError('--shell and -q/--quote exclude each other')

  const inputs = [...argFiles, ...groups]
  const shell = flag('shell')
  const joblog = value('joblog') && joblogOption(value('joblog')!)
  const resume = flag('resumeFailed') ? 'succeeded' : flag('resume') ? 'logged' : undefined
  if (resume !== undefined && joblog === undefined) {
    throw new UsageError(`${flag('resumeFailed') ? '--resume-failed' : '--resume'} needs --joblog FILE`)
  }
  return {
    kind: 'run',
    options: {
      template: compileTemplate(command, { sources: Math.max(1, inputs.length), shell, quote: flag('quote') }),
      inputs,
      separator: flag('null') ? '\0' : '\n',
      jobs: value('jobs') ? jobsOption(value('jobs')!) : 5,
      ordered: !flag('asCompleted'),
      timeout: value('timeout') && durationOption(value('timeout')!, false),
      totalTimeout: value('totalTimeout') && durationOption(value('totalTimeout')!, false),
      tries: value('retries') ? retriesOption(value('retries')!) : 1,
      delay: value('delay') ? durationOption(value('delay')!, true) : 0,
      halt: value('halt') && haltOption(value('halt')!),
      tag: flag('tag'),
      lineBuffer: flag('lineBuffer'),
      progress: flag('progress'),
      joblog,
      resume,
      results: value('results') && resultsOption(value('results')!.value!),
      dryRun: flag('dryRun'),
    },
  }
}

/** The options before the command, and the words from the command on. */
function readOptions(argv: readonly string[]): { given: Given[]; rest: readonly string[] } {
  const given: Given[] = []
  let i = 0
  while (i < argv.length) {
    const word = argv[i]!
    if (word === '--') return { given, rest: argv.slice(i + 1) }
    if (!word.startsWith('-') || word === '-') break
    i++
    if (word.startsWith('--')) {
      const equals = word.indexOf('=')
      const name = equals === -1 ? word : word.slice(0, equals)
      const key = LONG[name] ?? unknown(name)
      if (!TAKES_VALUE.has(key)) {
        if (equals !== -1) throw new UsageError(`option ${name} takes no value`)
        given.push({ key, name, value: undefined })
      } else if (equals !== -1) {
        given.push({ key, name, value: word.slice(equals + 1) })
      } else {
        given.push({ key, name, value: valueAfter(argv, i++, name) })
      }
      continue
    }
    // Short options: flags may be grouped (-k0); one that takes a value takes the rest (-j4) or the next word.
    for (let at = 1; at < word.length; at++) {
      const name = `-${word[at]}`
      const key = SHORT[word[at]!] ?? unknown(name)
      if (!TAKES_VALUE.has(key)) {
        given.push({ key, name, value: undefined })
        continue
      }
      const attached = word.slice(at + 1)
      given.push({ key, name, value: attached !== '' ? attached : valueAfter(argv, i++, name) })
      break
    }
  }
  return { given, rest: argv.slice(i) }
}

function valueAfter(argv: readonly string[], at: number, name: string): string {
  if (at >= argv.length) throw new UsageError(`option ${name} needs a value`)
  return argv[at]!
}

function unknown(name: string): never {
  if (GNU_ONLY.has(name)) throw new UsageError(`GNU parallel's ${name} is not supported (see foreach-parallel --help)`)
  throw new UsageError(`unknown option ${name} (see foreach-parallel --help)`)
}

/** The command's words, then the input groups after `:::` and `::::`. */
function splitGroups(words: readonly string[]): { command: readonly string[]; groups: InputSource[] } {
  const linked = words.find((word) => LINKED.has(word))
  if (linked !== undefined) throw new UsageError(`GNU parallel's ${linked} (linked input sources) is not supported`)
  const first = words.findIndex((word) => SEPARATORS.has(word))
  if (first === -1) return { command: words, groups: [] }
  const groups: InputSource[] = []
  let at = first
  while (at < words.length) {
    const separator = words[at]!
    let end = at + 1
    while (end < words.length && !SEPARATORS.has(words[end]!)) end++
    const values = words.slice(at + 1, end)
    if (separator === ':::') groups.push({ kind: 'values', values })
    else {
      if (values.length === 0) throw new UsageError(':::: needs at least one file')
      for (const path of values) groups.push({ kind: 'file', path, option: '::::' })
    }
    at = end
  }
  return { command: words.slice(0, first), groups }
}

/** The text as typed, for a message: `"-1"`. */
function shown(text: string): string {
  return JSON.stringify(text)
}

/** `-j N` or `-j N%` (of the CPU cores, rounded up, at least 1), as GNU parallel reads them. */
function jobsOption({ name, value }: Given): number {
  const text = value!
  if (/^\d+$/.test(text) && Number(text) >= 1) return Number(text)
  const percent = /^(\d+(?:\.\d+)?)%$/.exec(text)
  if (percent !== null && Number(percent[1]) > 0) return Math.max(1, Math.ceil((availableParallelism() * Number(percent[1])) / 100))
  throw new UsageError(`Expected ${name} to be an integer >= 1 or a percentage of the CPU cores (like 50%), got ${shown(text)}`)
}

/** `--retries N`: GNU parallel's tries in all; its `0` (retry forever) is refused. */
function retriesOption({ name, value }: Given): number {
  const text = value!
  if (/^\d+$/.test(text) && Number(text) >= 1) return Number(text)
  throw new UsageError(`Expected ${name} to be an integer >= 1 (the tries in all; GNU parallel's 0, forever, is not supported), got ${shown(text)}`)
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 }

/**
 * A duration as GNU parallel writes them: seconds, with fractions, and units that may be chained
 * (`1.5`, `90s`, `2m30s`, `1d3.5h`). Converted to ms; at most the longest delay a timer keeps.
 */
function durationOption({ name, value }: Given, zeroAllowed: boolean): number {
  const text = value!
  const expected = `${zeroAllowed ? 'seconds >= 0' : 'seconds > 0'} (like 30, 1.5 or 2m30s)`
  if (/%$/.test(text) || /auto$/i.test(text)) {
    throw new UsageError(`GNU parallel's ${name} ${text} (computed from the run) is not supported; give ${expected}`)
  }
  const match = /^((?:(?:\d+(?:\.\d*)?|\.\d+)[smhd])*)(\d+(?:\.\d*)?|\.\d+)?$/i.exec(text)
  if (text === '' || match === null) throw new UsageError(`Expected ${name} to be ${expected}, got ${shown(text)}`)
  let seconds = match[2] === undefined ? 0 : Number(match[2])
  for (const [, amount, unit] of match[1]!.matchAll(/(\d+(?:\.\d*)?|\.\d+)([smhd])/gi)) {
    seconds += Number(amount) * UNIT_SECONDS[unit!.toLowerCase()]!
  }
  const ms = Math.round(seconds * 1000)
  if (!zeroAllowed && ms <= 0) throw new UsageError(`Expected ${name} to be ${expected}, got ${shown(text)}`)
  if (ms > MAX_DELAY) {
    throw new UsageError(`Expected ${name} to be at most ${MAX_DELAY / 1000} seconds (the longest timer delay), got ${shown(text)}`)
  }
  return ms
}

function haltOption({ name, value }: Given): HaltPolicy | undefined {
  try {
    return parseHalt(value!)
  } catch (error) {
    throw new UsageError(`Expected ${name} to be ${(error as Error).message}, got ${shown(value!)}`)
  }
}

function joblogOption({ name, value }: Given): CliOptions['joblog'] {
  const text = value!
  if (text === '-') throw new UsageError(`${name} - (the log on standard output) is not supported; give a file`)
  const append = text.startsWith('+')
  const path = append ? text.slice(1) : text
  if (path === '') throw new UsageError(`${name} needs a file name`)
  return { path, append }
}

function resultsOption(path: string): CliOptions['results'] {
  const format = FORMATS[extname(path).toLowerCase()]
  if (format === undefined) {
    throw new UsageError(`Expected --results to end in .json, .ndjson or .csv, got ${shown(path)}`)
  }
  return { path, format }
}
