/**
 * Just enough CSV for the examples (RFC 4180: quoted fields, doubled quotes, line breaks inside
 * quotes), in the spirit of `Import-Csv` / `Export-Csv`: rows are objects keyed by the header.
 */

function quote(value: unknown): string {
  const text = value === undefined || value === null ? '' : String(value)
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}

/** Renders rows as CSV text with a header line; `columns` defaults to the first row's keys. */
export function toCsv(rows: readonly Record<string, unknown>[], columns = Object.keys(rows[0] ?? {})): string {
  const lines = [columns.map(quote).join(',')]
  for (const row of rows) lines.push(columns.map((column) => quote(row[column])).join(','))
  return `${lines.join('\n')}\n`
}

/** Parses CSV text whose first line is the header into one object per row. */
export function parseCsv(text: string): Record<string, string>[] {
  const records: string[][] = []
  let record: string[] = []
  let field = ''
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') field += text[++i]
      else if (char === '"') quoted = false
      else field += char
    } else if (char === '"') {
      quoted = true
    } else if (char === ',') {
      record.push(field)
      field = ''
    } else if (char === '\n' || char === '\r') {
      if (char === '\r' && text[i + 1] === '\n') i++
      record.push(field)
      records.push(record)
      record = []
      field = ''
    } else {
      field += char
    }
  }
  if (field !== '' || record.length > 0) records.push([...record, field])
  const [header = [], ...rows] = records
  return rows.map((values) => Object.fromEntries(header.map((name, i) => [name, values[i] ?? ''])))
}
