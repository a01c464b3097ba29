// The tiny task of bench/workers.ts: for workerMap and for piscina's own pool.run alike.
export default function double(n) {
  return n * 2
}
