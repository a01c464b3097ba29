import { constants } from 'node:os'
import type { HaltPolicy } from './halt.js'

/** The signals that stop a run: Ctrl+C, `kill`, a closed terminal. */
export type StopSignal = 'SIGINT' | 'SIGTERM' | 'SIGHUP'

/** How a run ended, as far as its exit status is concerned. */
export type Ending =
  | { readonly kind: 'finished' }
  | { readonly kind: 'signal'; readonly signal: StopSignal }
  | { readonly kind: 'total-timeout' }
  /** Standard output or error could not be written; `code` is the system's (`EPIPE`, `ENOSPC`). */
  | { readonly kind: 'output-error'; readonly code: string | undefined }

/** What the exit status is computed from. */
export interface RunFacts {
  readonly ending: Ending
  /** Jobs that ran to their end and failed. */
  readonly failed: number
  /** Jobs the run stopped while they were running (a signal, `--total-timeout`, `--halt now`, an output error). */
  readonly stopped: number
  /** Jobs started. */
  readonly started: number
  /** The `--halt` policy, if any. */
  readonly halt: HaltPolicy | undefined
  /** The status fixed when `--halt` cut the run short (see `haltStatus`), if it did. */
  readonly haltStatus: number | undefined
}

/** Exit status when stdout or stderr was closed by its reader, as for a process killed by SIGPIPE. */
export const BROKEN_PIPE_STATUS = 128 + constants.signals.SIGPIPE

/**
 * The exit status of a run, GNU parallel's where it has one: 0 when every job succeeded; the number
 * of failed jobs, at most 101; with `--halt`, GNU parallel's (fixed when it halted, or the failed
 * percentage of the jobs started for a percentage policy that never triggered); with
 * `--total-timeout`, the failed and cut-short jobs, at least 1; 128 + the signal's number when a
 * signal stopped the run; 141 when the output's reader went away; 255 when output could not be
 * written.
 */
export function exitStatus(facts: RunFacts): number {
  const { ending, failed, stopped, started, halt } = facts
  if (ending.kind === 'signal') return 128 + constants.signals[ending.signal]
  if (ending.kind === 'output-error') return ending.code === 'EPIPE' ? BROKEN_PIPE_STATUS : 255
  if (facts.haltStatus !== undefined) return facts.haltStatus
  if (ending.kind === 'total-timeout') return Math.max(1, Math.min(failed + stopped, 101))
  if (halt?.percent !== undefined) return Math.ceil((100 * failed) / Math.max(1, started))
  return Math.min(failed + stopped, 101)
}
