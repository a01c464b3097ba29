import { UsageError } from './usage-error.js'

/** What a replacement string makes of a value, as GNU parallel's: `{}` `{.}` `{/}` `{//}` `{/.}`. */
type Transform = '' | '.' | '/' | '//' | '/.'

/** A replacement string: an input value (`{}`, `{2/}`…), the job number `{#}` or the slot `{%}`. */
type Replacement =
  | {
      readonly kind: 'value'
      /** Input source from 1, or from the end when negative; `undefined`: every source (`{}`). */
      readonly source: number | undefined
      readonly transform: Transform
      readonly text: string
    }
  | { readonly kind: 'seq'; readonly text: string }
  | { readonly kind: 'slot'; readonly text: string }

type Piece = string | Replacement

/** A command line with its replacement strings found and checked, ready to be filled in per job. */
export interface Template {
  /** The command's words, each a list of literal text and replacement strings. */
  readonly words: readonly (readonly Piece[])[]
  /** `--shell`: the words are joined into a script for `/bin/sh -c`, every replacement quoted. */
  readonly shell: boolean
  /** No replacement string anywhere: the values are added at the end. */
  readonly appends: boolean
}

/** One job: its number from 1 and a value per input source. */
export interface JobInput {
  readonly seq: number
  readonly args: readonly string[]
}

/** One command to run: what to spawn, and how it reads in a shell (`--dry-run`, the joblog). */
export interface Command {
  readonly file: string
  readonly args: readonly string[]
  readonly text: string
}

