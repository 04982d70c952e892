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
import type { Rng } from '../random.js';
import type { Adam } from '../train/adam.js';
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

export interface AudioStepResult {
  /** Total loss. */
  loss: number;
  /** Cross-entropy in bits per sample. */
  bitsPerSample: number;
  vqLoss: number;
  perplexity: number;
  codesUsed: number;
}

/** Gradients of the loss on `batch`, Adam, then the quantizer's update (EMA); returns the step's numbers. */
export function audioTrainStep(model: AudioVqVae, optimizer: Adam, batch: AudioBatch): AudioStepResult {
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
      encoded: tf.keep(out.encoded), indices: tf.keep(out.indices),
    };
    return out.totalLoss;
  }, Object.values(params));
  const byName = Object.fromEntries(Object.entries(grads).map(([k, g]) => [names.get(k)!, g]));
  optimizer.apply(params, byName);
  const { encoded, indices } = kept!;
  const [b, f, d] = encoded.shape;
  tf.tidy(() => model.quantizer.update(tf.reshape(encoded, [b, 1, f, d]) as tf.Tensor4D, indices));
  const result: AudioStepResult = {
    loss: value.dataSync()[0]!,
    bitsPerSample: kept!.ce.dataSync()[0]! / Math.LN2,
    vqLoss: kept!.vq.dataSync()[0]!,
    perplexity: kept!.perplexity.dataSync()[0]!,
    codesUsed: kept!.codesUsed.dataSync()[0]!,
  };
  tf.dispose([x, targets, speakers, value, ...Object.values(grads), ...Object.values(kept!)]);
  return result;
}
