/**
 * The scheduler's private hook for item ends. A job hands users an `onReport` function to pass to
 * `parallelMap`; to keep only the reports of items still running, it must also learn when an item
 * that reported has settled. The public `onReport` contract is one call per `report(value)`, so the
 * end of an item travels on this symbol instead: when the `onReport` function given to the
 * scheduler carries a function under it, the scheduler calls that function with the item's index
 * once the item has settled (only for items that reported at least once).
 */
export const ITEM_SETTLED: unique symbol = Symbol('foreach-parallel.itemSettled')

/** An `onReport` function that also wants to hear when a reporting item has settled. */
export interface SettleAwareReportHandler<T> {
  (report: import('../types.js').ItemReport<T>): void
  readonly [ITEM_SETTLED]?: (index: number) => void
}
