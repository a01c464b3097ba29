/**
 * Errors that keep their fields across threads. A structured clone of an `Error` keeps its built-in
 * class, `message` and `stack` only: an fs error loses its `code`, a custom subclass its `name`. A
 * worker throws a record of the error instead, which the main thread turns back into an error.
 */

const MARK = 'foreach-parallel/workers:error'

type Primitive = string | number | boolean | bigint | null | undefined

/** An error as it crosses from a worker thread: what structured cloning would lose, kept as data. */
export interface ErrorRecord {
  readonly [MARK]: true
  /** The nearest built-in class in the error's prototype chain. */
  readonly type: string
  readonly name: string
  readonly message: string
  readonly stack: string | undefined
  /** The error's own enumerable fields that are primitives (`code`, `errno`, `path`, …). */
  readonly fields: Record<string, Primitive>
  readonly cause?: unknown
}

const builtins: Record<string, new (message: string) => Error> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
}

function builtinType(error: Error): string {
  for (let proto: object | null = Object.getPrototypeOf(error) as object | null; proto !== null; proto = Object.getPrototypeOf(proto) as object | null) {
    const name = (proto as { constructor?: { name?: string } }).constructor?.name
    if (name !== undefined && builtins[name]?.prototype === proto) return name
  }
  return 'Error'
}

/**
 * A cloneable record of `error` and its chain of causes (a cycle in it is cut), or `error` itself
 * when it is not an `Error`.
 */
export function toRecord(error: unknown, seen = new Set<unknown>()): unknown {
  if (!(error instanceof Error)) return error
  seen.add(error)
  const fields: Record<string, Primitive> = {}
  for (const [key, value] of Object.entries(error)) {
    if (value === null || (typeof value !== 'object' && typeof value !== 'function' && typeof value !== 'symbol')) {
      fields[key] = value as Primitive
    }
  }
  const record: ErrorRecord = {
    [MARK]: true,
    type: builtinType(error),
    name: error.name,
    message: error.message,
    stack: error.stack,
    fields,
  }
  if (!('cause' in error) || seen.has(error.cause)) return record
  return { ...record, cause: toRecord(error.cause, seen) }
}

/** The error a record stands for; any other value as it is. */
export function fromRecord(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || !(MARK in value)) return value
  const record = value as ErrorRecord
  const error = new builtins[record.type]!(record.message)
  if (error.name !== record.name) Object.defineProperty(error, 'name', { value: record.name, configurable: true, writable: true })
  Object.defineProperty(error, 'stack', { value: record.stack, configurable: true, writable: true })
  if ('cause' in record) Object.defineProperty(error, 'cause', { value: fromRecord(record.cause), configurable: true, writable: true })
  return Object.assign(error, record.fields)
}
