/**
 * What training the audio model needs besides a loop: batches of random
 * windows of speech, and one step (gradients of the loss, Adam, then the
 * quantizer's own update).
 *
 * A batch is `batch` windows of `window` samples (a multiple of the hop),
 * each from a random utterance at a random offset (utterances shorter than
 * the window are padded with silence at the end), with their mu-law levels
 * and speakers. The same seed gives the same batches.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { AudioDataset } from '../data/wav.js';
import { mulberry32, type Rng } from '../random.js';
import type { ComputedStep, Stepper } from '../train/stepLoop.js';
import type { AudioVqVae } from './model.js';
import { muLawEncode } from './mulaw.js';

export interface AudioBatch {
  readonly batch: number;
  readonly window: number;
  /** [batch * window] samples in [-1, 1]. */
  readonly samples: Float32Array;
  /** [batch * window] mu-law levels of the samples. */
  readonly levels: Int32Array;
  /** [batch] speaker indices. */
  readonly speakers: Int32Array;
}

export function sampleBatch(data: AudioDataset, batch: number, window: number, levels: number, rng: Rng): AudioBatch {
  const samples = new Float32Array(batch * window);
  const speakers = new Int32Array(batch);
  for (let b = 0; b < batch; b++) {
    const u = data.utterances[Math.floor(rng() * data.utterances.length)]!;
    const start = u.samples.length > window ? Math.floor(rng() * (u.samples.length - window + 1)) : 0;
    samples.set(u.samples.subarray(start, start + window), b * window);
    speakers[b] = u.speaker;
  }
  return { batch, window, samples, levels: muLawEncode(samples, levels), speakers };
}

/** What one audio step computed (stepLoop.ts's ComputedStep, with z_e and codes for the EMA update). */
export interface AudioComputedStep extends ComputedStep {
  encoded: tf.Tensor3D;
  indices: tf.Tensor3D;
}

/** The seeded generator of step `step`'s batch: the same step always gets the same batch (so a resumed run continues the same sequence). */
export function batchRng(seed: number, step: number): Rng {
  return mulberry32((Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(step + 1, 0x85ebca77)) >>> 0);
}

/**
 * The audio model as the run engine's step loop trains it: the batch of
 * step s is `batch` windows drawn with batchRng(seed, s); the loss is the
 * model's total loss; metrics are the cross-entropy in bits per sample, the
 * quantizer's loss, perplexity and codes used.
 */
export function audioStepper(model: AudioVqVae, data: AudioDataset, options: { batch: number; window: number; seed: number }): Stepper<AudioComputedStep> {
  return {
    computeGradients(step) {
      const batch = sampleBatch(data, options.batch, options.window, model.config.levels, batchRng(options.seed, step));
      const params = model.trainable();
      const names = new Map(Object.entries(params).map(([name, v]) => [v.name, name]));
      const x = tf.tensor2d(batch.samples, [batch.batch, batch.window]);
      const targets = tf.tensor2d(batch.levels, [batch.batch, batch.window], 'int32');
      const speakers = tf.tensor1d(batch.speakers, 'int32');
      let kept: { ce: tf.Scalar; vq: tf.Scalar; perplexity: tf.Scalar; codesUsed: tf.Scalar; encoded: tf.Tensor3D; indices: tf.Tensor3D } | undefined;
      const { value, grads } = tf.variableGrads(() => {
        const out = model.forward(x, targets, speakers);
        kept = {
          ce: tf.keep(out.crossEntropy), vq: tf.keep(out.loss), perplexity: tf.keep(out.perplexity), codesUsed: tf.keep(out.codesUsed),
          encoded: tf.keep(out.encoded), indices: tf.keep(out.indices as tf.Tensor3D),
        };
        return out.totalLoss;
      }, Object.values(params));
      tf.dispose([x, targets, speakers]);
      const k = kept!;
      const byName = Object.fromEntries(Object.entries(grads).map(([name, g]) => [names.get(name)!, g]));
      const loss = value.dataSync()[0]!;
      value.dispose();
      return {
        loss,
        metrics: {
          bitsPerSample: k.ce.dataSync()[0]! / Math.LN2,
          vqLoss: k.vq.dataSync()[0]!,
          perplexity: k.perplexity.dataSync()[0]!,
          codesUsed: k.codesUsed.dataSync()[0]!,
        },
        grads: byName,
        encoded: k.encoded,
        indices: k.indices,
        dispose: () => tf.dispose([...Object.values(byName), ...Object.values(k)]),
      };
    },
    applyGradients(computed, optimizer) {
      optimizer.apply(model.trainable(), computed.grads);
      const [b, f, d] = computed.encoded.shape;
      tf.tidy(() => model.quantizer.update(tf.reshape(computed.encoded, [b, 1, f, d]) as tf.Tensor4D, computed.indices));
    },
  };
}
