import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { describe, expect, it } from 'vitest'
import { Watchdog } from '../../src/cli/watchdog.js'
import { processesMatching, waitFor } from './helpers.js'

/** A process group of two sleeps, as a command's pipeline would be. */
function group(marker: string) {
  const child = spawn('sh', ['-c', `${marker} & ${marker}`], { stdio: 'ignore', detached: true })
  return { child, exited: once(child, 'exit') }
}

describe('Watchdog', () => {
  it('kills the process groups still watched when its pipe closes, as when this process dies', async () => {
    const watchdog = new Watchdog()
    const kept = `sleep 30.6${process.pid}`
    const left = `sleep 30.7${process.pid}`
    const a = group(kept)
    const b = group(left)
    watchdog.watch(a.child.pid!)
    watchdog.watch(b.child.pid!)
    watchdog.unwatch(b.child.pid!)
    await waitFor(() => processesMatching(kept).length === 2 && processesMatching(left).length === 2)
    watchdog.close()
    await a.exited
    await waitFor(() => processesMatching(kept).length === 0)
    expect(processesMatching(left)).toHaveLength(2)
    process.kill(-b.child.pid!, 'SIGKILL')
    await b.exited
  })
})
