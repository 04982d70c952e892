/**
 * Speech through the audio VQ-VAE: encode a waveform to codes, and decode
 * codes with any speaker's embedding, one sample at a time (generate.ts).
 * Decoding a speaker's codes with another speaker is voice conversion.
 */
import * as tf from '@tensorflow/tfjs-core';
import { hopLength } from './config.js';
import { generateLevels, type GenerateOptions } from './generate.js';
import type { AudioVqVae } from './model.js';
import { muLawDecode } from './mulaw.js';

/** Samples padded with silence to a whole number of code frames. */
export function padToHop(samples: Float32Array, hop: number): Float32Array {
  const frames = Math.max(1, Math.ceil(samples.length / hop));
  if (frames * hop === samples.length) return samples;
  const out = new Float32Array(frames * hop);
  out.set(samples);
  return out;
}

/**
 * Code indices [frames] of one waveform (padded to whole frames), in one
 * forward pass: the encoder's zero padding then lies only at the ends, as in
 * training, never at chunk seams (its receptive field is 190 samples).
 */
export function encodeSamples(model: AudioVqVae, samples: Float32Array): Int32Array {
  const padded = padToHop(samples, hopLength(model.config));
  const indices = tf.tidy(() => model.encode(tf.tensor2d(padded, [1, padded.length])).indices);
  const out = Int32Array.from(indices.dataSync());
  indices.dispose();
  return out;
}

/** A waveform [frames * hop] in [-1, 1] decoded from codes with `speaker`'s voice. */
export function decodeCodes(model: AudioVqVae, indices: Int32Array, speaker: number, options: GenerateOptions): Float32Array {
  return muLawDecode(generateLevels(model, indices, speaker, options), model.config.levels);
}
