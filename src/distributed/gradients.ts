/**
 * Data-parallel training's one exchange per step: every rank's gradients,
 * weighted by its share of the global batch, and a few extra numbers (the
 * loss terms, the EMA codebook's counts and sums, a stop request) summed
 * over the ranks in a single all-reduce, so every rank applies the same
 * update to the same weights and the replicas stay bit-identical.
 *
 * With a mean loss over the global batch of B images, of which rank r holds
 * b_r, the global gradient is sum_r (b_r / B) * (gradient of rank r's mean).
 */
import * as tf from '@tensorflow/tfjs-core';

import type { Communicator } from './communicator.js';

export interface ReducedStep {
  /** The summed gradients, by the same names (new tensors; the caller disposes them and the inputs). */
  grads: Record<string, tf.Tensor>;
  /** The summed extras. */
  extras: Float32Array;
}

/** Float32 values in one exchange of `grads` (by name) and `extraCount` extras: the bytes a rank sends per step are 4 times this. */
export function exchangeLength(grads: Readonly<Record<string, tf.Tensor>>, extraCount: number): number {
  return Object.values(grads).reduce((n, g) => n + g.size, extraCount);
}

/**
 * Sums `weight * grads` and `extras` (already weighted as the caller
 * wants) over the ranks, in one all-reduce of one float32 buffer. On a
 * single process the gradients come back untouched (not even scaled: the
 * weight is then 1) and `extras` as given.
 */
export function allreduceStep(
  comm: Communicator,
  grads: Record<string, tf.Tensor>,
  weight: number,
  extras: Float32Array,
): ReducedStep {
  if (comm.size === 1) return { grads, extras };
  const names = Object.keys(grads).sort();
  const buffer = new Float32Array(exchangeLength(grads, extras.length));
  let offset = 0;
  for (const name of names) {
    const values = grads[name]!.dataSync() as Float32Array;
    if (weight === 1) buffer.set(values, offset);
    else for (let i = 0; i < values.length; i++) buffer[offset + i] = values[i]! * weight;
    offset += values.length;
  }
  buffer.set(extras, offset);
  comm.allreduce(buffer);
  offset = 0;
  const reduced: Record<string, tf.Tensor> = {};
  for (const name of names) {
    const g = grads[name]!;
    reduced[name] = tf.tensor(buffer.slice(offset, offset + g.size), g.shape, 'float32');
    offset += g.size;
  }
  return { grads: reduced, extras: buffer.slice(offset) };
}
