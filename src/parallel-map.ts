// The scheduler moved to src/scheduler/; this module keeps the old import path working for code
// written against it.
export { configure, PARALLEL_MAP_OPTIONS } from './scheduler/options.js'
export type { Config } from './scheduler/options.js'
export { parallel, parallelMap, parallelMapSettled } from './scheduler/parallel-map.js'
export type { ParallelOptions, ParallelTask } from './scheduler/parallel-map.js'
