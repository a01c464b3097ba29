import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { runCommand, type OutputSink } from '../../src/cli/command.js'
import { processesMatching, useScratch, waitFor } from './helpers.js'

const scratch = useScratch()

function collect(): OutputSink & { out: string; err: string } {
  const sink = {
    out: '',
    err: '',
    stdout: (chunk: Buffer) => void (sink.out += chunk.toString()),
    stderr: (chunk: Buffer) => void (sink.err += chunk.toString()),
  }
  return sink
}

const sh = (script: string) => ({ file: 'sh', args: ['-c', script], text: script })

describe('runCommand', () => {
  it('collects the output and the exit status', async () => {
    const output = collect()
    const outcome = await runCommand(sh('echo out; echo err >&2; exit 3'), { signals: [], output })
    expect(output).toMatchObject({ out: 'out\n', err: 'err\n' })
    expect(outcome).toMatchObject({ exitCode: 3, signal: null, error: 'exit code 3', failure: 'exit', received: 4 })
  })

  it('says when a command cannot start, with the shell\'s status', async () => {
    const outcome = await runCommand({ file: 'no-such-command-here', args: [], text: '' }, { signals: [], output: collect() })
    expect(outcome).toMatchObject({ exitCode: 127, error: 'command not found: no-such-command-here', failure: 'spawn' })
  })

  it('stops the whole process group when its signal aborts, with the reason as the error', async () => {
    const stop = new AbortController()
    const marker = `sleep 30.5${process.pid}`
    const running = runCommand(sh(`${marker} | cat`), { signals: [new AbortController().signal, stop.signal], output: collect() })
    await waitFor(() => processesMatching(marker).length === 1)
    stop.abort(new Error('stopped by test'))
    expect(await running).toMatchObject({ exitCode: null, signal: 'SIGTERM', error: 'stopped by test', failure: 'stop' })
    expect(processesMatching(marker)).toEqual([])
  })

  it('counts a command that exited 0 as succeeded even when the stop comes before its output closes', async () => {
    // The shell exits 0 at once; a child it left behind keeps the output pipe open, so Node has not
    // closed the command yet when the stop arrives: the stop must not turn the clean exit into a failure.
    const work = scratch()
    const stop = new AbortController()
    const running = runCommand(sh(`echo $$ > ${work}/pid; sleep 30 & exit 0`), { signals: [stop.signal], output: collect() })
    await waitFor(() => existsSync(join(work, 'pid')) && readFileSync(join(work, 'pid'), 'utf8').endsWith('\n'))
    const pid = readFileSync(join(work, 'pid'), 'utf8').trim()
    await waitFor(() => !existsSync(`/proc/${pid}`))
    stop.abort(new Error('stopped by test'))
    expect(await running).toMatchObject({ exitCode: 0, signal: null, error: undefined, failure: undefined })
  })

  it('stops a command at its timeout', async () => {
    const outcome = await runCommand(sh('sleep 30'), { signals: [], timeout: 50, output: collect() })
    expect(outcome).toMatchObject({ signal: 'SIGTERM', error: 'timed out after 0.05 s', failure: 'timeout' })
  })
})
