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
