import { availableParallelism } from 'node:os'
import { describe, expect, it } from 'vitest'
import { parseCommandLine } from '../../src/cli/args.js'
import { expand } from '../../src/cli/template.js'
import { UsageError } from '../../src/cli/usage-error.js'

function options(argv: string[]) {
  const parsed = parseCommandLine(argv)
  if (parsed.kind !== 'run') throw new Error(`expected a run, got ${parsed.kind}`)
  return parsed.options
}

/** The command a job with these values runs, as a shell would read it. */
function commandFor(argv: string[], args: string[] = ['x']): string {
  return expand(options(argv).template, { seq: 1, args }, 1).text
}

describe('parseCommandLine', () => {
  it('fills in the defaults', () => {
    const { template, ...rest } = options(['--', 'echo', '{}'])
    expect(template.shell).toBe(false)
    expect(rest).toEqual({
      inputs: [],
      separator: '\n',
      jobs: 5,
      ordered: true,
      timeout: undefined,
      totalTimeout: undefined,
      tries: 1,
      delay: 0,
      halt: undefined,
      tag: false,
      lineBuffer: false,
      progress: false,
      joblog: undefined,
      resume: undefined,
      results: undefined,
      dryRun: false,
    })
  })

  it('reads every option, durations turned into milliseconds', () => {
    const argv = ['-j4', '--as-completed', '--timeout', '1.5', '--total-timeout=2m30s', '--retries', '3', '--delay', '0.25']
    argv.push('--halt', 'soon,fail=20%', '--tag', '--lb', '--progress', '--jl', '+log.tsv', '--resume-failed')
    argv.push('--results', 'OUT.CSV', '-a', 'a.txt', '-0', '--shell', '--dry-run', '--will-cite', '--', 'gzip', '-k')
    const { template, ...rest } = options(argv)
    expect(template.shell).toBe(true)
    expect(rest).toEqual({
      inputs: [{ kind: 'file', path: 'a.txt', option: '-a' }],
      separator: '\0',
      jobs: 4,
      ordered: false,
      timeout: 1500,
      totalTimeout: 150_000,
      tries: 3,
      delay: 250,
      halt: { when: 'soon', why: 'fail', count: undefined, percent: 20 },
      tag: true,
      lineBuffer: true,
      progress: true,
      joblog: { path: 'log.tsv', append: true },
      resume: 'succeeded',
      results: { path: 'OUT.CSV', format: 'csv' },
      dryRun: true,
    })
  })

  it('knows GNU parallel\'s synonyms', () => {
    for (const argv of [['-P', '3'], ['--jobs', '3'], ['--max-procs=3'], ['--throttle-limit', '3'], ['-j3']]) {
      expect(options([...argv, 'x']).jobs).toBe(3)
    }
    expect(options(['--item-timeout', '2', 'x']).timeout).toBe(2000)
    expect(options(['--halt-on-error', '2', 'x']).halt).toEqual({ when: 'now', why: 'fail', count: 1, percent: undefined })
    expect(options(['--joblog', 'f', '--resume', 'x']).resume).toBe('logged')
    expect(options(['-kq0', 'x'])).toMatchObject({ ordered: true, separator: '\0' })
  })

  it('reads -j N% as a share of the CPU cores, rounded up', () => {
    expect(options(['-j', '100%', 'x']).jobs).toBe(availableParallelism())
    expect(options(['-j', '200%', 'x']).jobs).toBe(2 * availableParallelism())
    expect(options(['-j', '0.1%', 'x']).jobs).toBe(1)
  })

  it('reads durations as GNU parallel does: fractions and chained units', () => {
    expect(options(['--timeout', '1d3.5h16.6m4s', 'x']).timeout).toBe(100_000_000)
    expect(options(['--timeout', '.5', 'x']).timeout).toBe(500)
    expect(options(['--timeout', '2147483.647', 'x']).timeout).toBe(2_147_483_647)
    expect(options(['--delay', '0', 'x']).delay).toBe(0)
  })

  it('starts the command at the first word that is not an option, and leaves its options alone', () => {
    expect(commandFor(['-j', '2', 'gzip', '-k', '--best', '{}'])).toBe('gzip -k --best x')
    expect(commandFor(['--', '--weird-command'])).toBe('--weird-command x')
    expect(commandFor(['echo', '-j', '2'])).toBe('echo -j 2 x')
  })

  it('takes the :::, :::: and -a input sources in GNU parallel\'s order: -a first', () => {
    expect(options(['-a', 'f1', 'echo', ':::', 'a', 'b', '::::', 'f2', 'f3', ':::', '-j', '--help']).inputs).toEqual([
      { kind: 'file', path: 'f1', option: '-a' },
      { kind: 'values', values: ['a', 'b'] },
      { kind: 'file', path: 'f2', option: '::::' },
      { kind: 'file', path: 'f3', option: '::::' },
      { kind: 'values', values: ['-j', '--help'] },
    ])
  })

  it('answers --help and --version before checking anything else', () => {
    expect(parseCommandLine(['--help'])).toEqual({ kind: 'help' })
    expect(parseCommandLine(['-h', '-j', '0'])).toEqual({ kind: 'help' })
    expect(parseCommandLine(['--version'])).toEqual({ kind: 'version' })
  })

  it.each([
    [['-j', '0', 'x'], 'Expected -j to be an integer >= 1 or a percentage of the CPU cores (like 50%), got "0"'],
    [['-j', '-1', 'x'], 'Expected -j to be an integer >= 1 or a percentage of the CPU cores (like 50%), got "-1"'],
    [['-P', '+2', 'x'], 'Expected -P to be an integer >= 1 or a percentage of the CPU cores (like 50%), got "+2"'],
    [['--jobs', '1.5', 'x'], 'Expected --jobs to be an integer >= 1 or a percentage of the CPU cores (like 50%), got "1.5"'],
    [['-j', 'NaN', 'x'], 'Expected -j to be an integer >= 1 or a percentage of the CPU cores (like 50%), got "NaN"'],
    [['-j', '', 'x'], 'Expected -j to be an integer >= 1 or a percentage of the CPU cores (like 50%), got ""'],
    [['-j', '0%', 'x'], 'Expected -j to be an integer >= 1 or a percentage of the CPU cores (like 50%), got "0%"'],
    [['--retries', '0', 'x'], 'Expected --retries to be an integer >= 1 (the tries in all; GNU parallel\'s 0, forever, is not supported), got "0"'],
    [['--retries', '-1', 'x'], 'Expected --retries to be an integer >= 1 (the tries in all; GNU parallel\'s 0, forever, is not supported), got "-1"'],
    [['--retries', '1.5', 'x'], 'Expected --retries to be an integer >= 1 (the tries in all; GNU parallel\'s 0, forever, is not supported), got "1.5"'],
    [['--timeout', '-1', 'x'], 'Expected --timeout to be seconds > 0 (like 30, 1.5 or 2m30s), got "-1"'],
    [['--item-timeout', '0', 'x'], 'Expected --item-timeout to be seconds > 0 (like 30, 1.5 or 2m30s), got "0"'],
    [['--total-timeout', 'soon', 'x'], 'Expected --total-timeout to be seconds > 0 (like 30, 1.5 or 2m30s), got "soon"'],
    [['--timeout', 'Infinity', 'x'], 'Expected --timeout to be seconds > 0 (like 30, 1.5 or 2m30s), got "Infinity"'],
    [['--timeout', '1e3', 'x'], 'Expected --timeout to be seconds > 0 (like 30, 1.5 or 2m30s), got "1e3"'],
    [['--timeout', '200%', 'x'], 'GNU parallel\'s --timeout 200% (computed from the run) is not supported; give seconds > 0 (like 30, 1.5 or 2m30s)'],
    [['--delay', '1auto', 'x'], 'GNU parallel\'s --delay 1auto (computed from the run) is not supported; give seconds >= 0 (like 30, 1.5 or 2m30s)'],
    [['--delay', '-1', 'x'], 'Expected --delay to be seconds >= 0 (like 30, 1.5 or 2m30s), got "-1"'],
    [['--timeout', '2200000', 'x'], 'Expected --timeout to be at most 2147483.647 seconds (the longest timer delay), got "2200000"'],
    [['--total-timeout', '25d', 'x'], 'Expected --total-timeout to be at most 2147483.647 seconds (the longest timer delay), got "25d"'],
    [['--halt', 'later', 'x'], 'Expected --halt to be never, now or soon with fail, success or done and a count or a percentage (now,fail=1, soon,fail=10%), got "later"'],
    [['--halt', 'now,fail=0', 'x'], 'Expected --halt to be never, now or soon with fail, success or done and a count or a percentage (now,fail=1, soon,fail=10%), got "now,fail=0"'],
    [['--halt', 'soon,fail=101%', 'x'], 'Expected --halt to be never, now or soon with fail, success or done and a count or a percentage (now,fail=1, soon,fail=10%), got "soon,fail=101%"'],
    [['--nope', 'x'], 'unknown option --nope (see foreach-parallel --help)'],
    [['-Z', 'x'], 'unknown option -Z (see foreach-parallel --help)'],
    [['--pipe', 'x'], "GNU parallel's --pipe is not supported (see foreach-parallel --help)"],
    [['-X', 'x'], "GNU parallel's -X is not supported (see foreach-parallel --help)"],
    [['--shell=yes', 'x'], 'option --shell takes no value'],
    [['-j'], 'option -j needs a value'],
    [['--joblog'], 'option --joblog needs a value'],
    [[], "no command given (GNU parallel's items-as-commands form is not supported)"],
    [['--'], "no command given (GNU parallel's items-as-commands form is not supported)"],
    [[':::', 'echo a'], "no command given (GNU parallel's items-as-commands form is not supported)"],
    [['echo', ':::', 'a', ':::+', '1'], "GNU parallel's :::+ (linked input sources) is not supported"],
    [['echo', '::::'], ':::: needs at least one file'],
    [['--results', 'r.txt', 'x'], 'Expected --results to end in .json, .ndjson or .csv, got "r.txt"'],
    [['--results', 'json', 'x'], 'Expected --results to end in .json, .ndjson or .csv, got "json"'],
    [['-k', '--as-completed', 'x'], '-k/--keep-order and --as-completed exclude each other'],
    [['--shell', '-q', 'x'], '--shell and -q/--quote exclude each other'],
    [['--resume', 'x'], '--resume needs --joblog FILE'],
    [['--resume-failed', 'x'], '--resume-failed needs --joblog FILE'],
    [['--joblog', '-', 'x'], '--joblog - (the log on standard output) is not supported; give a file'],
    [['--joblog', '+', 'x'], '--joblog needs a file name'],
  ])('refuses %j with a UsageError', (argv, message) => {
    expect(() => parseCommandLine(argv)).toThrow(new UsageError(message))
  })
})
