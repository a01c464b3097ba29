/// <reference lib="esnext.disposable" preserve="true" />
// Declares Symbol.asyncDispose for consumers whose lib setting lacks it (Node 20 has it at run time).
import { Pool } from './pool.js'
import type { ThreadData } from './protocol.js'

/** Where a run's tasks go: a shared pool, or a pool of the run's own, with its threads' data. */
export type RunPool = { readonly shared: Pool } | { readonly threads: number; readonly data: ThreadData }

/**
 * One application of `workerMap` to a source. It passes the scheduler's iterator through, fails
 * the run when a thread of its pool fails outside a task, and ends a pool of the run's own before
 * the iteration's last answer, so that no thread is left when the consumer's loop has exited.
 */
export class WorkerRun<R> implements AsyncIterableIterator<R>, AsyncDisposable {
  readonly #settings: RunPool
  readonly #signal: AbortSignal | undefined
  #iterator: AsyncIterator<R> | undefined
  #pool: Pool | undefined
  #failure: { error: unknown } | undefined
  #thrown = false
  #ended: Promise<void> | undefined

  constructor(settings: RunPool, signal: AbortSignal | undefined) {
    this.#settings = settings
    this.#signal = signal
  }

  /** The pool to run the run's tasks on; a pool of the run's own starts with the first task. */
  get pool(): Pool {
    if (this.#pool === undefined) {
      const settings = this.#settings
      this.#attach('shared' in settings ? settings.shared : new Pool(settings.threads, settings.data, false))
    }
    return this.#pool!
  }

  /** Sets the scheduler's iterator that this run passes through. */
  start(iterator: AsyncIterator<R>): this {
    this.#iterator = iterator
    return this
  }

  [Symbol.asyncIterator](): this {
    return this
  }

  next(): Promise<IteratorResult<R>> {
    // A shared pool is attached at once, so that an error its threads raised before reaches this run.
    if (this.#pool === undefined && 'shared' in this.#settings) this.#attach(this.#settings.shared)
    return this.#iterator!.next().then(this.#onResult, this.#onError)
  }

  async return(value?: unknown): Promise<IteratorResult<R>> {
    await this.#end()
    return { done: true, value: value as R }
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.#end()
  }

  #attach(pool: Pool): void {
    this.#pool = pool
    const unclaimed = pool.attach(this.#onFailure)
    if (unclaimed !== undefined) this.#onFailure(unclaimed.error)
  }

  readonly #onResult = (result: IteratorResult<R>): IteratorResult<R> | Promise<IteratorResult<R>> => {
    const failure = this.#failure
    if (failure !== undefined && !this.#thrown) {
      this.#thrown = true
      return this.#end().then(() => Promise.reject(failure.error))
    }
    return result.done ? this.#end().then(() => result) : result
  }

  readonly #onError = (error: unknown): Promise<never> => {
    const ended = this.#end()
    // An abort of the run's signal rejects at once, as parallelMap's does; the threads go meanwhile.
    if (this.#signal?.aborted) return Promise.reject(error)
    return ended.then(() => Promise.reject(error))
  }

  /** A thread of the pool failed outside a task: the run stops, and its next answer is the error. */
  readonly #onFailure = (error: unknown): void => {
    if (this.#failure !== undefined || this.#ended !== undefined) return
    this.#failure = { error }
    void this.#end()
  }

  /**
   * Closes the scheduler's iterator (which settles every task), then lets go of the pool, ending it
   * if it is the run's own. Once; never rejects.
   */
  #end(): Promise<void> {
    return (this.#ended ??= this.#iterator!.return!().then(() => {
      const pool = this.#pool
      if (pool === undefined) return
      pool.detach(this.#onFailure)
      if (!('shared' in this.#settings)) return pool.destroy()
    }))
  }
}
