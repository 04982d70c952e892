/**
 * The run engine's communicator (train/stepLoop.ts `Communicator`) over the
 * job's collectives (communicator.ts): means and sums of a step's numbers,
 * the gradients averaged in one all-reduce (gradients.ts), and the whole
 * batch's rows for the EMA codebook (train/step.ts gathers them). Every rank gets bit-identical results,
 * so replicas that start equal stay equal.
 */
import type { Communicator as StepLoopCommunicator } from '../train/stepLoop.js';
import type { Communicator } from './communicator.js';
import { allreduceStep } from './gradients.js';

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

