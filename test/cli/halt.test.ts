import { describe, expect, it } from 'vitest'
import { describeHalt, haltStatus, haltsNow, parseHalt, type HaltPolicy } from '../../src/cli/halt.js'

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