// `{}` `{.}` `{/}` `{//}` `{/.}`, with an input source number before the transform, or `{#}` `{%}`.
const REPLACEMENT = /\{(?:(-?\d+)?(\/\/|\/\.|\/|\.)?|#|%)\}/g

/** Shells whose `-c` argument is a script. */
const SHELLS = new Set(['sh', 'bash', 'dash', 'zsh', 'ksh', 'ksh93', 'mksh', 'ash', 'yash', 'posh', 'fish', 'csh', 'tcsh'])

/** Shell options that take the next word as their value (`bash -o pipefail -c …`). */
const SHELL_OPTIONS_WITH_VALUE = new Set(['-o', '+o', '-O', '+O', '--rcfile', '--init-file'])

/** Words a shell would read as an operator: here, without a shell, they would be plain arguments. */
const SHELL_OPERATORS = new Set(['|', '||', '&', '&&', ';', ';;', '>', '>>', '<', '<<', '<<<', '2>', '2>>', '&>', '>&', '2>&1', '>&2', '|&'])

/** Options of {@link compileTemplate}. */
export interface TemplateOptions {
  /** How many input sources the run has (at least 1): `{N}` must name one of them. */
  readonly sources: number
  /** `--shell`. */
  readonly shell: boolean
  /** `-q`: words that look like shell syntax are meant as plain text. */
  readonly quote: boolean
}

/**
 * Parses the command's words and checks them: a bad replacement string, a replacement string in the
 * script of `sh -c` and the like (without `--shell`), a shell operator or a command name with spaces
 * (without a shell to read them), or a replacement string inside quotes in a `--shell` script.
 *
 * @throws UsageError naming the problem and the safe form.
 */
export function compileTemplate(command: readonly string[], options: TemplateOptions): Template {
  const words = command.map((word) => parseWord(word, options.sources))
  const template: Template = {
    words,
    shell: options.shell,
    appends: !words.some((pieces) => pieces.some((piece) => typeof piece !== 'string')),
  }
  if (options.shell) checkShellQuoting(words)
  else {
    checkShellScripts(command, words)
    if (!options.quote) checkShellSyntax(command)
  }
  return template
}

function parseWord(word: string, sources: number): Piece[] {
  const perl = /\{=.*?=\}/s.exec(word)
  if (perl !== null) throw new UsageError(`GNU parallel's perl replacement strings (${perl[0]}) are not supported`)
  const pieces: Piece[] = []
  let last = 0
  for (const match of word.matchAll(REPLACEMENT)) {
    if (match.index > last) pieces.push(word.slice(last, match.index))
    pieces.push(replacement(match, sources))
    last = match.index + match[0].length
  }
  if (last < word.length || pieces.length === 0) pieces.push(word.slice(last))
  return pieces
}

function replacement(match: RegExpMatchArray, sources: number): Replacement {
  const text = match[0]
  if (text === '{#}') return { kind: 'seq', text }
  if (text === '{%}') return { kind: 'slot', text }
  const transform = (match[2] ?? '') as Transform
  if (match[1] === undefined) return { kind: 'value', source: undefined, transform, text }
  const source = Number(match[1])
  if (source === 0 || Math.abs(source) > sources) {
    const have = sources === 1 ? 'there is 1 input source' : `there are ${sources} input sources`
    throw new UsageError(`${text} names input source ${source}, but ${have} (they count from 1, or from -1 at the end)`)
  }
  return { kind: 'value', source, transform, text }
}

/**
 * Refuses a replacement string in the script of `sh -c` (and `bash -lc`, `/bin/zsh -ec`…): the
 * item would become shell code. The safe form passes it as an argument of the script instead.
 */
function checkShellScripts(command: readonly string[], words: readonly (readonly Piece[])[]): void {
  for (let i = 0; i < command.length; i++) {
    const name = command[i]!.slice(command[i]!.lastIndexOf('/') + 1)
    if (!SHELLS.has(name)) continue
    let at = i + 1
    let script = false
    while (at < command.length) {
      const word = command[at]!
      if (word === '--' || word === '-') {
        at++
        break
      }
      if (!/^[-+]./.test(word)) break
      if (SHELL_OPTIONS_WITH_VALUE.has(word)) at++
      else if (!word.startsWith('--') && word.slice(1).includes('c')) script = true
      at++
    }
    const found = script && at < command.length ? words[at]!.find((piece) => typeof piece !== 'string') : undefined
    if (found !== undefined) {
      const shell = command.slice(i, at).join(' ')
      throw new UsageError(
        `${found.text} in the script of '${shell}' would make each item shell code; pass it as an argument: ` +
          `${shell} '… "$1"' _ ${found.text}`,
      )
    }
  }
}

/** Refuses what only a shell would read as syntax, since no shell runs the command without `--shell`. */
function checkShellSyntax(command: readonly string[]): void {
  const operator = command.find((word) => SHELL_OPERATORS.has(word))
  if (operator !== undefined) {
    throw new UsageError(
      `'${operator}' would be a plain argument: no shell runs the command (GNU parallel uses one); ` +
        `use --shell with the command line in one word, or -q if '${operator}' is meant as text`,
    )
  }
  if (/\s/.test(command[0]!)) {
    throw new UsageError(
      `the command name ${JSON.stringify(command[0])} has spaces: no shell splits it (GNU parallel uses one); ` +
        'give the words separately, or use --shell',
    )
  }
}

/**
 * With `--shell` each replacement is quoted for the shell; inside quotes the script already has,
 * that quoting would break and let the item out as shell code. Refused.
 */
function checkShellQuoting(words: readonly (readonly Piece[])[]): void {
  let quote: "'" | '"' | undefined
  let escaped = false
  const pieces = words.flatMap((pieces, i) => (i === 0 ? pieces : [' ', ...pieces]))
  for (const piece of pieces) {
    if (typeof piece !== 'string') {
      if (quote !== undefined) {
        throw new UsageError(
          `${piece.text} is inside ${quote === "'" ? 'single' : 'double'} quotes in the --shell command: ` +
            `--shell quotes each replacement itself, so write ${piece.text} bare`,
        )
      }
      continue
    }
    for (const char of piece) {
      if (escaped) escaped = false
      else if (quote === "'") {
        if (char === "'") quote = undefined
      } else if (char === '\\') escaped = true
      else if (quote === '"') {
        if (char === '"') quote = undefined
      } else if (char === "'" || char === '"') quote = char
    }
  }
}

/**
 * The command for one job: every replacement string filled in. Without `--shell`, a replacement
 * that stands for several values (`{}` with several input sources) becomes several arguments, as
 * GNU parallel's shell would split them; with `--shell`, each value is shell-quoted.
 */
export function expand(template: Template, job: JobInput, slot: number): Command {
  if (template.shell) {
    const words = template.words.map((pieces) => pieces.map((piece) => (typeof piece === 'string' ? piece : values(piece, job, slot).map(quote).join(' '))).join(''))
    if (template.appends) words.push(...job.args.map(quote))
    const text = words.join(' ')
    return { file: '/bin/sh', args: ['-c', text], text }
  }
  const argv: string[] = []
  for (const pieces of template.words) {
    let word = ''
    for (const piece of pieces) {
      if (typeof piece === 'string') {
        word += piece
        continue
      }
      const filled = values(piece, job, slot)
      word += filled[0]
      for (let i = 1; i < filled.length; i++) {
        argv.push(word)
        word = filled[i]!
      }
    }
    argv.push(word)
  }
  if (template.appends) argv.push(...job.args)
  return { file: argv[0]!, args: argv.slice(1), text: argv.map(quote).join(' ') }
}

function values(piece: Replacement, job: JobInput, slot: number): string[] {
  if (piece.kind === 'seq') return [String(job.seq)]
  if (piece.kind === 'slot') return [String(slot)]
  const { args } = job
  if (piece.source === undefined) return args.map((value) => transform(value, piece.transform))
  const value = args[piece.source > 0 ? piece.source - 1 : args.length + piece.source]!
  return [transform(value, piece.transform)]
}

/** GNU parallel's transforms, with its own regular expressions (`.` stops at a newline in both). */
function transform(value: string, how: Transform): string {
  switch (how) {
    case '':
      return value
    case '.':
      return value.replace(/\.[^/.]*$/, '')
    case '/':
      return value.replace(/.*\//, '')
    case '/.':
      return value.replace(/.*\//, '').replace(/\.[^/.]*$/, '')
    case '//':
      return dirname(value)
  }
}

/** Perl's `File::Basename::dirname`, which GNU parallel uses for `{//}`: dirname(1)'s answers. */
function dirname(path: string): string {
  const [directory, base] = splitPath(path)
  const stripped = stripTrailingSlashes(directory)
  if (base !== '') return stripped
  return stripTrailingSlashes(splitPath(stripped)[0])
}

function splitPath(path: string): [string, string] {
  const slash = path.lastIndexOf('/')
  return slash === -1 ? ['./', path] : [path.slice(0, slash + 1), path.slice(slash + 1)]
}

function stripTrailingSlashes(path: string): string {
  return path.replace(/(.)\/*$/s, '$1')
}

/** Quotes a word for a POSIX shell; a word that needs no quotes is returned as is. */
export function quote(word: string): string {
  if (/^[\w@%+=:,./-]+$/.test(word)) return word
  return `'${word.replaceAll("'", `'\\''`)}'`
}
