import { describe, expect, it } from 'vitest'
import { parseCommandLine, UsageError } from '../../src/cli/args.js'

function options(argv: string[]) {
  const parsed = parseCommandLine(argv)
  if (parsed.kind !== 'run') throw new Error(`expected a run, got ${parsed.kind}`)
  return parsed.options
}

describe('parseCommandLine', () => {
  it('fills in the defaults', () => {
    expect(options(['--', 'echo', '{}'])).toEqual({
      command: ['echo', '{}'],
      throttleLimit: 5,
      ordered: true,
      timeout: undefined,
      itemTimeout: undefined,
      retries: 0,
      progress: false,
      results: undefined,
      argFile: undefined,
      shell: false,
      dryRun: false,
    })
  })

  it('reads every option, seconds turned into milliseconds', () => {
    const argv = ['-j4', '--as-completed', '--timeout', '1.5', '--item-timeout=0.25', '--retries', '2', '--progress']
    argv.push('--results', 'OUT.CSV', '-a', 'items.txt', '--shell', '--dry-run', '--', 'gzip', '-k')
    expect(options(argv)).toEqual({
      command: ['gzip', '-k'],
      throttleLimit: 4,
      ordered: false,
      timeout: 1500,
      itemTimeout: 250,
      retries: 2,
      progress: true,
      results: { path: 'OUT.CSV', format: 'csv' },
      argFile: 'items.txt',
      shell: true,
      dryRun: true,
    })
  })

  it('accepts timeouts up to the longest timer delay, 2147483.647 s', () => {
    expect(options(['--timeout', '2147483.647', '--item-timeout', '2147483.647', 'x'])).toMatchObject({
      timeout: 2_147_483_647,
      itemTimeout: 2_147_483_647,
    })
  })

  it('starts the command at the first word that is not an option, and leaves its options alone', () => {
    expect(options(['-j', '2', 'gzip', '-k', '--best', '{}']).command).toEqual(['gzip', '-k', '--best', '{}'])
    expect(options(['--shell', 'echo', '--', 'x']).command).toEqual(['echo', '--', 'x'])
    expect(options(['--', '--weird-command']).command).toEqual(['--weird-command'])
  })

  it('answers --help and --version before checking anything else', () => {
    expect(parseCommandLine(['--help'])).toEqual({ kind: 'help' })
    expect(parseCommandLine(['-h', '-j', '0'])).toEqual({ kind: 'help' })
    expect(parseCommandLine(['--version'])).toEqual({ kind: 'version' })
  })

  it.each([
    [['-j', '0', 'x'], 'Expected --throttle-limit to be an integer >= 1, got "0"'],
    [['-j', 'NaN', 'x'], 'Expected --throttle-limit to be an integer >= 1, got "NaN"'],
    [['-j', '', 'x'], 'Expected --throttle-limit to be an integer >= 1, got ""'],
    [['-j', 'Infinity', 'x'], 'Expected --throttle-limit to be an integer >= 1, got "Infinity"'],
    [['--retries', '1.5', 'x'], 'Expected --retries to be an integer >= 0, got "1.5"'],
    [['--timeout', '-1', 'x'], "Option '--timeout' argument is ambiguous."],
    [['--timeout=-1', 'x'], 'Expected --timeout to be a finite number > 0, got "-1"'],
    [['--item-timeout', 'Infinity', 'x'], 'Expected --item-timeout to be a finite number > 0, got "Infinity"'],
    [['--timeout', '2200000', 'x'], 'Expected --timeout to be at most 2147483.647 seconds (the longest timer delay), got "2200000"'],
    [['--item-timeout', '3e9', 'x'], 'Expected --item-timeout to be at most 2147483.647 seconds (the longest timer delay), got "3e9"'],
    [['--nope', 'x'], "Unknown option '--nope'"],
    [['--shell=yes', 'x'], "Option '--shell' does not take an argument"],
    [['-j'], "Option '-j, --throttle-limit <value>' argument missing"],
    [[], 'no command given'],
    [['--'], 'no command given'],
    [['--results', 'r.txt', 'x'], 'Expected --results to end in .json, .ndjson or .csv, got "r.txt"'],
    [['--results', 'json', 'x'], 'Expected --results to end in .json, .ndjson or .csv, got "json"'],
    [['--keep-order', '--as-completed', 'x'], '--keep-order and --as-completed exclude each other'],
  ])('refuses %j with a UsageError', (argv, message) => {
    expect(() => parseCommandLine(argv)).toThrow(new UsageError(message))
  })
})
