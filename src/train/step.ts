/**
 * One training step, split where a caller may want to look in between
 * (the trainer, and the parity tests that compare it with PyTorch):
 *
 *   const s = stepGradients(model, x, dataVariance);  // loss, its terms, gradients
 *   applyStep(model, optimizer, s);                    // Adam (any Optimizer), then the EMA codebook update
 *   disposeStep(s);
 *
 * The loss is Sonnet's: mean((x_hat - x)^2) / var(x) + the quantizer's loss,
 * or, for a model with the categorical likelihood (model/likelihood.ts), the
 * mean -log p(x|z) per pixel value in nats in place of the first term.
 *
 * `vqvaeStepper` wraps the three as the step loop's plug-in (stepLoop.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { pixelNll } from '../model/likelihood.js';
import type { VqVae } from '../model/vqvae.js';
import { codebookInitStep, initializeCodebook } from '../quantize/init.js';
import type { CodeIndices } from '../quantize/types.js';
import { BatchSampler } from './batches.js';
import { shareCounts } from '../distributed/shard.js';
import type { Communicator, ComputedStep, Optimizer, Stepper } from './stepLoop.js';

export interface StepGradients {
  loss: tf.Scalar;
  reconstructionLoss: tf.Scalar;
  /** The quantizer's loss (codebook + beta * commitment, or beta * commitment for EMA). */
  vqLoss: tf.Scalar;
  perplexity: tf.Scalar;
  codesUsed: tf.Scalar;
  /** z_e and the chosen codes, for the EMA update. */
  encoded: tf.Tensor4D;
  indices: CodeIndices;
  /** d loss / d variable, by the names of `model.trainable()`. */
  grads: Record<string, tf.Tensor>;
}

/** The loss of batch x [b, H, W, C] and the gradient of every trainable variable; changes nothing. */
export function stepGradients(model: VqVae, x: tf.Tensor4D, dataVariance: number): StepGradients {
  const params = model.trainable();
  const names = new Map(Object.entries(params).map(([name, v]) => [v.name, name]));
  let kept: Omit<StepGradients, 'loss' | 'grads'> | undefined;
  const { value, grads } = tf.variableGrads(() => {
    const out = model.forward(x);
    const reconstructionLoss = (
      out.logits
        ? tf.mean(pixelNll(out.logits, x))
        : tf.div(tf.mean(tf.squaredDifference(out.reconstruction, x)), dataVariance)
    ) as tf.Scalar;
    kept = {
      reconstructionLoss: tf.keep(reconstructionLoss),
      vqLoss: tf.keep(out.loss),
      perplexity: tf.keep(out.perplexity),
      codesUsed: tf.keep(out.codesUsed),
      encoded: tf.keep(out.encoded),
      indices: tf.keep(out.indices),
    };
    return tf.add(reconstructionLoss, out.loss) as tf.Scalar;
  }, Object.values(params));
  const byName = Object.fromEntries(Object.entries(grads).map(([k, g]) => [names.get(k)!, g]));
  return { loss: value, grads: byName, ...kept! };
}

/** Adam on the gradients, then the quantizer's own update (EMA) from the step's z_e and codes. */
export function applyStep(model: VqVae, optimizer: Optimizer, step: Pick<StepGradients, 'grads' | 'encoded' | 'indices'>): void {
  optimizer.apply(model.trainable(), step.grads);
  model.quantizer.update(step.encoded, step.indices);
}

export function disposeStep(step: StepGradients): void {
  const { grads, ...tensors } = step;
  tf.dispose([...Object.values(tensors), ...Object.values(grads)]);
}

/** A VQ-VAE step as the loop sees it: metrics reconstructionLoss, vqLoss, perplexity, codesUsed. */
export interface VqVaeComputedStep extends ComputedStep {
  encoded: tf.Tensor4D;
  indices: CodeIndices;
}

/**
 * The VQ-VAE as the step loop's plug-in: step i trains on `sampler.batchAt(i)`.
 * In a data-parallel run (`communicator`, the sampler giving this process's
 * share of each batch of `sampler.batch`), a quantizer with state of its own
 * (the EMA codebook) updates from the whole batch's z_e and codes, gathered
 * from every process, so each applies the update one process would.
 */
export function vqvaeStepper(model: VqVae, sampler: BatchSampler, dataVariance: number, communicator?: Communicator): Stepper<VqVaeComputedStep> {
  const quantizer = model.quantizer;
  const gathers = communicator !== undefined && communicator.size > 1 && Object.keys(quantizer.state()).length > Object.keys(quantizer.trainable()).length;
  return {
    computeGradients(step) {
      if (step === codebookInitStep(model)) {
        // --codebook-init kmeans (after --kmeans-warmup steps): on the whole batches, so every process computes the codebook one process would.
        const whole = communicator !== undefined && communicator.size > 1 ? new BatchSampler(sampler.data, sampler.batch, sampler.seed) : sampler;
        initializeCodebook(model, (i) => whole.batchAt(step + i), sampler.seed);
      }
      const x = sampler.batchAt(step);
      const s = stepGradients(model, x, dataVariance);
      x.dispose();
      const [loss, reconstructionLoss, vqLoss, perplexity, codesUsed] = [s.loss, s.reconstructionLoss, s.vqLoss, s.perplexity, s.codesUsed].map(
        (t) => t.dataSync()[0]!,
      );
      return {
        loss: loss!,
        metrics: { reconstructionLoss: reconstructionLoss!, vqLoss: vqLoss!, perplexity: perplexity!, codesUsed: codesUsed! },
        grads: s.grads,
        encoded: s.encoded,
        indices: s.indices,
        dispose: () => disposeStep(s),
      };
    },
    applyGradients(computed, optimizer) {
      if (!gathers) return applyStep(model, optimizer, computed);
      const encoded = gatherRows(communicator!, computed.encoded, sampler.batch);
      const indices = gatherRows(communicator!, computed.indices, sampler.batch);
      applyStep(model, optimizer, { grads: computed.grads, encoded, indices });
      tf.dispose([encoded, indices]);
    },
  };
}

/**
 * The rows of every process's `part` ([b_r, ...], b_r its share of
 * `globalRows`, distributed/shard.ts) in rank order, on every process: the
 * whole batch's tensor, as one process would have computed it.
 */
export function gatherRows<T extends tf.Tensor>(comm: Communicator, part: T, globalRows: number): T {
  const rowSize = part.shape.slice(1).reduce((a, b) => a * b, 1);
  const values = part.dataSync() as Float32Array | Int32Array;
  const all = comm.allGather(values, shareCounts(globalRows, comm.size, rowSize));
  return tf.tensor(all, [globalRows, ...part.shape.slice(1)], part.dtype) as T;
}
