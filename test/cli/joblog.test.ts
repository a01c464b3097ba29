import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { JOBLOG_HEADER, joblogLine, openJoblog, readJoblog, type JoblogEntry } from '../../src/cli/joblog.js'

const dir = mkdtempSync(join(tmpdir(), 'foreach-parallel-joblog-'))
afterAll(() => rmSync(dir, { recursive: true }))

const entry = (seq: number, exitval: number, signal = 0): JoblogEntry => ({
  seq,
  startedAt: 1_700_000_000_123.4,
  runtime: 1234.5678,
  received: 42,
  exitval,
  signal,
  command: `echo ${seq}`,
})

describe('joblog', () => {
  it('writes GNU parallel\'s tab-separated lines: seconds with 3 decimals, the runtime padded to 10', () => {
    expect(JOBLOG_HEADER).toBe('Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n')
    expect(joblogLine(entry(3, 1))).toBe('3\t:\t1700000000.123\t     1.235\t0\t42\t1\t0\techo 3\n')
    expect(joblogLine({ ...entry(1, -1, 15), command: "printf 'a\nb'" })).toBe("1\t:\t1700000000.123\t     1.235\t0\t42\t-1\t15\tprintf 'a\0b'\n")
  })

  it('creates the file with its header, or appends without one', () => {
    const file = join(dir, 'new.tsv')
    const log = openJoblog(file, false)
    log.write(entry(1, 0))
    log.close()
    const more = openJoblog(file, true)
    more.write(entry(2, 0))
    more.close()
    expect(readFileSync(file, 'utf8')).toBe(JOBLOG_HEADER + joblogLine(entry(1, 0)) + joblogLine(entry(2, 0)))
  })

  it('reads back the jobs to skip: all of them for --resume, the succeeded ones for --resume-failed', () => {
    const file = join(dir, 'old.tsv')
    writeFileSync(file, JOBLOG_HEADER + [entry(1, 0), entry(2, 3), entry(4, -1, 15), entry(5, 0, 9), entry(6, 0)].map(joblogLine).join(''))
    expect(readJoblog(file, 'logged')).toEqual({ skip: new Set([1, 2, 4, 5, 6]), hasHeader: true })
    expect(readJoblog(file, 'succeeded')).toEqual({ skip: new Set([1, 6]), hasHeader: true })
  })

  it('reads a missing file as an empty log, and refuses a file that is not a joblog', () => {
    expect(readJoblog(join(dir, 'missing.tsv'), 'logged')).toEqual({ skip: new Set(), hasHeader: false })
    const empty = join(dir, 'empty.tsv')
    writeFileSync(empty, '')
    expect(readJoblog(empty, 'logged')).toEqual({ skip: new Set(), hasHeader: false })
    const bad = join(dir, 'bad.tsv')
    writeFileSync(bad, `${JOBLOG_HEADER}hello world\n`)
    expect(() => readJoblog(bad, 'logged')).toThrow(`${bad} is not a joblog: "hello world"`)
    expect(() => readJoblog(dir, 'logged')).toThrow('EISDIR')
  })
})
