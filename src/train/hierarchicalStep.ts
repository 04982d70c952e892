/**
 * One training step of the two-level model (model/hierarchical.ts), as
 * train/step.ts is for one level: the loss is the reconstruction term
 * (mean squared error / var(x), or -log p(x|z) per pixel value with the
 * categorical likelihood) plus both quantizers' losses; after Adam, each
 * level's quantizer takes its own update (EMA) from its own vectors and codes.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { HierarchicalVqVae } from '../model/hierarchical.js';
import { pixelNll } from '../model/likelihood.js';
import type { Optimizer } from './stepLoop.js';
import type { CodeIndices } from '../quantize/types.js';

/** What each level contributes to a step. */
export interface LevelStep {
  perplexity: tf.Scalar;
  codesUsed: tf.Scalar;
  encoded: tf.Tensor4D;
  /** [b, h, w]: the levels' quantizers are VQ or EMA (one codebook). */
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
