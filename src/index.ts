export { TimeoutError } from './errors.js'
export { Job, startJob } from './jobs/job.js'
export { JobTable } from './jobs/job-table.js'
export type { JobFilter, JobTableOptions, RemoveOptions, TableWaitOptions } from './jobs/job-table.js'
export type { JobContext, JobOptions, JobSource, JobState, ReceiveOptions, StopOptions } from './jobs/job.js'
export type { WaitOptions } from './jobs/until-finished.js'
export { waitAll, waitAny } from './jobs/wait.js'
export { adaptiveConcurrency } from './limits/adaptive.js'
export type { AdaptiveConcurrencyOptions } from './limits/adaptive.js'
export { concurrencyLimit } from './limits/limiter.js'
export type { Limiter } from './limits/limiter.js'
export { parallel, parallelMap, parallelMapSettled } from './scheduler/parallel-map.js'
export type { ParallelOptions, ParallelTask } from './scheduler/parallel-map.js'
export { pipe } from './pipe.js'
export type { Items, PipeSource, Stage } from './pipe.js'
export { collect, drain } from './sinks.js'
export type {
  Fulfilled,
  ItemReport,
  Mapper,
  Operator,
  ParallelMapOptions,
  Progress,
  Rejected,
  RetryOptions,
  Settled,
  SettledBase,
  Source,
  TaskContext,
} from './types.js'
export { batch } from './operators/batch.js'
export type { BatchOptions } from './operators/batch.js'
export { merge } from './operators/merge.js'
export type { ItemOf } from './operators/merge.js'
export { drop, slice, take } from './operators/slice.js'
export { throttle } from './operators/throttle.js'
export type { ThrottleOptions } from './operators/throttle.js'
export { timeout } from './operators/timeout.js'
export type { TimeoutOptions } from './operators/timeout.js'
