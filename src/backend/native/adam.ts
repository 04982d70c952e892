/**
 * Adam's update of one variable in a single native call, for src/train/adam.ts
 * when the native backend is active. The addon reads p, m, v and g and writes
 * the new values into three fresh arrays (the old ones may be shared with
 * other tensors, so they are not overwritten); the variables are then
 * assigned those.
 */
import * as tf from '@tensorflow/tfjs-core';

import { loadAddon } from './addon.js';
import { NativeBackend } from './backend.js';
import { f32 } from './tensors.js';

export interface AdamStep {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  /** 1 - beta1^t and 1 - beta2^t. */
  correction1: number;
  correction2: number;
}

/**
 * Updates p, m and v in one native call and returns true, or returns false
 * (changing nothing) when the native backend is not active or a tensor is
 * not float32 on it.
 */
export function nativeAdamUpdate(p: tf.Variable, m: tf.Variable, v: tf.Variable, g: tf.Tensor, step: AdamStep): boolean {
  const addon = loadAddon().addon;
  const backend = tf.getBackend() === 'native' ? tf.backend() : undefined;
  if (addon === undefined || !(backend instanceof NativeBackend)) return false;
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
