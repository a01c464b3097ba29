// The worker module the consumer runs through foreach-parallel/workers.
export default function cube(n: number): number {
  return n ** 3
}
