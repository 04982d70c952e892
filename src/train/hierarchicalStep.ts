/**
 * One training step of the two-level model (model/hierarchical.ts), as
 * train/step.ts is for one level: the loss is the reconstruction term
 * (mean squared error / var(x), or -log p(x|z) per pixel value with the
 * categorical likelihood) plus both quantizers' losses; after Adam, each
 * level's quantizer takes its own update (EMA; a no-op for the other kinds)
 * from its own vectors and codes.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { HierarchicalVqVae } from '../model/hierarchical.js';
import { pixelNll } from '../model/likelihood.js';
import type { Optimizer } from './stepLoop.js';
import type { CodeIndices, Quantizer } from '../quantize/types.js';
import { firstBatchVectors, INIT_VECTORS_PER_CODE, type BatchAt } from '../quantize/init.js';

/** What each level contributes to a step. */
export interface LevelStep {
  perplexity: tf.Scalar;
  codesUsed: tf.Scalar;
  encoded: tf.Tensor4D;
  /** [b, h, w], or [b, h, w, depth] for an rvq level. */
  indices: CodeIndices;
}

export interface HierarchicalStepGradients {
  loss: tf.Scalar;
  reconstructionLoss: tf.Scalar;
  /** Both quantizers' losses summed. */
  vqLoss: tf.Scalar;
  top: LevelStep;
  bottom: LevelStep;
  /** d loss / d variable, by the names of `model.trainable()`. */
  grads: Record<string, tf.Tensor>;
}

/** The loss of batch x [b, H, W, C] and the gradient of every trainable variable; changes nothing. */
export function hierarchicalStepGradients(model: HierarchicalVqVae, x: tf.Tensor4D, dataVariance: number): HierarchicalStepGradients {
  const params = model.trainable();
  const names = new Map(Object.entries(params).map(([name, v]) => [v.name, name]));
  let kept: Omit<HierarchicalStepGradients, 'loss' | 'grads'> | undefined;
  const level = (out: LevelStep): LevelStep => ({
    perplexity: tf.keep(out.perplexity),
    codesUsed: tf.keep(out.codesUsed),
    encoded: tf.keep(out.encoded),
    indices: tf.keep(out.indices),
  });
  const { value, grads } = tf.variableGrads(() => {
    const out = model.forward(x);
    const reconstructionLoss = (
      out.logits ? tf.mean(pixelNll(out.logits, x)) : tf.div(tf.mean(tf.squaredDifference(out.reconstruction, x)), dataVariance)
    ) as tf.Scalar;
    kept = {
      reconstructionLoss: tf.keep(reconstructionLoss),
      vqLoss: tf.keep(out.vqLoss),
      top: level(out.top),
      bottom: level(out.bottom),
    };
    return tf.add(reconstructionLoss, out.vqLoss) as tf.Scalar;
  }, Object.values(params));
  const byName = Object.fromEntries(Object.entries(grads).map(([k, g]) => [names.get(k)!, g]));
  return { loss: value, grads: byName, ...kept! };
}

/** Adam on the gradients, then each level's quantizer update (EMA) from that level's vectors and codes. */
export function applyHierarchicalStep(model: HierarchicalVqVae, optimizer: Optimizer, step: Pick<HierarchicalStepGradients, 'grads' | 'top' | 'bottom'>): void {
  optimizer.apply(model.trainable(), step.grads);
  model.topQuantizer.update(step.top.encoded, step.top.indices);
  model.bottomQuantizer.update(step.bottom.encoded, step.bottom.indices);
}

export function disposeHierarchicalStep(step: HierarchicalStepGradients): void {
  const { grads, top, bottom, ...scalars } = step;
  tf.dispose([...Object.values(scalars), ...Object.values(top), ...Object.values(bottom), ...Object.values(grads)]);
}

/**
 * `--codebook-init kmeans` on each level that has it and a learned codebook
 * (vq, ema; quantize/init.ts wantsKmeansInit), before step `kmeansWarmup` of
 * that level (0: before step 1), on the run's batches from that step on, as
 * quantize/init.ts does for one level: the top codebook becomes the k-means
 * centres of the top vectors; then the bottom one those of the bottom
 * vectors, computed given the (new) top codes. Returns how many vectors each
 * level used (0: no k-means init of that level at this step).
 */
export function initializeLevelCodebooks(model: HierarchicalVqVae, batchAt: BatchAt, step = 0): { top: number; bottom: number } {
  const at = (i: number) => batchAt(step + i);
  const top = initStep(model, 'top') === step
    ? initializeLevel(model.topQuantizer, at, (x) => model.encodeTop(model.encodeFeatures(x)))
    : 0;
  const bottom = initStep(model, 'bottom') === step
    ? initializeLevel(model.bottomQuantizer, at, (x) => {
      const features = model.encodeFeatures(x);
      return model.encodeBottom(features, model.topQuantizer.apply(model.encodeTop(features)).quantized);
    })
    : 0;
  return { top, bottom };
}

/** The step before which `level`'s codebook starts from k-means (undefined: it does not). */
export function initStep(model: HierarchicalVqVae, level: 'top' | 'bottom'): number | undefined {
  const config = model.levelConfigs[level];
  const quantizer = level === 'top' ? model.topQuantizer : model.bottomQuantizer;
  return config.codebookInit === 'kmeans' && quantizer.initialize !== undefined ? config.kmeansWarmup : undefined;
}

/** One level's k-means init from `vectorsOf(batch)` [b, h, w, D] over the first batches (about INIT_VECTORS_PER_CODE per code). */
function initializeLevel(quantizer: Quantizer, batchAt: BatchAt, vectorsOf: (x: tf.Tensor4D) => tf.Tensor4D): number {
  const { vectors, count } = firstBatchVectors(batchAt, quantizer.codeDim, quantizer.codebookSize * INIT_VECTORS_PER_CODE, vectorsOf);
  try {
    quantizer.initialize!(vectors);
  } finally {
    vectors.dispose();
  }
  return count;
}
