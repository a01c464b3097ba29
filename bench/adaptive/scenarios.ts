import type { Phase } from './server.js'

/** One situation the limiters face, as the simulated service and the pipelines that load it. */
export interface Scenario {
  readonly name: string
  readonly title: string
  /** The service over time; the run lasts until `end` ms. */
  readonly phases: readonly Phase[]
  readonly end: number
  /** Pipelines running at once against the service, each with its own limiter. */
  readonly pipelines: number
  /** Results in input order (the slow-consumer scenario). */
  readonly ordered: boolean
  /** Time the consumer spends on each result, in ms. */
  readonly consumerMs: number
}

const steady = { at: 0, slots: 8, service: 20 }

export const scenarios: readonly Scenario[] = [
  {
    name: 'steady',
    title: 'Steady: 8 slots, 20 ms',
    phases: [steady],
    end: 6000,
    pipelines: 1,
    ordered: false,
    consumerMs: 0,
  },
  {
    name: 'capacity',
    title: 'Capacity 8 → 3 → 16 slots (at 5 s and 10 s)',
    phases: [steady, { at: 5000, slots: 3, service: 20 }, { at: 10_000, slots: 16, service: 20 }],
    end: 15_000,
    pipelines: 1,
    ordered: false,
    consumerMs: 0,
  },
  {
    name: 'slower',
    title: 'Service time 20 → 60 ms (at 5 s)',
    phases: [steady, { at: 5000, slots: 8, service: 60 }],
    end: 10_000,
    pipelines: 1,
    ordered: false,
    consumerMs: 0,
  },
  {
    name: 'shared',
    title: 'Two pipelines sharing the service (8 slots, 20 ms)',
    phases: [steady],
    end: 6000,
    pipelines: 2,
    ordered: false,
    consumerMs: 0,
  },
  {
    name: 'consumer',
    title: 'Slow consumer (5 ms per result), ordered',
    phases: [steady],
    end: 6000,
    pipelines: 1,
    ordered: true,
    consumerMs: 5,
  },
  {
    name: '429',
    title: '429 past 4 queued (8 slots, 20 ms)',
    phases: [{ ...steady, queueLimit: 4 }],
    end: 6000,
    pipelines: 1,
    ordered: false,
    consumerMs: 0,
  },
]
