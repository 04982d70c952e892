/**
 * Collective operations between the processes of one job, whatever carries
 * them: `singleProcess` (one process, every operation a no-op) or MPI (the
 * native/mpi addon, one process per rank under `mpirun`). Code that trains
 * or encodes talks to a `Communicator` and runs unchanged on 1 or N ranks.
 *
 *   const comm = openCommunicator({ distributed: flags.distributed });
 *   comm.allreduce(gradients);             // in place: the sum over ranks
 *   comm.broadcast(codebook, 0);           // rank 0's values everywhere
 *   if (comm.isRoot) writeCheckpoint();    // rank 0 alone writes and prints
 *
 * Every collective must be called by every rank, in the same order, with
 * arrays of the same length; MPI's default error handler ends the whole job
 * on a mismatch or a failed transfer, and `mpirun` ends it when a rank dies.
 */
import { availableParallelism } from 'node:os';

import { UserError } from '../errors.js';
import { mpiEnvironment, type MpiEnvironment } from './environment.js';
import { loadMpi, MPI_MAX, MPI_MIN, MPI_SUM, type MpiAddon, type ReducibleArray } from './mpi.js';

export type ReduceOp = 'sum' | 'max' | 'min';
export type { ReducibleArray };

export interface CommunicatorStats {
  /** Calls and payload bytes (per rank, one direction) of each collective so far. */
  allreduceCalls: number;
  allreduceBytes: number;
  broadcastCalls: number;
  broadcastBytes: number;
  allGatherCalls: number;
  allGatherBytes: number;
}

export interface Communicator {
  readonly rank: number;
  readonly size: number;
  /** Rank 0: the one that prints, writes files and chooses for all. */
  readonly isRoot: boolean;
  /** 'single process' or the MPI library and rank count, for one line of output. */
  readonly description: string;
  readonly stats: CommunicatorStats;
  /** In place: every rank's array becomes the element-wise sum (max, min) over ranks. */
  allreduce(array: ReducibleArray, op?: ReduceOp): void;
  /** In place: every rank's array gets `root`'s values. */
  broadcast(array: ArrayBufferView, root?: number): void;
  barrier(): void;
  /**
   * Rank r's `part` (counts[r] elements) concatenated in rank order on `root`
   * (returned there; undefined elsewhere).
   */
  gather<T extends Int32Array | Float32Array | Uint8Array>(part: T, counts: readonly number[], root?: number): T | undefined;
  /** Rank r's `part` (counts[r] elements) concatenated in rank order, on every rank. */
  allGather<T extends Int32Array | Float32Array | Uint8Array>(part: T, counts: readonly number[]): T;
  /** Ends every rank of the job with `code`; does not return. */
  abort(code: number): never;
}

function emptyStats(): CommunicatorStats {
  return { allreduceCalls: 0, allreduceBytes: 0, broadcastCalls: 0, broadcastBytes: 0, allGatherCalls: 0, allGatherBytes: 0 };
}

/** One process: rank 0 of 1. Reductions and broadcasts leave the arrays as they are. */
export function singleProcess(): Communicator {
  return {
    rank: 0,
    size: 1,
    isRoot: true,
    description: 'single process',
    stats: emptyStats(),
    allreduce() {},
    broadcast() {},
    barrier() {},
    gather(part, counts) {
      if (counts.length !== 1 || counts[0] !== part.length) throw new Error(`gather: counts ${JSON.stringify(counts)} do not fit 1 rank`);
      return part;
    },
    allGather(part, counts) {
      if (counts.length !== 1 || counts[0] !== part.length) throw new Error(`allGather: counts ${JSON.stringify(counts)} do not fit 1 rank`);
      return part;
    },
    abort(code) {
      process.exit(code);
    },
  };
}

const OPS = { sum: MPI_SUM, max: MPI_MAX, min: MPI_MIN } as const;

/** An array of part's type for all the counts, after checking that this rank's count is part's length. */
function receiver<T extends Int32Array | Float32Array | Uint8Array>(part: T, counts: readonly number[], rank: number, size: number): T {
  if (counts.length !== size || counts[rank] !== part.length) {
    throw new Error(`rank ${rank} has ${part.length} elements, the counts say ${JSON.stringify(counts)}`);
  }
  const Ctor = part.constructor as new (n: number) => T;
  return new Ctor(counts.reduce((a, b) => a + b, 0));
}

