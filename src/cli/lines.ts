import { createReadStream } from 'node:fs'
import { StringDecoder } from 'node:string_decoder'

/**
 * The records of a byte stream, each ended by `separator` (a newline, or NUL for `-0`), read
 * lazily: a chunk is read only when the records before it have been taken, so an endless input is
 * never loaded whole. A final record without a separator counts; empty records are items too, and
 * a `\r` stays part of its line, as in GNU parallel.
 */
export async function* lines(stream: AsyncIterable<Buffer | string>, separator = '\n'): AsyncGenerator<string, void, undefined> {
  const decoder = new StringDecoder('utf8')
  let partial = ''
  for await (const chunk of stream) {
    const text = typeof chunk === 'string' ? chunk : decoder.write(chunk)
    let start = 0
    for (let end = text.indexOf(separator); end !== -1; end = text.indexOf(separator, start)) {
      const line = partial + text.slice(start, end)
      partial = ''
      start = end + 1
      yield line
    }
    partial += text.slice(start)
  }
  partial += decoder.end()
  if (partial !== '') yield partial
}

/** How many records {@link lines} will find in a file, counted by streaming it: for a progress total. */
export async function countLines(path: string, separator = '\n'): Promise<number> {
  const byte = separator.charCodeAt(0)
  let count = 0
  let last = byte
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    for (let i = chunk.indexOf(byte); i !== -1; i = chunk.indexOf(byte, i + 1)) count++
    if (chunk.length > 0) last = chunk[chunk.length - 1]!
  }
  return last === byte ? count : count + 1
}
