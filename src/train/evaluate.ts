/**
 * Evaluation of a trained VQ-VAE on a data set: how well it reconstructs and
 * how it uses its codebook. Changes no state (the EMA codebook included).
 *
 * - mse: mean squared error per pixel value, pixels scaled to [0, 1], with the
 *   reconstruction clipped to [0, 1] as it would be shown;
 * - psnrDb: 10 log10(1 / mse);
 * - perplexity: exp of the entropy of code usage over the whole set;
 * - codesUsed: how many distinct codes the set uses;
 * - reconstructionNats (categorical likelihood only): -log p(x|z) per pixel
 *   value in nats, averaged over the set; / ln 2 it is bits per dimension.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ImageDataset } from '../data/dataset.js';
import type { VqVae } from '../model/vqvae.js';
import { pixelNll } from '../model/likelihood.js';
import { shareOf, type ShardedSum } from '../distributed/shard.js';
import { sliceImages } from './batches.js';

export interface EvalMetrics {
  mse: number;
  psnrDb: number;
  perplexity: number;
  codesUsed: number;
  images: number;
  /** Categorical likelihood only: mean -log p(x|z) per pixel value, in nats. */
  reconstructionNats?: number;
}

export interface EvaluateOptions {
  /** Images per forward pass. */
  batch?: number;
  /** Evaluate only the first N images. */
  limit?: number;
  /** Called after each batch with the number of images done. */
  onProgress?: (done: number, total: number) => void;
  /** Called with the code indices [n, h, w] of images [start, start + n), so a caller can keep them. */
  onIndices?: (start: number, indices: Int32Array) => void;
  /**
   * The processes of a data-parallel run: each evaluates its share of the
   * images and the sums are combined, so every process gets the figures of
   * the whole set.
   */
  communicator?: ShardedSum;
}

export function evaluate(model: VqVae, data: ImageDataset, options: EvaluateOptions = {}): EvalMetrics {
  const batch = options.batch ?? 256;
  const total = Math.min(data.count, options.limit ?? data.count);
  const k = model.config.codebookSize;
  const counts = new Float64Array(k);
  let squaredError = 0;
  let nats = 0;
  const comm = options.communicator;
  const [first, last] = comm ? shareOf(total, comm.rank, comm.size) : [0, total];
  for (let start = first; start < last; start += batch) {
    const end = Math.min(last, start + batch);
    const x = sliceImages(data, start, end);
    const [errorSum, indices, natsSum] = tf.tidy(() => {
      const out = model.forward(x);
      const shown = tf.clipByValue(tf.add(out.reconstruction, 0.5), 0, 1);
      const error = tf.sum(tf.squaredDifference(shown, tf.add(x, 0.5)));
      const nll = out.logits ? tf.sum(pixelNll(out.logits, x)).dataSync()[0]! : 0;
      return [error.dataSync()[0]!, out.indices.dataSync(), nll] as const;
    });
    x.dispose();
    squaredError += errorSum;
    nats += natsSum;
    options.onIndices?.(start, indices as Int32Array);
    for (let i = 0; i < indices.length; i++) counts[indices[i]!] += 1;
    options.onProgress?.(end - first, last - first);
  }
  if (comm && comm.size > 1) {
    const summed = comm.allReduceSum([squaredError, nats, ...counts]);
    [squaredError, nats] = summed as [number, number];
    counts.set(summed.slice(2));
  }
  const values = total * data.height * data.width * data.channels;
  const mse = squaredError / values;
  const metrics: EvalMetrics = { mse, psnrDb: 10 * Math.log10(1 / mse), ...usage(counts), images: total };
  if (model.config.likelihood === 'categorical') metrics.reconstructionNats = nats / values;
  return metrics;
}

/** Perplexity and codes used from code counts, in float64. */
export function usage(counts: ArrayLike<number>): { perplexity: number; codesUsed: number } {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i]!;
  let entropy = 0;
  let codesUsed = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i]!;
    if (c > 0) {
      const p = c / total;
      entropy -= p * Math.log(p);
      codesUsed += 1;
    }
  }
  return { perplexity: Math.exp(entropy), codesUsed };
}
