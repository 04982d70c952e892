/**
 * Where a backend can plug in a fused Adam update (one call per variable)
 * for `Adam.apply` to use while that backend is active; the native backend
 * registers its own (src/backend/native/adam.ts). Kept free of Node imports
 * so the optimizer stays usable in the browser.
 */
import type * as tf from '@tensorflow/tfjs-core';

export interface AdamStep {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  /** 1 - beta1^t and 1 - beta2^t. */
  correction1: number;
  correction2: number;
}

/** Updates p, m and v from g and returns true, or returns false having changed nothing. */
export type FusedAdamUpdate = (p: tf.Variable, m: tf.Variable, v: tf.Variable, g: tf.Tensor, step: AdamStep) => boolean;

const updates = new Map<string, FusedAdamUpdate>();

export function registerFusedAdam(backendName: string, update: FusedAdamUpdate): void {
  updates.set(backendName, update);
}

export function fusedAdamFor(backendName: string): FusedAdamUpdate | undefined {
  return updates.get(backendName);
}
