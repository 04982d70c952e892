/**
 * Adam's update of one variable in a single native pass, which
 * registerNativeBackend() registers for src/train/adam.ts (fusedAdam.ts).
 * The addon updates copies of p, m and v in place from g (the originals
 * may be shared with other tensors, so they are not overwritten); the
 * variables are then assigned the copies.
 */
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';

import type { AdamStep } from '../../train/fusedAdam.js';
import { loadAddon } from './addon.js';
import { f32, NATIVE_BACKEND } from './tensors.js';


/**
 * Updates p, m and v in one native call and returns true, or returns false
 * (changing nothing) when the native backend is not active or a tensor is
 * not float32 on it.
 */
export function nativeAdamUpdate(p: tf.Variable, m: tf.Variable, v: tf.Variable, g: tf.Tensor, step: AdamStep): boolean {
  const addon = loadAddon().addon;
  const backend = tf.getBackend() === NATIVE_BACKEND ? (tf.backend() as MathBackendCPU) : undefined;
  if (addon === undefined || backend === undefined) return false;
  const [pv, mv, vv, gv] = [p, m, v, g].map((t) => f32(backend, t));
  if (pv === undefined || mv === undefined || vv === undefined || gv === undefined || gv.length !== pv.length) return false;
  if (mv.length !== pv.length || vv.length !== pv.length) return false;
  const next = [pv.slice(), mv.slice(), vv.slice()] as const;
  addon.adam(next[0], next[1], next[2], gv, step.learningRate, step.beta1, step.beta2, step.epsilon, step.correction1, step.correction2);
  for (const [variable, values] of [[p, next[0]], [m, next[1]], [v, next[2]]] as const) {
    const value = tf.tensor(values, variable.shape, 'float32');
    variable.assign(value);
    value.dispose();
  }
  return true;
}