/** The communicator over an initialised MPI addon. */
export function mpiCommunicator(addon: MpiAddon): Communicator {
  const { rank, size, library } = addon.init();
  const stats = emptyStats();
  return {
    rank,
    size,
    isRoot: rank === 0,
    description: `${library}, ${size} ranks`,
    stats,
    allreduce(array, op = 'sum') {
      stats.allreduceCalls += 1;
      stats.allreduceBytes += array.byteLength;
      addon.allreduce(array, OPS[op]);
    },
    broadcast(array, root = 0) {
      stats.broadcastCalls += 1;
      stats.broadcastBytes += array.byteLength;
      addon.broadcast(array, root);
    },
    barrier() {
      addon.barrier();
    },
    gather(part, counts, root = 0) {
      const out = rank === root ? receiver(part, counts, rank, size) : null;
      addon.gatherv(part, out, counts.map((c) => c * part.BYTES_PER_ELEMENT), root);
      return out ?? undefined;
    },
    allGather(part, counts) {
      const out = receiver(part, counts, rank, size);
      stats.allGatherCalls += 1;
      stats.allGatherBytes += part.byteLength;
      addon.allgatherv(part, out, counts.map((c) => c * part.BYTES_PER_ELEMENT));
      return out;
    },
    abort(code) {
      return addon.abort(code);
    },
  };
}

/**
 * A rank that stops because another rank failed: that rank printed the
 * reason; this one exits with the same status and prints nothing.
 */
export class PeerFailed extends Error {
  constructor(
    readonly failedRank: number,
    readonly exitCode: number,
  ) {
    super(`rank ${failedRank} failed`);
    Object.defineProperty(this, 'name', { value: 'PeerFailed' });
  }
}

export interface OpenOptions {
  /** `--distributed`: MPI is required (an error outside mpirun). Otherwise it is used when mpirun started more than one rank. */
  distributed?: boolean;
  env?: Readonly<Record<string, string | undefined>>;
  /** The addon loader (tests pass a failing one). */
  load?: typeof loadMpi;
}

let opened: Communicator | undefined;

/**
 * The job's communicator: MPI when started by mpirun with more than one
 * rank (or with `distributed`), else a single process. MPI is initialised
 * once per process and finalised when the process exits with status 0 (a
 * failing rank exits without MPI_Finalize, so mpirun ends the others
 * instead of leaving them waiting). Throws a UserError, on rank 0 only
 * (the other ranks throw a quiet `PeerFailed`), when MPI is asked for and
 * missing.
 */
export function openCommunicator(options: OpenOptions = {}): Communicator {
  const env = mpiEnvironment(options.env ?? process.env);
  if (env === undefined) {
    if (options.distributed) {
      throw new UserError(
        '--distributed needs an MPI launcher, and this process was not started by one: run it as ' +
          '`mpirun -np N vqvae ... --distributed` (no OMPI_COMM_WORLD_SIZE or PMI_SIZE in the environment)',
      );
    }
    return singleProcess();
  }
  if (env.size === 1 && !options.distributed) return singleProcess();
  if (opened !== undefined) return opened;
  const load = (options.load ?? loadMpi)();
  if (load.addon === undefined) {
    if (env.rank !== 0) throw new PeerFailed(0, 1);
    const asked = options.distributed ? '--distributed' : `started by mpirun as one of ${env.size} ranks`;
    throw new UserError(`${asked}, but the MPI support is not built (${load.reason})`);
  }
  shareThreads(env);
  opened = mpiCommunicator(load.addon);
  const addon = load.addon;
  process.once('exit', (code) => {
    if (code === 0) addon.finalize();
  });
  return opened;
}

/**
 * Ranks on one machine share its cores: unless VQVAE_THREADS says
 * otherwise, each rank's native backend gets cores / local ranks threads
 * (at least 1), so 2 ranks on 2 cores do not run 4 threads.
 */
function shareThreads(env: MpiEnvironment): void {
  if (process.env['VQVAE_THREADS'] !== undefined) return;
  process.env['VQVAE_THREADS'] = String(Math.max(1, Math.floor(availableParallelism() / env.localSize)));
}
