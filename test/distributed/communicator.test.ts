/**
 * The MPI environment as the launchers set it, shares of N items, and the
 * errors of openCommunicator when MPI is asked for and missing (no mpirun
 * needed: the environment and the addon loader are passed in).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { openCommunicator, PeerFailed, singleProcess } from '../../src/distributed/communicator.js';
import { mpiEnvironment } from '../../src/distributed/environment.js';
import { shareCounts, shareOf } from '../../src/distributed/shard.js';
import { isUserError } from '../../src/errors.js';

describe('mpiEnvironment', () => {
  it('reads Open MPI\'s and MPICH\'s variables, and nothing outside a job', () => {
    assert.deepEqual(
      mpiEnvironment({ OMPI_COMM_WORLD_RANK: '3', OMPI_COMM_WORLD_SIZE: '4', OMPI_COMM_WORLD_LOCAL_RANK: '1', OMPI_COMM_WORLD_LOCAL_SIZE: '2' }),
      { rank: 3, size: 4, localRank: 1, localSize: 2 },
    );
    assert.deepEqual(mpiEnvironment({ PMI_RANK: '0', PMI_SIZE: '2' }), { rank: 0, size: 2, localRank: 0, localSize: 2 });
    assert.equal(mpiEnvironment({}), undefined);
    assert.equal(mpiEnvironment({ OMPI_COMM_WORLD_RANK: '2', OMPI_COMM_WORLD_SIZE: '2' }), undefined);
    assert.equal(mpiEnvironment({ OMPI_COMM_WORLD_RANK: 'x', OMPI_COMM_WORLD_SIZE: '2' }), undefined);
  });
});

describe('shareOf', () => {
  it('cuts 0..total into contiguous shares that cover it once and differ by at most one', () => {
    for (const total of [0, 1, 5, 100, 101, 60000]) {
      for (const count of [1, 2, 3, 7]) {
        const covered: number[] = [];
        for (let i = 0; i < count; i++) {
          const [start, end] = shareOf(total, i, count);
          for (let k = start; k < end; k++) covered.push(k);
        }
        assert.deepEqual(covered, Array.from({ length: total }, (_, k) => k));
        const sizes = shareCounts(total, count);
        assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `${total}/${count}: ${sizes}`);
      }
    }
  });
});

describe('openCommunicator', () => {
  const twoRanks = (rank: number) => ({ OMPI_COMM_WORLD_RANK: String(rank), OMPI_COMM_WORLD_SIZE: '2' });
  const notBuilt = () => ({ reason: 'libopenmpi-dev not installed: apt-get install libopenmpi-dev openmpi-bin' });

  it('outside a job: a single process, or an error naming mpirun with --distributed', () => {
    assert.equal(openCommunicator({ env: {} }).size, 1);
    assert.throws(() => openCommunicator({ env: {}, distributed: true }), (e: unknown) => isUserError(e) && /--distributed.*mpirun/.test(e.message));
  });

  it('mpirun -np 1 without --distributed runs as a single process', () => {
    assert.equal(openCommunicator({ env: { OMPI_COMM_WORLD_RANK: '0', OMPI_COMM_WORLD_SIZE: '1' }, load: notBuilt }).size, 1);
  });

  it('under mpirun without the addon: rank 0 says why, the other ranks stop quietly', () => {
    assert.throws(
      () => openCommunicator({ env: twoRanks(0), load: notBuilt }),
      (e: unknown) => isUserError(e) && /started by mpirun as one of 2 ranks.*libopenmpi-dev not installed/.test(e.message),
    );
    assert.throws(
      () => openCommunicator({ env: twoRanks(0), distributed: true, load: notBuilt }),
      (e: unknown) => isUserError(e) && /^--distributed, but the MPI support is not built/.test(e.message),
    );
    assert.throws(() => openCommunicator({ env: twoRanks(1), load: notBuilt }), (e: unknown) => e instanceof PeerFailed && e.exitCode === 1);
  });

  it('the single process: reductions leave arrays alone, gather returns the part', () => {
    const comm = singleProcess();
    const a = Float32Array.of(1.5, -2);
    comm.allreduce(a);
    comm.broadcast(a, 0);
    assert.deepEqual([...a], [1.5, -2]);
    const part = Int32Array.of(4, 5, 6);
    assert.equal(comm.gather(part, [3]), part);
  });
});
