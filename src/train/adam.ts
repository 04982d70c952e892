/**
 * Adam (Kingma and Ba 2015) with PyTorch's update rule and defaults
 * (beta1 0.9, beta2 0.999, eps 1e-8), its moments held as named variables so
 * a checkpoint can carry them and `--resume` continues the same run:
 *
 *   m <- b1 m + (1 - b1) g          v <- b2 v + (1 - b2) g^2
 *   p <- p - lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
 *
 * tfjs's own AdamOptimizer uses the backend's epsilon (1e-7) and keeps its
 * state under generated names, which is why this exists. On the native
 * backend each variable's update is one fused native call (same rule), via
 * fusedAdam.ts.
 */
import * as tf from '@tensorflow/tfjs-core';

import { fusedAdamFor } from './fusedAdam.js';

export interface AdamOptions {
  learningRate: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

export const ADAM_DEFAULTS = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 } as const;

export class Adam {
  readonly learningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  /** Number of updates applied so far (t). */
  step = 0;
  private readonly moments = new Map<string, { m: tf.Variable; v: tf.Variable }>();

  constructor(options: AdamOptions) {
    this.learningRate = options.learningRate;
    this.beta1 = options.beta1 ?? ADAM_DEFAULTS.beta1;
    this.beta2 = options.beta2 ?? ADAM_DEFAULTS.beta2;
    this.epsilon = options.epsilon ?? ADAM_DEFAULTS.epsilon;
    if (!(this.learningRate > 0)) throw new Error(`learning rate must be > 0, found ${this.learningRate}`);
  }

  /** One update of each named parameter from its gradient. */
  apply(params: Record<string, tf.Variable>, grads: Record<string, tf.Tensor>): void {
    this.step += 1;
    const { beta1: b1, beta2: b2, epsilon } = this;
    const correction1 = 1 - b1 ** this.step;
    const correction2 = 1 - b2 ** this.step;
    const fusedUpdate = fusedAdamFor(tf.getBackend());
    tf.tidy(() => {
      for (const [name, p] of Object.entries(params)) {
        const g = grads[name];
        if (!g) continue;
        const state = this.momentsOf(name, p);
        const fused = { learningRate: this.learningRate, beta1: b1, beta2: b2, epsilon, correction1, correction2 };
        if (fusedUpdate?.(p, state.m, state.v, g, fused)) continue;
        const m = tf.add(tf.mul(state.m, b1), tf.mul(g, 1 - b1));
        const v = tf.add(tf.mul(state.v, b2), tf.mul(tf.square(g), 1 - b2));
        const denom = tf.add(tf.sqrt(tf.div(v, correction2)), epsilon);
        p.assign(tf.sub(p, tf.mul(tf.div(m, denom), this.learningRate / correction1)));
        state.m.assign(m);
        state.v.assign(v);
      }
    });
  }

  /** The moments by name, `adam.m.<param>` and `adam.v.<param>`. */
  state(): Record<string, tf.Variable> {
    const out: Record<string, tf.Variable> = {};
    for (const [name, { m, v }] of this.moments) {
      out[`adam.m.${name}`] = m;
      out[`adam.v.${name}`] = v;
    }
    return out;
  }

  /** Restores moments saved by `state()` and the update count. */
  load(tensors: Record<string, { shape: number[]; data: Float32Array }>, step: number): void {
    this.step = step;
    for (const [key, t] of Object.entries(tensors)) {
      const match = /^adam\.(m|v)\.(.+)$/.exec(key);
      if (!match) continue;
      const [, which, name] = match as unknown as [string, 'm' | 'v', string];
      let entry = this.moments.get(name!);
      if (!entry) {
        entry = tf.tidy(() => ({ m: tf.variable(tf.zeros(t.shape), false), v: tf.variable(tf.zeros(t.shape), false) }));
        this.moments.set(name!, entry);
      }
      const target = which === 'm' ? entry.m : entry.v;
      tf.tidy(() => target.assign(tf.tensor(t.data, t.shape, 'float32')));
    }
  }

  dispose(): void {
    for (const { m, v } of this.moments.values()) {
      m.dispose();
      v.dispose();
    }
    this.moments.clear();
  }

  private momentsOf(name: string, p: tf.Variable): { m: tf.Variable; v: tf.Variable } {
    let entry = this.moments.get(name);
    if (!entry) {
      entry = tf.tidy(() => ({ m: tf.variable(tf.zerosLike(p), false), v: tf.variable(tf.zerosLike(p), false) }));
      this.moments.set(name, entry);
    }
    return entry;
  }
}
