import { describe, expect, it } from 'vitest'
import { compileTemplate, expand, quote, type TemplateOptions } from '../../src/cli/template.js'
import { UsageError } from '../../src/cli/usage-error.js'

const ARGV: TemplateOptions = { sources: 1, shell: false, quote: false }

/** The argument vector a job with these values runs. */
function argv(words: string[], args: string[], options: Partial<TemplateOptions> = {}, seq = 1, slot = 1): string[] {
  const command = expand(compileTemplate(words, { ...ARGV, sources: args.length, ...options }), { seq, args }, slot)
  return [command.file, ...command.args]
}

describe('replacement strings', () => {
  it('fills in {} {.} {/} {//} {/.} {#} {%}, several in one word', () => {
    expect(argv(['echo', '{}', '{.}', '{/}', '{//}', '{/.}', '{#}-{%}', 'x{}y'], ['dir/a.tar.gz'], {}, 7, 3)).toEqual([
      'echo', 'dir/a.tar.gz', 'dir/a.tar', 'a.tar.gz', 'dir', 'a.tar', '7-3', 'xdir/a.tar.gzy',
    ])
  })

  // The answers GNU parallel 20221122 gives (checked by hand and in the compatibility tests).
  it.each([
    ['a', '.', 'a', 'a', 'a'],
    ['/a', '/', 'a', '/a', 'a'],
    ['a/b/', 'a', '', 'a/b/', ''],
    ['a/b.c/d', 'a/b.c', 'd', 'a/b.c/d', 'd'],
    ['.bashrc', '.', '.bashrc', '', ''],
    ['foo.', '.', 'foo.', 'foo', 'foo'],
    ['a.b.c', '.', 'a.b.c', 'a.b', 'a.b'],
    ['/', '/', '', '/', ''],
    ['', '.', '', '', ''],
    ['dir.x/file', 'dir.x', 'file', 'dir.x/file', 'file'],
    ['a/.b', 'a', '.b', 'a/', ''],
    ['a//b', 'a', 'b', 'a//b', 'b'],
  ])('%j: {//} %j, {/} %j, {.} %j, {/.} %j', (item, dirname, basename, noExtension, both) => {
    expect(argv(['e', '{//}', '{/}', '{.}', '{/.}'], [item]).slice(1)).toEqual([dirname, basename, noExtension, both])
  })

  it('takes {N} and its transforms from input source N, counting from the end when negative', () => {
    expect(argv(['e', '{2}', '{1}', '{-1}', '{2.}', '{1/}', '{3//}', '{3/.}'], ['x/a', 'b.c', 'd/e.f'])).toEqual([
      'e', 'b.c', 'x/a', 'd/e.f', 'b', 'a', 'd', 'e',
    ])
  })

  it('makes {} one argument per input source, as GNU parallel\'s shell splits them', () => {
    expect(argv(['e', '{}'], ['a b', 'c'])).toEqual(['e', 'a b', 'c'])
    expect(argv(['e', 'x{}y', '{.}'], ['a.1', 'b.2'])).toEqual(['e', 'xa.1', 'b.2y', 'a', 'b'])
  })

  it('appends the values as arguments when there is no replacement string; {#} alone is one', () => {
    expect(argv(['echo', 'item:'], ['a b'])).toEqual(['echo', 'item:', 'a b'])
    expect(argv(['echo'], ['a', 'b'])).toEqual(['echo', 'a', 'b'])
    expect(argv(['echo', '{#}'], ['a'])).toEqual(['echo', '1'])
  })

  it('passes any other text in braces through unchanged', () => {
    const words = ['awk', '{print $1}', '${x#y}', '{ }', '{+/}', '{a}', '{1x}']
    expect(argv(words, ['v'])).toEqual([...words, 'v'])
    expect(argv(['echo', '{#}{', '{{}}'], ['v'])).toEqual(['echo', '1{', '{v}'])
  })

  it('never makes an item shell code without --shell: hostile items stay single arguments', () => {
    for (const item of ['$(touch PWNED)', '`touch PWNED`', 'a; rm -rf /', `it's "quoted"`, 'two\nlines', '-rf', '--help']) {
      expect(argv(['printf', '%s', '{}'], [item])).toEqual(['printf', '%s', item])
    }
  })

  it('quotes every value with --shell, and appends them quoted', () => {
    const shell = (words: string[], args: string[]) => expand(compileTemplate(words, { ...ARGV, sources: args.length, shell: true }), { seq: 1, args }, 1)
    expect(shell(['echo {} | tr a-z A-Z'], ["it's $(x)"])).toEqual({
      file: '/bin/sh',
      args: ['-c', "echo 'it'\\''s $(x)' | tr a-z A-Z"],
      text: "echo 'it'\\''s $(x)' | tr a-z A-Z",
    })
    expect(shell(['wc', '-l'], ['a b', 'c']).text).toBe("wc -l 'a b' c")
    expect(shell(['echo', '{}'], ['a b', '`c`']).text).toBe("echo 'a b' '`c`'")
  })

  it('prints commands as a shell reads them', () => {
    expect(expand(compileTemplate(['touch', '{}'], ARGV), { seq: 1, args: ['a b'] }, 1).text).toBe("touch 'a b'")
    expect(quote('')).toBe("''")
    expect(quote('plain-word_1.txt')).toBe('plain-word_1.txt')
    expect(quote("it's")).toBe("'it'\\''s'")
  })
})

