/**
 * `--codebook-init kmeans`: before training step W (`--kmeans-warmup W`,
 * config `kmeansWarmup`; 0: before the first step), the codebook becomes the
 * k-means centres (kmeans.ts) of the encoder's outputs on the run's batches
 * from step W on, enough of them for about INIT_VECTORS_PER_CODE vectors per
 * code (at most MAX_INIT_BATCHES). After a warm-up the encoder has learned
 * something, so the centres fit the outputs it goes on to give; at step 0
 * they fit an untrained encoder's. The batches are the run's own (its seeded
 * order), so the result is the same on every run with that seed, and a
 * resumed run does it only if it had not reached step W.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { VqVae } from '../model/vqvae.js';

export const INIT_VECTORS_PER_CODE = 2;
export const MAX_INIT_BATCHES = 16;

/** The step before which the model's codebook starts from k-means (undefined: it does not). */
export function codebookInitStep(model: VqVae): number | undefined {
  return wantsKmeansInit(model) ? model.config.kmeansWarmup : undefined;
}

/** Batches [b, H, W, C] of the run in input scale, by step. */
export type BatchAt = (step: number) => tf.Tensor4D;

/** Whether the model's codebook starts from k-means of its first batches. */
export function wantsKmeansInit(model: VqVae): boolean {
  return model.config.codebookInit === 'kmeans' && model.quantizer.initialize !== undefined;
}

/**
 * The k-means initialisation, if the model's config asks for it, on the
 * encoder's outputs of batchAt(0), batchAt(1), ..., k-means++ seeded by
 * `seed` (the run's: a resumed run draws as the uninterrupted one); returns
 * how many vectors it used (0: none).
 */
export function initializeCodebook(model: VqVae, batchAt: BatchAt, seed: number): number {
  if (!wantsKmeansInit(model)) return 0;
  const { vectors, count } = firstBatchVectors(batchAt, model.config.codeDim, model.config.codebookSize * INIT_VECTORS_PER_CODE, (x) => model.encode(x));
  try {
    model.quantizer.initialize!(vectors, seed);
  } finally {
    vectors.dispose();
  }
  return count;
}

/**
 * `vectorsOf(batchAt(i))` of batches 0, 1, ... (at most MAX_INIT_BATCHES)
 * flattened to [n, codeDim] and concatenated, until at least `wanted`
 * vectors: what k-means initialisation fits. The caller disposes `vectors`.
 */
export function firstBatchVectors(
  batchAt: BatchAt,
  codeDim: number,
  wanted: number,
  vectorsOf: (x: tf.Tensor4D) => tf.Tensor,
): { vectors: tf.Tensor2D; count: number } {
  const encoded: tf.Tensor2D[] = [];
  let count = 0;
  for (let i = 0; i < MAX_INIT_BATCHES && count < wanted; i++) {
    const x = batchAt(i);
    const z = tf.tidy(() => tf.reshape(vectorsOf(x), [-1, codeDim]) as tf.Tensor2D);
    x.dispose();
    encoded.push(z);
    count += z.shape[0];
  }
  const vectors = tf.concat(encoded, 0);
  tf.dispose(encoded);
  return { vectors, count };
}
