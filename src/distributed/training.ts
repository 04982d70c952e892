/**
 * The run engine's communicator (train/stepLoop.ts `Communicator`) over the
 * job's collectives (communicator.ts): means and sums of a step's numbers,
 * the gradients averaged in one all-reduce (gradients.ts), and the whole
 * batch's rows for the EMA codebook. Every rank gets bit-identical results,
 * so replicas that start equal stay equal.
 */
import * as tf from '@tensorflow/tfjs-core';

import type { Communicator as StepLoopCommunicator } from '../train/stepLoop.js';
import type { Communicator } from './communicator.js';
import { allreduceStep } from './gradients.js';
import { shareCounts } from './shard.js';

export function stepLoopCommunicator(comm: Communicator): StepLoopCommunicator {
  const { rank, size } = comm;
  const sum = (values: number[]): number[] => {
    const buffer = Float64Array.from(values);
    comm.allreduce(buffer);
    return [...buffer];
  };
  return {
    rank,
    size,
    allReduceSum: sum,
    allReduceMean: (values) => sum(values).map((v) => v / size),
    // Equal shares of the batch (the run refuses a batch that does not divide), so the mean of the ranks' mean gradients is the batch's.
    averageGradients: (grads) => allreduceStep(comm, grads, 1 / size, new Float32Array(0)).grads,
    allGather: (part, counts) => comm.allGather(part, counts),
  };
}

/**
 * The rows of every process's `part` ([b_r, ...], b_r its share of
 * `globalRows`, shard.ts) in rank order, on every process: the whole batch's
 * tensor, as one process would have computed it.
 */
export function gatherRows<T extends tf.Tensor>(comm: StepLoopCommunicator, part: T, globalRows: number): T {
  const rowSize = part.shape.slice(1).reduce((a, b) => a * b, 1);
  const values = part.dataSync() as Float32Array | Int32Array;
  const all = comm.allGather(values, shareCounts(globalRows, comm.size, rowSize));
  return tf.tensor(all, [globalRows, ...part.shape.slice(1)], part.dtype) as T;
}
