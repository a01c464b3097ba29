/** Formats rows as an aligned text table, like PowerShell's `Format-Table -AutoSize`. */
export function formatTable(rows: readonly object[], columns = Object.keys(rows[0] ?? {})): string {
  const cells = rows.map((row) => columns.map((column) => String((row as Record<string, unknown>)[column] ?? '')))
  const widths = columns.map((column, i) => Math.max(column.length, ...cells.map((line) => line[i]!.length)))
  const render = (line: readonly string[]): string => line.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()
  return [render(columns), render(widths.map((width) => '-'.repeat(width))), ...cells.map(render)].join('\n')
}
