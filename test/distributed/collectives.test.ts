/**
 * The MPI collectives (native/mpi/mpi.cc through src/distributed/communicator.ts)
 * on 2 ranks under mpirun, against sums, maxima and copies computed here in
 * float64 from the inputs each rank wrote; and a rank that dies or exits
 * ends the whole job, non-zero, within seconds.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';

import { tempDir } from '../e2e/helpers.js';
import { assertRunOk, describeRun, mpirun, RANK_JS, requireMpi } from './helpers.js';

interface RankOutput {
  rank: number;
  size: number;
  f32: number[];
  f64: number[];
  i32: number[];
  sum: number[];
  wide: number[];
  sum64: number[];
  max: number[];
  min: number[];
  fromRank1: number[];
  part: number[];
  gathered: number[] | null;
  everywhere: number[];
  stats: Record<string, number>;
}

describe('MPI collectives on 2 ranks', { timeout: 180_000 }, () => {
  let ranks: RankOutput[];

  before(async () => {
    requireMpi();
    const dir = tempDir('vqvae-mpi-');
    const run = await mpirun([[2, [RANK_JS, 'collectives', dir]]], { timeoutMs: 60_000 });
    assertRunOk(run);
    ranks = [0, 1].map((r) => JSON.parse(fs.readFileSync(path.join(dir, `rank-${r}.json`), 'utf8')) as RankOutput);
  });

  it('every rank knows its rank and the size', () => {
    assert.deepEqual(ranks.map((r) => [r.rank, r.size]), [[0, 2], [1, 2]]);
  });

  it('all-reduce sums float32 in place: each element the float32 rounding of the float64 sum', () => {
    const [a, b] = ranks as [RankOutput, RankOutput];
    assert.notDeepEqual(a.f32, b.f32, 'the ranks should start from different values');
    const expected = a.f32.map((x, i) => Math.fround(x + b.f32[i]!));
    for (const r of ranks) assert.deepEqual(r.sum, expected, `rank ${r.rank}`);
  });

  it('all-reduce works on a subarray view and leaves the memory around it alone', () => {
    const [a, b] = ranks as [RankOutput, RankOutput];
    for (const r of ranks) {
      const n = a.f32.length;
      assert.deepEqual(r.wide.slice(4, 4 + n), a.f32.map((x, i) => Math.fround(x + b.f32[i]!)));
      const sentinel = 100 + r.rank;
      assert.deepEqual([...r.wide.slice(0, 4), ...r.wide.slice(4 + n)], new Array(8).fill(sentinel));
    }
  });

  it('all-reduce sums float64, and takes int32 maxima and minima', () => {
    const [a, b] = ranks as [RankOutput, RankOutput];
    for (const r of ranks) {
      assert.deepEqual(r.sum64, a.f64.map((x, i) => x + b.f64[i]!));
      assert.deepEqual(r.max, a.i32.map((x, i) => Math.max(x, b.i32[i]!)));
      assert.deepEqual(r.min, a.i32.map((x, i) => Math.min(x, b.i32[i]!)));
    }
  });

  it('broadcast copies the root rank\'s bytes to every rank', () => {
    const expected = Array.from({ length: 37 }, (_, i) => (i * 7 + 3) & 255);
    for (const r of ranks) assert.deepEqual(r.fromRank1, expected);
  });

  it('gather puts the parts in rank order on rank 0 only', () => {
    assert.deepEqual(ranks[0]!.gathered, [...ranks[0]!.part, ...ranks[1]!.part]);
    assert.equal(ranks[1]!.gathered, null);
  });

  it('all-gather puts the parts in rank order on every rank', () => {
    const expected = [...ranks[0]!.part, ...ranks[1]!.part].map((v) => v + 0.5);
    for (const r of ranks) assert.deepEqual(r.everywhere, expected);
  });

  it('counts the bytes each rank sent into reductions, broadcasts and all-gathers', () => {
    const n = ranks[0]!.f32.length;
    const allreduceBytes = 4 * n + 4 * n + 8 * 17 + 4 * 9 + 4 * 9;
    for (const r of ranks) {
      const allGatherBytes = 4 * r.part.length;
      assert.deepEqual(r.stats, { allreduceCalls: 5, allreduceBytes, broadcastCalls: 1, broadcastBytes: 37, allGatherCalls: 1, allGatherBytes });
    }
  });
});

describe('a rank that ends early ends the job', { timeout: 180_000 }, () => {
  before(requireMpi);

  it('a rank killed with SIGKILL: mpirun ends the waiting rank, exits non-zero and names the rank and signal', async () => {
    const run = await mpirun([[2, [RANK_JS, 'die']]], { quiet: false, timeoutMs: 60_000 });
    assert.match(run.stdout, /rank 0 waiting in allreduce/, describeRun(run));
    assert.doesNotMatch(run.stdout, /returned from allreduce/, describeRun(run));
    assert.notEqual(run.code, 0, describeRun(run));
    assert.equal(run.signal, null, `mpirun itself should exit, not be killed by the test's timeout\n${describeRun(run)}`);
    assert.match(`${run.stdout}${run.stderr}`, /process rank 1 .*exited on signal 9/, describeRun(run));
    assert.ok(run.ms < 30_000, `the job took ${run.ms} ms to end`);
  });

  it('a rank that exits with an error status without finalising: the job ends with that status', async () => {
    const run = await mpirun([[2, [RANK_JS, 'throw']]], { timeoutMs: 60_000 });
    assert.match(run.stdout, /rank 0 waiting in allreduce/, describeRun(run));
    assert.doesNotMatch(run.stdout, /returned from allreduce/, describeRun(run));
    assert.equal(run.code, 3, describeRun(run));
    assert.ok(run.ms < 30_000, `the job took ${run.ms} ms to end`);
  });
});
