/**
 * k-means for codebook initialisation (as SoundStream and
 * lucidrains/vector-quantize-pytorch `kmeans_init` do): k-means++ seeding
 * (Arthur and Vassilvitskii 2007: each next centre drawn with probability
 * proportional to its squared distance to the nearest centre so far), then a
 * few Lloyd iterations (assign every vector to its nearest centre, move each
 * centre to the mean of its vectors; a centre that gets none stays where it is).
 *
 * Vectors are rows of a Float32Array [m, d]; the result is [k, d]. When
 * there are fewer distinct vectors than centres, the spare centres repeat
 * vectors (their distance weight is 0), so every centre is still a data point.
 */
import * as tf from '@tensorflow/tfjs-core';
import { mulberry32 } from '../random.js';
import { nearestCodes } from './ops.js';

export interface KMeansOptions {
  /** Lloyd iterations after the seeding; 10 as vector-quantize-pytorch's default. */
  iterations?: number;
  seed?: number;
}

export const KMEANS_ITERATIONS = 10;

/** k-means++ seeding: k rows of `vectors` [m, d]. */
export function kmeansPlusPlus(vectors: Float32Array, d: number, k: number, seed: number): Float32Array {
  const m = vectors.length / d;
  if (m < 1) throw new Error('k-means needs at least one vector');
  const random = mulberry32(seed);
  const centres = new Float32Array(k * d);
  const nearest = new Float64Array(m).fill(Infinity);
  let pick = Math.floor(random() * m);
  for (let c = 0; c < k; c++) {
    centres.set(vectors.subarray(pick * d, pick * d + d), c * d);
    let total = 0;
    for (let i = 0; i < m; i++) {
      let dist = 0;
      for (let j = 0; j < d; j++) {
        const diff = vectors[i * d + j]! - vectors[pick * d + j]!;
        dist += diff * diff;
      }
      if (dist < nearest[i]!) nearest[i] = dist;
      total += nearest[i]!;
    }
    if (c === k - 1) break;
    if (total > 0) {
      let target = random() * total;
      pick = m - 1;
      for (let i = 0; i < m; i++) {
        target -= nearest[i]!;
        if (target < 0) {
          pick = i;
          break;
        }
      }
    } else {
      pick = Math.floor(random() * m); // every vector is already a centre
    }
  }
  return centres;
}

/** k-means++ then Lloyd iterations: k centres [k, d] of `vectors` [m, d]. */
export function kmeans(vectors: Float32Array, d: number, k: number, options: KMeansOptions = {}): Float32Array {
  const m = vectors.length / d;
  const centres = kmeansPlusPlus(vectors, d, k, options.seed ?? 0);
  const data = tf.tensor2d(vectors, [m, d]);
  try {
    for (let it = 0; it < (options.iterations ?? KMEANS_ITERATIONS); it++) {
      const table = tf.tensor2d(centres, [k, d]);
      const assigned = nearestCodes(data, table);
      const owner = assigned.dataSync();
      tf.dispose([table, assigned]);
      const sums = new Float64Array(k * d);
      const counts = new Float64Array(k);
      for (let i = 0; i < m; i++) {
        const c = owner[i]!;
        counts[c]! += 1;
        for (let j = 0; j < d; j++) sums[c * d + j]! += vectors[i * d + j]!;
      }
      for (let c = 0; c < k; c++) {
        if (counts[c]! === 0) continue;
        for (let j = 0; j < d; j++) centres[c * d + j] = sums[c * d + j]! / counts[c]!;
      }
    }
  } finally {
    data.dispose();
  }
  return centres;
}

/** Mean squared distance of each row of `vectors` [m, d] to its nearest row of `centres` [k, d], in float64. */
export function quantizationError(vectors: Float32Array, centres: Float32Array, d: number): number {
  const m = vectors.length / d;
  const k = centres.length / d;
  let total = 0;
  for (let i = 0; i < m; i++) {
    let best = Infinity;
    for (let c = 0; c < k; c++) {
      let dist = 0;
      for (let j = 0; j < d; j++) {
        const diff = vectors[i * d + j]! - centres[c * d + j]!;
        dist += diff * diff;
      }
      if (dist < best) best = dist;
    }
    total += best;
  }
  return total / (m * d);
}
