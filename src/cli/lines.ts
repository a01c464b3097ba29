import { createReadStream } from 'node:fs'
import { StringDecoder } from 'node:string_decoder'

/**
 * The lines of a byte stream, read lazily: a chunk is read only when the lines before it have been
 * taken, so an endless input is never loaded whole. A final line without a newline counts; a
 * trailing `\r` (CRLF files) is removed; empty lines are items too, as in GNU parallel.
 */
export async function* lines(stream: AsyncIterable<Buffer | string>): AsyncGenerator<string, void, undefined> {
  const decoder = new StringDecoder('utf8')
  let partial = ''
  for await (const chunk of stream) {
    const text = typeof chunk === 'string' ? chunk : decoder.write(chunk)
    let start = 0
    for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
      const line = partial + text.slice(start, end)
      partial = ''
      start = end + 1
      yield line.endsWith('\r') ? line.slice(0, -1) : line
    }
    partial += text.slice(start)
  }
  partial += decoder.end()
  if (partial !== '') yield partial.endsWith('\r') ? partial.slice(0, -1) : partial
}

/** How many items {@link lines} will find in a file, counted by streaming it: for a progress total. */
export async function countLines(path: string): Promise<number> {
  let count = 0
  let last = 0x0a
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    for (let i = chunk.indexOf(0x0a); i !== -1; i = chunk.indexOf(0x0a, i + 1)) count++
    if (chunk.length > 0) last = chunk[chunk.length - 1]!
  }
  return last === 0x0a ? count : count + 1
}
