import { describe, expect, it } from 'vitest'
import { describeHalt, haltStatus, haltsNow, parseHalt, type HaltPolicy } from '../../src/cli/halt.js'
import { BROKEN_PIPE_STATUS, exitStatus, type RunFacts } from '../../src/cli/status.js'

const policy = (text: string): HaltPolicy => parseHalt(text)!

describe('parseHalt', () => {
  it('reads the long forms and GNU parallel\'s short ones', () => {
    expect(parseHalt('now,fail=1')).toEqual({ when: 'now', why: 'fail', count: 1, percent: undefined })
    expect(parseHalt('soon,success=20%')).toEqual({ when: 'soon', why: 'success', count: undefined, percent: 20 })
    expect(parseHalt('now,done=3')).toEqual({ when: 'now', why: 'done', count: 3, percent: undefined })
    expect(parseHalt('1')).toEqual(parseHalt('soon,fail=1'))
    expect(parseHalt('2')).toEqual(parseHalt('now,fail=1'))
    expect(parseHalt('-1')).toEqual(parseHalt('soon,success=1'))
    expect(parseHalt('-2')).toEqual(parseHalt('now,success=1'))
    expect(parseHalt('30%')).toEqual(parseHalt('soon,fail=30%'))
    expect(parseHalt('never')).toBeUndefined()
    expect(parseHalt('0')).toBeUndefined()
    expect(describeHalt(policy('30%'))).toBe('soon,fail=30%')
  })

  it.each(['', 'now', 'now,fail', 'later,fail=1', 'now,fail=0', 'now,fail=0%', 'now,fail=101%', 'now,fail=1.5', 'now,crash=1', '3'])(
    'refuses %j',
    (text) => {
      expect(() => parseHalt(text)).toThrow('never, now or soon with fail, success or done')
    },
  )
})

describe('haltsNow', () => {
  it('counts only the jobs the policy is about: a success never triggers fail=N', () => {
    expect(haltsNow(policy('now,fail=2'), { succeeded: 5, failed: 1 }, true, undefined)).toBe(false)
    expect(haltsNow(policy('now,fail=2'), { succeeded: 5, failed: 2 }, false, undefined)).toBe(false)
    expect(haltsNow(policy('now,fail=2'), { succeeded: 0, failed: 2 }, true, undefined)).toBe(true)
    expect(haltsNow(policy('soon,success=1'), { succeeded: 1, failed: 3 }, false, undefined)).toBe(true)
    expect(haltsNow(policy('soon,success=1'), { succeeded: 1, failed: 3 }, true, undefined)).toBe(false)
    expect(haltsNow(policy('now,done=3'), { succeeded: 2, failed: 1 }, true, undefined)).toBe(true)
    expect(haltsNow(policy('now,done=3'), { succeeded: 1, failed: 1 }, false, undefined)).toBe(false)
  })

  it('takes a percentage of all jobs, as GNU parallel does: 30% of 10 is 3', () => {
    expect(haltsNow(policy('soon,fail=30%'), { succeeded: 5, failed: 2 }, true, 10)).toBe(false)
    expect(haltsNow(policy('soon,fail=30%'), { succeeded: 5, failed: 3 }, true, 10)).toBe(true)
    expect(haltsNow(policy('soon,fail=10%'), { succeeded: 0, failed: 1 }, true, 3)).toBe(true)
  })
})

describe('haltStatus', () => {
  it('is GNU parallel\'s: 0 for success, the job\'s status for fail=1, a percentage, or the failures', () => {
    expect(haltStatus(policy('now,success=2'), { succeeded: 2, failed: 7 }, 0, undefined)).toBe(0)
    expect(haltStatus(policy('now,fail=1'), { succeeded: 2, failed: 1 }, 3, undefined)).toBe(3)
    expect(haltStatus(policy('now,done=1'), { succeeded: 1, failed: 0 }, 0, undefined)).toBe(0)
    expect(haltStatus(policy('soon,fail=30%'), { succeeded: 3, failed: 3 }, 5, 10)).toBe(30)
    expect(haltStatus(policy('soon,fail=2%'), { succeeded: 3, failed: 1 }, 5, 3)).toBe(34)
    expect(haltStatus(policy('now,fail=2'), { succeeded: 3, failed: 2 }, 5, undefined)).toBe(2)
    expect(haltStatus(policy('now,fail=200'), { succeeded: 3, failed: 200 }, 5, undefined)).toBe(101)
  })
})

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
