/**
 * Measures of a trained audio model on a split:
 *
 * - bits per sample: the decoder's mean cross-entropy of the true mu-law
 *   levels (teacher forcing), in windows of `window` samples (whole code
 *   frames); each window starts with no audio history, as in training, so
 *   this is what the training loss estimates. The full forward pass is the
 *   slow part, so it runs on at most BITS_UTTERANCES utterances spread
 *   evenly over the split (every speaker's, in a split sorted by speaker);
 * - code usage: distinct codes and their perplexity over every frame;
 * - phoneme accuracy (phonemes.ts), where the utterances have phone timings.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { AudioUtterance } from '../data/wav.js';
import { hopLength } from './config.js';
import { encodeSamples } from './convert.js';
import { categoricalCrossEntropy, type AudioVqVae } from './model.js';
import { muLawEncode } from './mulaw.js';
import { codeUsage, phonemeAccuracy, type CodedUtterance, type PhonemeAccuracy } from './phonemes.js';

export const EVAL_WINDOW = 8192;
export const BITS_UTTERANCES = 24;

/** At most `count` items, evenly spaced over the list (all when it is shorter). */
export function spread<T>(items: readonly T[], count: number): T[] {
  if (items.length <= count) return [...items];
  return Array.from({ length: count }, (_, i) => items[Math.floor((i * items.length) / count)]!);
}

/** Mean bits per sample of the utterances' levels, in windows of `window` samples. */
export function bitsPerSample(model: AudioVqVae, utterances: readonly AudioUtterance[], window = EVAL_WINDOW): number {
  const hop = hopLength(model.config);
  const size = Math.max(hop, Math.floor(window / hop) * hop);
  let nats = 0;
  let samples = 0;
  for (const u of utterances) {
    for (let start = 0; start + hop <= u.samples.length; start += size) {
      const n = Math.floor(Math.min(size, u.samples.length - start) / hop) * hop;
      const chunk = u.samples.subarray(start, start + n);
      const ce = tf.tidy(() => {
        const x = tf.tensor2d(chunk, [1, n]);
        const levels = tf.tensor2d(muLawEncode(chunk, model.config.levels), [1, n], 'int32');
        const { quantized } = model.encode(x);
        const [, , f, d] = quantized.shape;
        const logits = model.decoder.apply(levels, tf.reshape(quantized, [1, f, d]) as tf.Tensor3D, tf.tensor1d([u.speaker], 'int32'));
        return categoricalCrossEntropy(logits, levels, model.config.levels).dataSync()[0]!;
      });
      nats += ce * n;
      samples += n;
    }
  }
  return samples > 0 ? nats / samples / Math.LN2 : Number.NaN;
}

export interface AudioEvaluation {
  utterances: number;
  bitsPerSample: number;
  codesUsed: number;
  codePerplexity: number;
  frames: number;
  /** With phone timings on both splits. */
  phonemes?: PhonemeAccuracy;
}

/** The codes of every utterance that has phone timings. */
export function codedUtterances(model: AudioVqVae, utterances: readonly AudioUtterance[]): CodedUtterance[] {
  return utterances.filter((u) => u.phones !== undefined).map((u) => ({ codes: encodeSamples(model, u.samples), phones: u.phones! }));
}

/** Every measure on `test`; `train` (when given) maps codes to phones. */
export function evaluateAudio(model: AudioVqVae, test: readonly AudioUtterance[], train?: readonly AudioUtterance[]): AudioEvaluation {
  const codes = test.map((u) => encodeSamples(model, u.samples));
  const usage = codeUsage(codes.flatMap((c) => [...c]), model.config.codebookSize);
  const result: AudioEvaluation = {
    utterances: test.length,
    bitsPerSample: bitsPerSample(model, spread(test, BITS_UTTERANCES)),
    codesUsed: usage.used,
    codePerplexity: usage.perplexity,
    frames: usage.total,
  };
  const testCoded = test.flatMap((u, i) => (u.phones ? [{ codes: codes[i]!, phones: u.phones }] : []));
  if (train && testCoded.length > 0) {
    const trainCoded = codedUtterances(model, train);
    if (trainCoded.length > 0) result.phonemes = phonemeAccuracy(trainCoded, testCoded, hopLength(model.config));
  }
  return result;
}

export function evaluationLine(e: AudioEvaluation): string {
  const parts = [`${e.bitsPerSample.toFixed(3)} bits per sample`, `codes used ${e.codesUsed} (perplexity ${e.codePerplexity.toFixed(1)})`];
  if (e.phonemes) {
    const p = e.phonemes;
    parts.push(`phoneme accuracy ${(100 * p.accuracy).toFixed(1)}% (chance: majority ${(100 * p.majority).toFixed(1)}%, uniform ${(100 * p.uniform).toFixed(1)}%, ${p.phones} phones)`);
  }
  return parts.join(', ');
}
