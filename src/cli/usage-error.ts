/** A bad option, value or command: the command exits with status 255 and this one-line message. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}
