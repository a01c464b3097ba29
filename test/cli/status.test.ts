import { describe, expect, it } from 'vitest'
import { parseHalt, type HaltPolicy } from '../../src/cli/halt.js'
import { BROKEN_PIPE_STATUS, exitStatus, type RunFacts } from '../../src/cli/status.js'

const policy = (text: string): HaltPolicy => parseHalt(text)!

describe('exitStatus', () => {
  const facts = (overrides: Partial<RunFacts>): RunFacts => ({
    ending: { kind: 'finished' },
    failed: 0,
    stopped: 0,
    started: 10,
    halt: undefined,
    haltStatus: undefined,
    ...overrides,
  })

  it('is 0 when all succeeded, the number of failures up to 100, then 101', () => {
    expect(exitStatus(facts({}))).toBe(0)
    expect(exitStatus(facts({ failed: 1 }))).toBe(1)
    expect(exitStatus(facts({ failed: 100 }))).toBe(100)
    expect(exitStatus(facts({ failed: 101 }))).toBe(101)
    expect(exitStatus(facts({ failed: 5000 }))).toBe(101)
  })

  it('is 128 + the signal\'s number after a stop by a signal, whatever else happened', () => {
    const halted = { halt: policy('now,fail=1'), haltStatus: 3 }
    expect(exitStatus(facts({ ending: { kind: 'signal', signal: 'SIGINT' }, failed: 3, ...halted }))).toBe(130)
    expect(exitStatus(facts({ ending: { kind: 'signal', signal: 'SIGTERM' } }))).toBe(143)
    expect(exitStatus(facts({ ending: { kind: 'signal', signal: 'SIGHUP' } }))).toBe(129)
  })

  it('is 141 when the output\'s reader went away, 255 when output could not be written', () => {
    expect(BROKEN_PIPE_STATUS).toBe(141)
    expect(exitStatus(facts({ ending: { kind: 'output-error', code: 'EPIPE' }, failed: 2 }))).toBe(141)
    expect(exitStatus(facts({ ending: { kind: 'output-error', code: 'ENOSPC' } }))).toBe(255)
  })

  it('counts the jobs cut short by --total-timeout as failed, and is never 0 then', () => {
    expect(exitStatus(facts({ ending: { kind: 'total-timeout' }, failed: 1, stopped: 2 }))).toBe(3)
    expect(exitStatus(facts({ ending: { kind: 'total-timeout' } }))).toBe(1)
    expect(exitStatus(facts({ ending: { kind: 'total-timeout' }, failed: 100, stopped: 100 }))).toBe(101)
  })

  it('is the status --halt fixed when it cut the run short', () => {
    expect(exitStatus(facts({ failed: 4, halt: policy('soon,fail=1'), haltStatus: 7 }))).toBe(7)
    expect(exitStatus(facts({ failed: 4, halt: policy('now,success=1'), haltStatus: 0 }))).toBe(0)
    expect(exitStatus(facts({ ending: { kind: 'total-timeout' }, halt: policy('now,fail=1'), haltStatus: 9 }))).toBe(9)
  })

  it('is the failed percentage of the jobs started when a percentage --halt never triggered', () => {
    expect(exitStatus(facts({ failed: 3, started: 10, halt: policy('now,fail=50%') }))).toBe(30)
    expect(exitStatus(facts({ failed: 1, started: 3, halt: policy('now,fail=50%') }))).toBe(34)
    expect(exitStatus(facts({ failed: 2, halt: policy('now,fail=5') }))).toBe(2)
  })
})
