/**
 * What crosses Redis between a driving run and the servers of a queue: job ids, job data, the
 * outcome a server returns for a job, and the messages that cancel jobs. Both sides import it, so
 * the format lives in one place.
 */
import { describe } from '../errors.js'
import { fromRecord, toRecord } from '../workers/cloned-error.js'

/** BullMQ's default key prefix: keys are `bull:<queue>:…`. */
const PREFIX = 'bull'

/** A queue name as BullMQ takes it: a non-empty string without `:`. */
export function checkQueue(queue: unknown): string {
  if (typeof queue !== 'string' || queue === '' || queue.includes(':')) {
    throw new TypeError(`Expected queue to be a non-empty string without ':', got ${describe(queue)}`)
  }
  return queue
}

/** The name every job of a run carries; BullMQ wants one, nothing reads it. */
export const JOB_NAME = 'item'

/** A job's data: its place in the run and its item, serialized by the driver (absent for `undefined`). */
export interface JobData {
  /** The item's index in the source. */
  readonly i: number
  /** The attempt, from 1. */
  readonly a: number
  /** The item as JSON. */
  readonly x?: string
  /** Present when the driving run has `onReport`: only then do reports travel. */
  readonly r?: 1
}

/** `<run>.<index>.<attempt>`: unique per attempt, never an integer, never a `:` (BullMQ refuses both). */
export function jobId(run: string, index: number, attempt: number): string {
  return `${run}.${index}.${attempt}`
}

/** The run a job id belongs to. */
export function runOf(id: string): string {
  return id.slice(0, id.indexOf('.'))
}

/**
 * The key that says a run is alive: set when it starts, kept alive by its heartbeat, deleted when
 * it ends. A server runs a job only while its run's key exists, so that a job moved back to the
 * queue after its worker died is never run again for a run that has ended.
 */
export function runKey(queue: string, run: string): string {
  return `${PREFIX}:${queue}:run:${run}`
}

/** The stream BullMQ writes a queue's events to. */
export function eventsKey(queue: string): string {
  return `${PREFIX}:${queue}:events`
}

/** The pub/sub channel on which drivers ask servers to abort running jobs. */
export function cancelChannel(queue: string): string {
  return `${PREFIX}:${queue}:foreach-parallel:cancel`
}

/** One job to abort, as a cancel message lists it: its id and its abort reason's name and message. */
export type CancelOrder = readonly [id: string, name: string, message: string]

/** The cancel order for job `id`, aborted for `reason`. */
export function cancelOrder(id: string, reason: unknown): CancelOrder {
  return reason instanceof Error || reason instanceof DOMException
    ? [id, reason.name, reason.message]
    : [id, 'AbortError', String(reason)]
}

/** The reason a server aborts a job's signal with: a `DOMException` with the driver's name and message. */
export function cancelReason([, name, message]: CancelOrder): DOMException {
  return new DOMException(message, name)
}

/** `value` as JSON, or a `TypeError` that says what `what` is and why it cannot be serialized. */
function toJson(value: unknown, what: string): string | undefined {
  if (typeof value === 'function' || typeof value === 'symbol') {
    throw new TypeError(`${what} is not JSON-serializable: got ${describe(value)}`)
  }
  try {
    return JSON.stringify(value)
  } catch (error) {
    throw new TypeError(`${what} is not JSON-serializable: ${(error as Error).message}`, { cause: error })
  }
}

/** The data of the job for `item`; a `TypeError` naming its index when the item cannot cross as JSON. */
export function encodeItem(item: unknown, index: number, attempt: number, reporting: boolean): JobData {
  const x = toJson(item, `Item ${index}`)
  const data: { i: number; a: number; x?: string; r?: 1 } = { i: index, a: attempt }
  if (x !== undefined) data.x = x
  if (reporting) data.r = 1
  return data
}

/** The item of a job. */
export function decodeItem(data: JobData): unknown {
  return data.x === undefined ? undefined : JSON.parse(data.x)
}

/**
 * A `report(value)` of a running job as JSON, the job's progress; a value that cannot cross is a
 * `TypeError` naming the item.
 */
export function encodeReport(value: unknown, index: number): string {
  return toJson(value, `The report of item ${index}`) ?? ''
}

/** The value a job reported (`''` stands for `undefined`). */
export function decodeReport(data: string): unknown {
  return data === '' ? undefined : JSON.parse(data)
}

/**
 * What a server returns for a job, as a JSON string: `{"v":…}` for a result, `{"e":…}` for an
 * error, `{"c":1}` when the job was cancelled before it started, `{"d":1}` when its run had
 * ended. BullMQ records any return as completed: errors travel as values, with the fields that
 * a plain `failedReason` string would lose.
 */
export type Outcome = string

export const CANCELLED: Outcome = '{"c":1}'
export const DISCARDED: Outcome = '{"d":1}'

/** The outcome for a result; a result that cannot cross as JSON is the item's `TypeError`. */
export function encodeResult(value: unknown, index: number): Outcome {
  try {
    const json = toJson(value, `The result of item ${index}`)
    return json === undefined ? '{}' : `{"v":${json}}`
  } catch (error) {
    return encodeError(error, index)
  }
}

function bigintToString(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? `${value}n` : value
}

/** The outcome for an error: its name, message, stack, `code` and other primitive fields, and cause. */
export function encodeError(error: unknown, index: number): Outcome {
  const record = toRecord(error)
  // JSON would drop these, and the error would arrive as a result.
  const e = record === undefined ? null : typeof record === 'symbol' || typeof record === 'function' ? String(record) : record
  try {
    return JSON.stringify({ e }, bigintToString)
  } catch (cause) {
    const message = `The error thrown for item ${index} is not JSON-serializable: ${(cause as Error).message}`
    return JSON.stringify({ e: toRecord(new TypeError(message)) })
  }
}

/** A decoded outcome: `{ value }`, `{ error }`, or what ended the job without running it. */
export type Decoded = { readonly value: unknown } | { readonly error: unknown }

/** The result or error an outcome stands for. */
export function decodeOutcome(outcome: Outcome, id: string): Decoded {
  const parsed = JSON.parse(outcome) as { v?: unknown; e?: unknown; c?: 1; d?: 1 }
  if ('e' in parsed) return { error: fromRecord(parsed.e) }
  if (parsed.d === 1) return { error: new Error(`Job ${id} was discarded by its server: its run was no longer alive`) }
  if (parsed.c === 1) return { error: new Error(`Job ${id} was cancelled before it started`) }
  return { value: parsed.v }
}
