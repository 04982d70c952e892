/**
 * Dead-code restarts (Jukebox; SoundStream; lucidrains/vector-quantize-pytorch
 * `threshold_ema_dead_code`): each code keeps a running usage
 *
 *   u_i <- g * u_i + (1 - g) * n_i * K / m,    g = USAGE_DECAY, u_i = 1 at the start,
 *
 * with n_i the vectors of the step's batch that chose code i and m all of
 * them, so u_i = 1 is a fair share. After a step, every code with u_i below
 * the threshold U is replaced by an encoder output of that batch: the batch's
 * vectors farthest from their own code first (the ones the codebook serves
 * worst), one each, and its usage starts again at 1. The usage lives in the
 * checkpoint (`<name>.usage`), so `--resume` restarts the same codes.
 *
 * Axis legend: m - vectors, d - code dimension, k - codes.
 */
import * as tf from '@tensorflow/tfjs-core';
import { codeCounts } from './ops.js';

/** Decay of the running usage: a code that stops being chosen falls below 0.05 in about 60 steps. */
export const USAGE_DECAY = 0.95;

export interface Restart {
  /** The codes to replace, ascending. */
  codes: number[];
  /** Their new values, [codes.length, d] row-major. */
  vectors: Float32Array;
}

export class DeadCodeRestarter {
  readonly usage: tf.Variable;
  /** Codes restarted since the last `takeRestarted()`. */
  private restarted = 0;

  constructor(readonly codebookSize: number, readonly threshold: number) {
    this.usage = tf.variable(tf.ones([codebookSize]), false);
  }

  /**
   * Updates the running usage with a step's vectors `flat` [m, d] (as the
   * search saw them) and their `indices` [m] into `table` [k, d], and says
   * which codes to restart with which vectors (none: undefined).
   */
  step(flat: tf.Tensor2D, indices: tf.Tensor, table: tf.Tensor2D): Restart | undefined {
    const k = this.codebookSize;
    const m = flat.shape[0];
    const usage = tf.tidy(() => {
      const share = tf.mul(codeCounts(indices, k), k / m);
      return tf.add(tf.mul(this.usage, USAGE_DECAY), tf.mul(share, 1 - USAGE_DECAY));
    });
    const values = usage.dataSync() as Float32Array;
    const dead: number[] = [];
    for (let i = 0; i < k; i++) if (values[i]! < this.threshold) dead.push(i);
    if (dead.length === 0) {
      this.usage.assign(usage);
      usage.dispose();
      return undefined;
    }
    const d = flat.shape[1];
    const distances = tf.tidy(() => {
      const own = tf.gather(table, tf.reshape(tf.cast(indices, 'int32'), [-1]));
      return tf.sum(tf.squaredDifference(flat, own), 1).dataSync() as Float32Array;
    });
    // Farthest first; ties by position, so the choice is the same on every backend.
    const order = Array.from(distances.keys()).sort((a, b) => distances[b]! - distances[a]! || a - b);
    const data = flat.dataSync() as Float32Array;
    const vectors = new Float32Array(dead.length * d);
    dead.forEach((_, j) => {
      const row = order[j % m]!;
      vectors.set(data.subarray(row * d, row * d + d), j * d);
    });
    const fresh = Float32Array.from(values);
    for (const c of dead) fresh[c] = 1;
    tf.tidy(() => this.usage.assign(tf.tensor1d(fresh)));
    usage.dispose();
    this.restarted += dead.length;
    return { codes: dead, vectors };
  }

  /** Every code's running usage back to a fair share (1). */
  resetUsage(): void {
    tf.tidy(() => this.usage.assign(tf.onesLike(this.usage)));
  }

  /** How many codes were restarted since the last call. */
  takeRestarted(): number {
    const n = this.restarted;
    this.restarted = 0;
    return n;
  }

  dispose(): void {
    this.usage.dispose();
  }
}

/** `variable` [k, d] with rows `codes` replaced by `vectors` [codes.length, d]. */
export function replaceRows(variable: tf.Variable, codes: readonly number[], vectors: Float32Array): void {
  const d = variable.shape[1]!;
  const values = Float32Array.from(variable.dataSync() as Float32Array);
  codes.forEach((c, j) => values.set(vectors.subarray(j * d, j * d + d), c * d));
  tf.tidy(() => variable.assign(tf.tensor(values, variable.shape)));
}

/** `variable` [k] with entries `codes` set to `value`. */
export function setEntries(variable: tf.Variable, codes: readonly number[], value: number): void {
  const values = Float32Array.from(variable.dataSync() as Float32Array);
  for (const c of codes) values[c] = value;
  tf.tidy(() => variable.assign(tf.tensor(values, variable.shape)));
}
