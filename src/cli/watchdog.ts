import { spawn, type ChildProcess } from 'node:child_process'

/**
 * The watchdog's script: it keeps the list of process groups it is told about (`+pid`, `-pid`, a
 * line each) and, when its standard input ends — this process exited or was killed, even with
 * SIGKILL, and the kernel closed the pipe — sends SIGTERM to the groups still listed, SIGKILL half
 * a second later, and removes the directory it was given. It ignores the signals a terminal or a
 * group kill would send it.
 */
const SCRIPT = `trap '' INT TERM HUP QUIT PIPE
g=' '
while IFS= read -r l; do
  case $l in
    +*) g="$g\${l#+} " ;;
    -*) p=\${l#-}; case $g in *" $p "*) g="\${g%% $p *} \${g#* $p }" ;; esac ;;
  esac
done
[ "$g" = ' ' ] && exit 0
for p in $g; do kill -s TERM -- "-$p" 2>/dev/null; done
sleep 0.5
for p in $g; do kill -s KILL -- "-$p" 2>/dev/null; done
[ -z "$1" ] || rm -rf -- "$1"
`

/**
 * Makes sure no command outlives the run, even when this process is killed with SIGKILL and has
 * no chance to stop them: a small `/bin/sh` process, in a session of its own, that holds a pipe
 * from this process and kills the process groups still watched when the pipe closes, then removes
 * `directory` (the run's temporary files). Needs no native code; works wherever `/bin/sh` and
 * process groups do (Linux, macOS).
 */
export class Watchdog {
  readonly #process: ChildProcess

  constructor(directory = '') {
    this.#process = spawn('/bin/sh', ['-c', SCRIPT, 'foreach-parallel-watchdog', directory], {
      stdio: ['pipe', 'ignore', 'ignore'],
      detached: true,
    })
    this.#process.unref()
    // The watchdog may be gone (killed by hand): the commands then run unguarded, nothing else changes.
    this.#process.on('error', () => {})
    this.#process.stdin!.on('error', () => {})
  }

  /** Guards the process group `pid`. */
  watch(pid: number): void {
    this.#process.stdin!.write(`+${pid}\n`)
  }

  /** Stops guarding the process group `pid`: its leader has exited. */
  unwatch(pid: number): void {
    this.#process.stdin!.write(`-${pid}\n`)
  }

  /** Lets the watchdog exit: every command has ended. */
  close(): void {
    this.#process.stdin!.end()
  }
}
