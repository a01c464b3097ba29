/**
 * The command line of the examples: `--help` prints the usage, a bad argument prints what is wrong
 * and the usage (exit 2), an error from the system (a file that does not exist) prints its message
 * (exit 1), and Ctrl+C stops the run through an `AbortSignal`, so that the example's `finally`
 * blocks remove what it created before it exits (130). Never a stack trace for a user's mistake.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util'

/** Exit status for a usage error, as most commands use. */
const USAGE_STATUS = 2

/** Prints `problem` and the usage on stderr and exits with status 2. */
export function usageError(usage: string, problem: string): never {
  process.stderr.write(`${problem}\n${usage}\n`)
  process.exit(USAGE_STATUS)
}

/**
 * `parseArgs` on the process's arguments, strict, with `-h`/`--help` added: the help prints `usage`
 * and exits 0; an unknown option, a missing value or an extra argument is a {@link usageError}.
 */
export function parseExampleArgs<const O extends NonNullable<ParseArgsConfig['options']>>(
  usage: string,
  options: O,
  maxPositionals = 0,
) {
  let parsed
  try {
    parsed = parseArgs({
      args: process.argv.slice(2),
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    })
  } catch (error) {
    // Node's message for an unknown option goes on to explain `--`, which only confuses here.
    usageError(usage, (error as Error).message.replace(/\. To specify a positional argument.*$/s, ''))
  }
  if ((parsed.values as { help?: boolean }).help === true) {
    process.stdout.write(`${usage}\n`)
    process.exit(0)
  }
  if (parsed.positionals.length > maxPositionals) usageError(usage, `Unexpected argument '${parsed.positionals[maxPositionals]}'`)
  return parsed
}

/** Parses a whole number >= `min` given for `--name`, or exits with a {@link usageError}. */
export function integerArg(usage: string, name: string, text: string | undefined, min: number): number | undefined {
  return numberArg(usage, name, text, `a whole number >= ${min}`, (value) => Number.isInteger(value) && value >= min)
}

/** Parses a finite number > 0 (a fraction too) given for `--name`, or exits with a {@link usageError}. */
export function positiveArg(usage: string, name: string, text: string | undefined): number | undefined {
  return numberArg(usage, name, text, 'a number > 0', (value) => Number.isFinite(value) && value > 0)
}

function numberArg(
  usage: string,
  name: string,
  text: string | undefined,
  expected: string,
  valid: (value: number) => boolean,
): number | undefined {
  if (text === undefined) return undefined
  const value = Number(text)
  // Number('') and Number(' ') are 0, which is not what anyone typed.
  if (text.trim() === '' || !valid(value)) usageError(usage, `Option '--${name}' expects ${expected}, got '${text}'`)
  return value
}

/**
 * Runs an example's `main` with a signal that Ctrl+C aborts. A system error (one with a `code`,
 * such as `ENOENT`) is printed as one line and exits 1; any other error is a bug and keeps its stack.
 */
export async function runExample(name: string, main: (signal: AbortSignal) => Promise<unknown>): Promise<void> {
  const interrupt = new AbortController()
  const onInterrupt = (): void => interrupt.abort(new Error('Interrupted'))
  process.once('SIGINT', onInterrupt)
  try {
    await main(interrupt.signal)
  } catch (error) {
    if (interrupt.signal.aborted) {
      process.stderr.write(`${name}: interrupted\n`)
      process.exitCode = 130
    } else if (typeof (error as { code?: unknown } | null)?.code === 'string') {
      process.stderr.write(`${name}: ${(error as Error).message}\n`)
      process.exitCode = 1
    } else {
      throw error
    }
  } finally {
    process.off('SIGINT', onInterrupt)
  }
}
