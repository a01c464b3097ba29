import { pipe as itPipe } from 'it-pipe'
import { describe } from './errors.js'
import { isSource } from './internal/source.js'
import type { Source } from './types.js'

/** One stage of a pipeline: a function from what the previous stage returned to what the next one takes. */
export type Stage<A, B> = (source: A) => B

/** What a pipeline may start with: a source, or a function that returns one (as in it-pipe). */
export type PipeSource<T> = Source<T> | (() => Source<T>)

/** What a pipeline's first stage receives: the source itself, or what a source function returns. */
export type Items<S> = S extends () => infer R ? R : S

/** An it-pipe duplex (`{ sink, source }`), which it-pipe takes in place of a stage. */
function isDuplex(value: unknown): boolean {
  const duplex = value as { sink?: unknown; source?: unknown } | null | undefined
  return duplex?.sink != null && duplex.source != null
}

/** Checks every argument, naming the first bad one, before it-pipe runs the pipeline. */
function checkedPipe(first: unknown, ...stages: unknown[]): unknown {
  if (typeof first !== 'function' && !isSource(first) && !isDuplex(first)) {
    throw new TypeError(`Expected argument 1 of pipe to be a source or a function that returns one, got ${describe(first)}`)
  }
  stages.forEach((stage, index) => {
    if (typeof stage !== 'function' && !isDuplex(stage)) {
      throw new TypeError(`Expected argument ${index + 2} of pipe to be a function (a stage), got ${describe(stage)}`)
    }
  })
  // it-pipe would take a web ReadableStream without Symbol.asyncIterator (older browsers) for a stage.
  const start = typeof first === 'function' || isDuplex(first) ? first : () => first
  // tsc needs the assertion to spread the stages into it-pipe's overloads; the lint's program disagrees.
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
  return (itPipe as (...args: unknown[]) => unknown)(start, ...stages)
}

/**
 * it-pipe's `pipe`, with overloads that keep the item type through generic stages such as
 * `collect` and `take(n)`: `pipe(source, stage1, stage2, …)` calls each stage with the output of
 * the one before and returns the last stage's result. Unlike it-pipe, it checks its arguments
 * first: a stage that is not a function (nor an it-pipe duplex) is a `TypeError` naming it.
 *
 * @throws TypeError when an argument is not a source (the first) or a function (the others).
 * @example
 * ```ts
 * const report = await pipe(urls, parallelMap(fetchStatus, { concurrency: 10 }), take(100), collect)
 * ```
 */
export const pipe: {
  <S>(source: S): Items<S>
  <S, B>(source: S, s1: Stage<Items<S>, B>): B
  <S, B, C>(source: S, s1: Stage<Items<S>, B>, s2: Stage<B, C>): C
  <S, B, C, D>(source: S, s1: Stage<Items<S>, B>, s2: Stage<B, C>, s3: Stage<C, D>): D
  <S, B, C, D, E>(source: S, s1: Stage<Items<S>, B>, s2: Stage<B, C>, s3: Stage<C, D>, s4: Stage<D, E>): E
  <S, B, C, D, E, F>(
    source: S,
    s1: Stage<Items<S>, B>,
    s2: Stage<B, C>,
    s3: Stage<C, D>,
    s4: Stage<D, E>,
    s5: Stage<E, F>,
  ): F
  <S, B, C, D, E, F, G>(
    source: S,
    s1: Stage<Items<S>, B>,
    s2: Stage<B, C>,
    s3: Stage<C, D>,
    s4: Stage<D, E>,
    s5: Stage<E, F>,
    s6: Stage<F, G>,
  ): G
  <S, B, C, D, E, F, G, H>(
    source: S,
    s1: Stage<Items<S>, B>,
    s2: Stage<B, C>,
    s3: Stage<C, D>,
    s4: Stage<D, E>,
    s5: Stage<E, F>,
    s6: Stage<F, G>,
    s7: Stage<G, H>,
  ): H
  /** Eight stages or more: typed loosely, like it-pipe's longest overloads. */
  (
    source: unknown,
    s1: Stage<any, any>,
    s2: Stage<any, any>,
    s3: Stage<any, any>,
    s4: Stage<any, any>,
    s5: Stage<any, any>,
    s6: Stage<any, any>,
    s7: Stage<any, any>,
    s8: Stage<any, any>,
    ...stages: Stage<any, any>[]
  ): unknown
} = checkedPipe as never
