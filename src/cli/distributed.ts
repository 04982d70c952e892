/**
 * The command line's side of MPI jobs (src/distributed/): the --distributed
 * and --shard flags, opening the job's communicator, and `agree`, which
 * turns a failure on some ranks into one error line from one rank and the
 * same exit status on all.
 */
import { PeerFailed, openCommunicator, type Communicator } from '../distributed/communicator.js';
import type * as tf from '@tensorflow/tfjs-core';

import { digest, hex, ranksDiffering, tensorsDigest } from '../distributed/consistency.js';
import { stepLoopCommunicator } from '../distributed/training.js';
import { UserError } from '../errors.js';
import type { RunPlugin, RunState, SavedRun } from '../train/run.js';
import type { Communicator as StepLoopCommunicator, ComputedStep } from '../train/stepLoop.js';
import { Interrupted } from './signals.js';
import { UsageError, type BooleanFlag, type StringFlag } from './flags.js';

export const distributedFlag = {
  name: 'distributed',
  type: 'boolean',
  help: 'run as one rank of an MPI job: mpirun -np N vqvae ... --distributed (on by itself when mpirun starts 2 or more ranks)',
} as const satisfies BooleanFlag;

export const shardFlag = {
  name: 'shard',
  type: 'string',
  metavar: 'I/N',
  help: 'only shard I of N (I from 0 to N-1, contiguous and even): for job arrays, e.g. --shard $JOB_COMPLETION_INDEX/8',
} as const satisfies StringFlag;

export interface Shard {
  index: number;
  count: number;
}

/** `--shard 2/4` → { index: 2, count: 4 }; a bad spec is a usage error naming the flag. */
export function parseShard(value: string | undefined): Shard | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d+)\/(\d+)$/.exec(value.trim());
  if (!match) throw new UsageError(`--shard must be I/N (shard I of N, I from 0 to N-1), e.g. 0/4, got "${value}"`);
  const index = Number(match[1]);
  const count = Number(match[2]);
  if (count < 1) throw new UsageError(`--shard ${value}: the shard count N must be at least 1`);
  if (index >= count) throw new UsageError(`--shard ${value}: I counts from 0, so it must be 0 to ${count - 1}`);
  return { index, count };
}

/** The job's communicator (a single process unless mpirun started this one). */
export function openJob(flags: { distributed?: boolean }): Communicator {
  return openCommunicator({ distributed: flags.distributed === true });
}

/** The exit status the CLI gives `error` (cli.ts `report`). */
function exitCodeOf(error: unknown): number {
  if (error instanceof UsageError) return 2;
  if (error instanceof Interrupted) return error.exitCode;
  if (error instanceof PeerFailed) return error.exitCode;
  return 1;
}

/** Every rank's digest of `state` (consistency.ts), in rank order, on every rank. Collective. */
export function replicaDigests(comm: Communicator, state: Record<string, tf.Tensor>): string[] {
  const mine = tensorsDigest(state);
  const all = comm.allGather(mine, new Array<number>(comm.size).fill(mine.length));
  return Array.from({ length: comm.size }, (_, r) => hex(all.subarray(r * mine.length, (r + 1) * mine.length)));
}

const agreed = new WeakSet<object>();

/** Whether `error` is one that `agree` let this rank report for the whole job. */
export function isAgreed(error: unknown): boolean {
  return typeof error === 'object' && error !== null && agreed.has(error);
}

/**
 * Runs `work` on every rank, then agrees on the outcome: if it threw on any
 * rank, the lowest such rank rethrows its error (the CLI prints it) and all
 * the others throw a quiet `PeerFailed` with the same exit status, so the
 * job ends on every rank with one line. Call it where every rank passes.
 */
export async function agree<T>(comm: Communicator, work: () => T | Promise<T>): Promise<T> {
  let result: T | undefined;
  let failure: unknown;
  let failed = false;
  try {
    result = await work();
  } catch (error) {
    failure = error;
    failed = true;
  }
  if (comm.size > 1) {
    const first = new Int32Array([failed ? comm.rank : comm.size]);
    comm.allreduce(first, 'min');
    const failedRank = first[0];
    if (failedRank < comm.size) {
      const code = new Int32Array([failed ? exitCodeOf(failure) : 0]);
      comm.broadcast(code, failedRank);
      if (comm.rank !== failedRank) throw new PeerFailed(failedRank, code[0]);
      if (typeof failure === 'object' && failure !== null) agreed.add(failure);
    }
  }
  if (failed) throw failure;
  return result as T;
}

/**
 * Ends the job with one line from rank 0 unless every rank hashed the same
 * what `parts` returns (its flags, data and model, say). Collective.
 */
export function checkSameJob(comm: Communicator, parts: () => readonly (string | ArrayBufferView)[]): void {
  if (comm.size === 1) return;
  const differing = ranksDiffering(comm, digest(parts()));
  if (differing.length === 0) return;
  if (!comm.isRoot) throw new PeerFailed(0, 1);
  throw new UserError(
    `rank${differing.length > 1 ? 's' : ''} ${differing.join(', ')} of the MPI job ${differing.length > 1 ? 'were' : 'was'} ` +
      'started with other flags, data or model files than rank 0: every rank must run the same command on the same files',
  );
}

/**
 * A training command's run on the job: the plug-in with its loading and
 * opening agreed among the ranks (a failure on any rank ends the job with
 * that rank's one line) and followed by the check that every rank runs the
 * same flags on the same data (`identity`, hashed once the data is loaded),
 * and the run engine's communicator (undefined for a single process).
 */
export function distributedRun<S extends RunState, Saved extends SavedRun<S>, C extends ComputedStep>(
  comm: Communicator,
  plugin: RunPlugin<S, Saved, C>,
  identity: () => readonly (string | ArrayBufferView)[],
): { plugin: RunPlugin<S, Saved, C>; communicator: StepLoopCommunicator | undefined } {
  if (comm.size === 1) return { plugin, communicator: undefined };
  return {
    plugin: {
      ...plugin,
      load: (dir) => agree(comm, () => plugin.load(dir)),
      async open(ctx) {
        const opened = await agree(comm, () => plugin.open(ctx));
        checkSameJob(comm, identity);
        const { session } = opened;
        return {
          ...opened,
          session: {
            ...session,
            // The JSON summary lists each rank's digest of its model (the replicas are the same when these are)
            // and the bytes a rank sent into the collectives per training step (setup included, the final evaluation not).
            finish(result) {
              const { allreduceBytes, allGatherBytes, broadcastBytes } = comm.stats;
              const bytes = allreduceBytes + allGatherBytes + broadcastBytes;
              const extra = session.finish?.(result) ?? {};
              const state = session.replicaState?.();
              return {
                ...extra,
                ...(state === undefined ? {} : { replica_sha256: replicaDigests(comm, state) }),
                ranks: comm.size,
                bytes_per_step: result.stepsRun > 0 ? Math.round(bytes / result.stepsRun) : 0,
              };
            },
          },
        };
      },
    },
    communicator: stepLoopCommunicator(comm),
  };
}
