/**
 * What to do with the per-item records of `parallelMapSettled` (the seed's "Advanced Example with
 * Error Handling and Results", where every iteration returns `@{ Server; Status; Error; … }`):
 * look at them, group them by outcome, run the failed ones again with `retry`, and print a summary.
 *
 * Run: `node --import tsx examples/settled-report.ts`
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { pathToFileURL } from 'node:url'
import { collect, parallelMapSettled, pipe, TimeoutError, type Settled } from '../src/index.js'
import { parseExampleArgs, runExample } from './args.js'
import { formatTable } from './table.js'

const USAGE = `Usage: node --import tsx examples/settled-report.ts
  installs on 12 simulated servers, retries the failures that can succeed, prints a summary`

/** A failure that no retry will fix. */
class AccessDeniedError extends Error {
  override readonly name = 'AccessDeniedError'
}

/**
 * A stand-in for `Invoke-Command -ComputerName $server { Install-Software … }`. Server03 and
 * Server08 drop the connection the first one and two times they are called, Server05 refuses
 * access, Server10 never answers; the others install in 50–150 ms.
 */
function installer() {
  const calls = new Map<string, number>()
  const flaky = new Map([
    ['Server03', 1],
    ['Server08', 2],
  ])
  return async (server: string, { signal }: { signal: AbortSignal }): Promise<string> => {
    const call = (calls.get(server) ?? 0) + 1
    calls.set(server, call)
    if (server === 'Server10') await sleep(60_000, undefined, { signal })
    await sleep(50 + ((server.charCodeAt(7) * 37) % 100), undefined, { signal })
    if (server === 'Server05') throw new AccessDeniedError('Access is denied')
    if (call <= (flaky.get(server) ?? 0)) throw new Error('Connection reset by peer')
    return `Installed ExampleApp on ${server}`
  }
}

type InstallRecord = Settled<string, string>

function describe(record: InstallRecord): string {
  if (record.status === 'fulfilled') return record.value
  const reason = record.reason as Error
  return `${reason.name}: ${reason.message}`
}

/** The seed's `Status` column: Success, TimedOut or Failed. */
function status(record: InstallRecord): string {
  if (record.status === 'fulfilled') return 'Success'
  return record.reason instanceof TimeoutError ? 'TimedOut' : 'Failed'
}

function table(records: readonly InstallRecord[]): string {
  return formatTable(
    records.map((record) => ({
      Server: record.item,
      Status: status(record),
      Attempts: record.attempts,
      'Duration (ms)': Math.round(record.duration),
      Result: describe(record),
    })),
  )
}

/**
 * Runs the install on 12 servers, retries what can be retried, and returns the final records;
 * `signal` stops it (Ctrl+C).
 */
export async function main(log: (line: string) => void = console.log, signal?: AbortSignal): Promise<InstallRecord[]> {
  const install = installer()
  const servers = Array.from({ length: 12 }, (_, i) => `Server${String(i + 1).padStart(2, '0')}`)

  // 1. Every item gives one record; nothing throws for an item's failure.
  const first = await pipe(servers, parallelMapSettled(install, { concurrency: 4, timeout: 500, signal }), collect)
  log('First pass, one record per server (in input order):')
  log(table(first))

  // 2. Group the records: by status, then the failures by the kind of error.
  const failed = first.filter((record) => record.status === 'rejected')
  const byError = new Map<string, string[]>()
  for (const record of failed) {
    const name = (record.reason as Error).name
    byError.set(name, [...(byError.get(name) ?? []), record.item])
  }
  log(`\n${first.length - failed.length} succeeded, ${failed.length} failed:`)
  for (const [name, items] of byError) log(`  ${name}: ${items.join(', ')}`)

  // 3. Run the failed ones again, with retries and backoff this time, except what cannot succeed.
  const retryable = failed.filter((record) => !(record.reason instanceof AccessDeniedError)).map((record) => record.item)
  log(`\nRetrying ${retryable.join(', ')} (up to 3 attempts each):`)
  const second = await pipe(
    retryable,
    parallelMapSettled(install, { concurrency: 4, timeout: 500, retry: { retries: 2, minDelay: 50 }, signal }),
    collect,
  )
  log(table(second))

  // 4. The final state: the latest record of every server.
  const latest = new Map(first.map((record) => [record.item, record]))
  for (const record of second) latest.set(record.item, record)
  const final = [...latest.values()]
  const counts = new Map<string, number>()
  for (const record of final) counts.set(status(record), (counts.get(status(record)) ?? 0) + 1)
  log('\nSummary:')
  log(formatTable([...counts].map(([Status, Servers]) => ({ Status, Servers }))))
  log(`Still failing: ${final.filter((record) => record.status === 'rejected').map((record) => record.item).join(', ')}`)
  return final
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  parseExampleArgs(USAGE, {})
  await runExample('settled-report', (signal) => main(console.log, signal))
}
