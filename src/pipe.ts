import { pipe as itPipe } from 'it-pipe'
import type { Source } from './types.js'

type Stage<A, B> = (source: A) => B

/** What a pipeline may start with: a source, or a function that returns one (as in it-pipe). */
export type PipeSource<T> = Source<T> | (() => Source<T>)

type Items<S> = S extends () => infer R ? R : S

/**
 * it-pipe's `pipe` (the same function), with overloads that keep the item type through generic
 * stages such as `collect` and `take(n)`: `pipe(source, stage1, stage2, …)` calls each stage with
 * the output of the one before and returns the last stage's result.
 *
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
} = itPipe as never