describe('refused command lines', () => {
  it.each([
    [['sh', '-c', 'echo "[{}]"'], `{} in the script of 'sh -c' would make each item shell code; pass it as an argument: sh -c '… "$1"' _ {}`],
    [['bash', '-lc', 'echo {.}'], `{.} in the script of 'bash -lc' would make each item shell code; pass it as an argument: bash -lc '… "$1"' _ {.}`],
    [['/bin/zsh', '-e', '-c', 'x {1}'], `{1} in the script of '/bin/zsh -e -c' would make each item shell code; pass it as an argument: /bin/zsh -e -c '… "$1"' _ {1}`],
    [['env', 'dash', '-xec', '{}'], `{} in the script of 'dash -xec' would make each item shell code; pass it as an argument: dash -xec '… "$1"' _ {}`],
    [['nice', 'bash', '-o', 'pipefail', '-c', 'a {#}'], `{#} in the script of 'bash -o pipefail -c' would make each item shell code; pass it as an argument: bash -o pipefail -c '… "$1"' _ {#}`],
    [['sudo', 'sh', '-c', '--', 'rm {}'], `{} in the script of 'sh -c --' would make each item shell code; pass it as an argument: sh -c -- '… "$1"' _ {}`],
    [['echo', '{=$_++=}'], "GNU parallel's perl replacement strings ({=$_++=}) are not supported"],
    [['echo', '{2}'], '{2} names input source 2, but there is 1 input source (they count from 1, or from -1 at the end)'],
    [['echo', '{0}'], '{0} names input source 0, but there is 1 input source (they count from 1, or from -1 at the end)'],
    [['echo', '{-2/}'], '{-2/} names input source -2, but there is 1 input source (they count from 1, or from -1 at the end)'],
    [['echo', '{}', '|', 'wc'], "'|' would be a plain argument: no shell runs the command (GNU parallel uses one); use --shell with the command line in one word, or -q if '|' is meant as text"],
    [['echo', '{}', '>', 'out'], "'>' would be a plain argument: no shell runs the command (GNU parallel uses one); use --shell with the command line in one word, or -q if '>' is meant as text"],
    [['echo {} | wc'], 'the command name "echo {} | wc" has spaces: no shell splits it (GNU parallel uses one); give the words separately, or use --shell'],
  ])('without --shell: %j', (words, message) => {
    expect(() => compileTemplate(words, ARGV)).toThrow(new UsageError(message))
  })

  it('accepts the safe forms: the item as an argument of the script, or -q for literal shell syntax', () => {
    expect(argv(['sh', '-c', 'echo "[$1]"', '_', '{}'], ['$(x)'])).toEqual(['sh', '-c', 'echo "[$1]"', '_', '$(x)'])
    expect(argv(['bash', '--norc', '-c', 'echo "$1"', 'bash', '{}'], ['y'])).toEqual(['bash', '--norc', '-c', 'echo "$1"', 'bash', 'y'])
    expect(argv(['sh', 'script-{}.sh'], ['a'])).toEqual(['sh', 'script-a.sh'])
    expect(argv(['echo', '|', '{}'], ['a'], { quote: true })).toEqual(['echo', '|', 'a'])
  })

  it.each([
    [["echo '{}'"], "{} is inside single quotes in the --shell command: --shell quotes each replacement itself, so write {} bare"],
    [['echo "[{}]"'], '{} is inside double quotes in the --shell command: --shell quotes each replacement itself, so write {} bare'],
    [["sh -c 'echo {.}'"], "{.} is inside single quotes in the --shell command: --shell quotes each replacement itself, so write {.} bare"],
    [['echo', '"a', '{}"'], '{} is inside double quotes in the --shell command: --shell quotes each replacement itself, so write {} bare'],
  ])('with --shell: %j', (words, message) => {
    expect(() => compileTemplate(words, { ...ARGV, shell: true })).toThrow(new UsageError(message))
  })

  it('with --shell, accepts replacement strings outside quotes, after escaped or closed ones', () => {
    for (const script of ["echo \\'{}", "echo 'a' {} \"b\"", 'echo "it\\"s" {}', 'echo $(basename {})']) {
      expect(() => compileTemplate([script], { ...ARGV, shell: true }), script).not.toThrow()
    }
  })
})
