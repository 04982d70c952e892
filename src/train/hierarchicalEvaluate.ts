/**
 * Evaluation of the two-level model (model/hierarchical.ts) on a data set,
 * as train/evaluate.ts for one level: mse and psnrDb of the clipped
 * reconstruction (pixels in [0, 1]), -log p(x|z) per pixel value with the
 * categorical likelihood, and each level's code usage (perplexity, codes
 * used) over the whole set. Changes no state.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ImageDataset } from '../data/dataset.js';
import type { HierarchicalVqVae } from '../model/hierarchical.js';
import { pixelNll } from '../model/likelihood.js';
import { sliceImages } from './batches.js';
import { type EvalMetrics, type EvaluateOptions, usage } from './evaluate.js';

export interface LevelUsage {
  perplexity: number;
  codesUsed: number;
}

export interface HierarchicalEvalMetrics extends Omit<EvalMetrics, 'perplexity' | 'codesUsed'> {
  top: LevelUsage;
  bottom: LevelUsage;
}

export interface HierarchicalEvaluateOptions extends Omit<EvaluateOptions, 'onIndices'> {
  /** Called with both levels' code indices of images [start, start + n). */
  onIndices?: (start: number, top: Int32Array, bottom: Int32Array) => void;
}

export function evaluateHierarchical(model: HierarchicalVqVae, data: ImageDataset, options: HierarchicalEvaluateOptions = {}): HierarchicalEvalMetrics {
  const batch = options.batch ?? 256;
  const total = Math.min(data.count, options.limit ?? data.count);
  const counts = { top: new Float64Array(model.config.top.codebookSize), bottom: new Float64Array(model.config.model.codebookSize) };
  let squaredError = 0;
  let nats = 0;
  for (let start = 0; start < total; start += batch) {
    const end = Math.min(total, start + batch);
    const x = sliceImages(data, start, end);
    const [errorSum, top, bottom, natsSum] = tf.tidy(() => {
      const out = model.forward(x);
      const shown = tf.clipByValue(tf.add(out.reconstruction, 0.5), 0, 1);
      const error = tf.sum(tf.squaredDifference(shown, tf.add(x, 0.5)));
      const nll = out.logits ? tf.sum(pixelNll(out.logits, x)).dataSync()[0]! : 0;
      return [error.dataSync()[0]!, out.top.indices.dataSync() as Int32Array, out.bottom.indices.dataSync() as Int32Array, nll] as const;
    });
    x.dispose();
    squaredError += errorSum;
    nats += natsSum;
    options.onIndices?.(start, top, bottom);
    for (const v of top) counts.top[v]! += 1;
    for (const v of bottom) counts.bottom[v]! += 1;
    options.onProgress?.(end, total);
  }
  const values = total * data.height * data.width * data.channels;
  const mse = squaredError / values;
  const metrics: HierarchicalEvalMetrics = { mse, psnrDb: 10 * Math.log10(1 / mse), top: usage(counts.top), bottom: usage(counts.bottom), images: total };
  if (model.config.model.likelihood === 'categorical') metrics.reconstructionNats = nats / values;
  return metrics;
}
