import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { Launcher, type OutputSink } from '../../src/cli/command.js'
import { processesMatching, useScratch, waitFor } from './helpers.js'

const scratch = useScratch()
const launcher = new Launcher()
afterAll(() => launcher.close())

function collect(): OutputSink & { out: string; err: string; chunks: string[] } {
  const sink = {
    out: '',
    err: '',
    chunks: [] as string[],
    stdout: (chunk: Buffer) => {
      sink.out += chunk.toString()
      sink.chunks.push(chunk.toString())
    },
    stderr: (chunk: Buffer) => void (sink.err += chunk.toString()),
  }
  return sink
}

const sh = (script: string, ...args: string[]) => ({ file: 'sh', args: ['-c', script, 'sh', ...args], text: script })
const never = new AbortController().signal

describe('Launcher', () => {
  it('runs commands from their words, hands on their output and exit status', async () => {
    const output = collect()
    const outcome = await launcher.run(sh('printf "%s|" "$@"; echo; echo err >&2; exit 3', "it's", 'a\nb', '$(x)', ''), 1, {
      signals: [never],
      output,
    })
    expect(output).toMatchObject({ out: "it's|a\nb|$(x)||\n", err: 'err\n' })
    expect(outcome).toMatchObject({ exitCode: 3, signal: null, error: 'exit code 3', failure: 'exit', received: 16 })
  })

  it('runs several at once, each in its slot', async () => {
    const outputs = [collect(), collect(), collect()]
    const outcomes = await Promise.all(outputs.map((output, i) => launcher.run(sh(`sleep 0.1; echo ${i}`), i + 1, { signals: [], output })))
    expect(outputs.map((output) => output.out)).toEqual(['0\n', '1\n', '2\n'])
    expect(outcomes.map((outcome) => outcome.failure)).toEqual([undefined, undefined, undefined])
  })

  it('gives the shell\'s status to a command that cannot start', async () => {
    const output = collect()
    const outcome = await launcher.run({ file: 'no-such-command-here', args: [], text: '' }, 1, { signals: [], output })
    expect(outcome).toMatchObject({ exitCode: 127, failure: 'exit' })
    expect(output.err).toContain('no-such-command-here: not found')
    const nul = await launcher.run({ file: 'echo', args: ['a\0b'], text: '' }, 1, { signals: [], output })
    expect(nul).toMatchObject({ exitCode: 127, error: 'an argument holds a NUL byte' })
  })

  it('stops the command and everything it started when a signal aborts, the reason as the error', async () => {
    const stop = new AbortController()
    const marker = `sleep 30.5${process.pid}`
    const running = launcher.run(sh(`${marker} | cat`), 1, { signals: [never, stop.signal], output: collect() })
    await waitFor(() => processesMatching(marker).length === 1)
    stop.abort(new Error('stopped by test'))
    expect(await running).toMatchObject({ exitCode: null, signal: 'SIGTERM', error: 'stopped by test', failure: 'stop' })
    expect(processesMatching(marker)).toEqual([])
  })

  it('counts a command that exited 0 as succeeded even when a stop comes as it ends', async () => {
    const work = scratch()
    const stop = new AbortController()
    const running = launcher.run(sh(`echo $$ > ${work}/pid`), 1, { signals: [stop.signal], output: collect() })
    await waitFor(() => existsSync(join(work, 'pid')) && readFileSync(join(work, 'pid'), 'utf8').endsWith('\n'))
    const pid = readFileSync(join(work, 'pid'), 'utf8').trim()
    await waitFor(() => !existsSync(`/proc/${pid}`))
    stop.abort(new Error('stopped by test'))
    expect(await running).toMatchObject({ exitCode: 0, signal: null, error: undefined, failure: undefined })
  })

  it('survives a command that signals its whole process group: only the commands it hits fail', async () => {
    const marker = `sleep 30.8${process.pid}`
    const hit = launcher.run(sh(marker), 1, { signals: [], output: collect() })
    await waitFor(() => processesMatching(marker).length === 1)
    const output = collect()
    const killer = await launcher.run(sh('trap "" TERM; kill 0; echo survived'), 2, { signals: [], output })
    expect(killer).toMatchObject({ exitCode: 0, failure: undefined })
    expect(output.out).toBe('survived\n')
    expect(await hit).toMatchObject({ exitCode: 143, failure: 'exit' })
    const after = await launcher.run(sh('echo after'), 1, { signals: [], output: collect() })
    expect(after).toMatchObject({ exitCode: 0, failure: undefined })
  })

  it('stops a command at its timeout', async () => {
    const outcome = await launcher.run(sh('sleep 30'), 1, { signals: [], timeout: 50, output: collect() })
    expect(outcome).toMatchObject({ exitCode: null, signal: 'SIGTERM', error: 'timed out after 0.05 s', failure: 'timeout' })
  })

  it('hands on the output as it comes when live', async () => {
    const work = scratch()
    const output = collect()
    const running = launcher.run(sh(`echo first; while [ ! -e ${work}/go ]; do sleep 0.02; done; echo second`), 1, {
      signals: [],
      output,
      live: true,
    })
    await waitFor(() => output.out === 'first\n')
    writeFileSync(join(work, 'go'), '')
    expect(await running).toMatchObject({ exitCode: 0, received: 13 })
    expect(output.chunks).toEqual(['first\n', 'second\n'])
  })
})
