/**
 * Splitting N items among workers: `--shard I/N` (a Kubernetes Indexed Job,
 * a Slurm array task) and the ranks of an MPI job. Shares are contiguous
 * and differ by at most one item: share i of n over `total` items is
 * [floor(total * i / n), floor(total * (i + 1) / n)).
 */

/** [start, end) of share `index` of `count` over `total` items. */
export function shareOf(total: number, index: number, count: number): [number, number] {
  return [Math.floor((total * index) / count), Math.floor((total * (index + 1)) / count)];
}

/** The element count of every share, in order. */
export function shareCounts(total: number, count: number, perItem = 1): number[] {
  return Array.from({ length: count }, (_, i) => {
    const [start, end] = shareOf(total, i, count);
    return (end - start) * perItem;
  });
}

/** What a sharded evaluation needs of a data-parallel run's communicator (train/stepLoop.ts): its place, and sums over the processes. */
export interface ShardedSum {
  rank: number;
  size: number;
  allReduceSum(values: number[]): number[];
}
