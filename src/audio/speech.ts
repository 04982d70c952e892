/**
 * Speech through the audio VQ-VAE with no file system and no native addon,
 * for the browser page as for Node: a waveform to codes (encodeSamples), and
 * codes back to a waveform one sample at a time with cached activations
 * (Paine et al. 2016, "Fast Wavenet Generation Algorithm") in plain
 * JavaScript (JsStepKernel), resumable in slices (Generation) so a page can
 * show progress. generate.ts adds the native step, convert.ts decodeCodes.
 *
 * Layer l of dilation d needs h_l[t - d] at step t: its queue holds the last
 * d inputs h_l, slot t mod d, read before it is overwritten with h_l[t].
 * The queues start at zero, which is the zero padding of the full forward
 * pass (wavenet.ts), so teacher-forced steps reproduce its logits exactly
 * (test/audio/generate.test.ts checks it).
 *
 * Weights come packed by `WaveNet.packWeights()`; the conditioning per code
 * frame by `WaveNet.conditioning()`, [frames, L, 2C].
 */
import * as tf from '@tensorflow/tfjs-core';
import { hopLength, type AudioConfig } from './config.js';
import type { AudioVqVae } from './model.js';
import { muLawTable } from './mulaw.js';

/** [C, S, levels, L, d_0 .. d_{L-1}]: what a step needs to know of the shapes. */
export function stepDims(config: AudioConfig): Int32Array {
  return Int32Array.from([config.residualChannels, config.skipChannels, config.levels, config.dilations.length, ...config.dilations]);
}

/** Floats of every layer's queue together: sum_l d_l * C. */
export function stateSize(config: AudioConfig): number {
  return config.dilations.reduce((a, d) => a + d, 0) * config.residualChannels;
}

export interface StepKernel {
  /**
   * One step: from the previous sample's value and this step's conditioning
   * (cond[condOffset ..], L * 2C floats), writes the logits, updates the
   * queues in `state` for time t, and returns the level drawn with uniform
   * `u` (inverse CDF of softmax(logits)), or -1 when u < 0.
   */
  step(weights: Float32Array, state: Float32Array, cond: Float32Array, condOffset: number, input: number, t: number, dims: Int32Array, logits: Float32Array, u: number): number;
}

/** The step in JavaScript. Scratch buffers are sized on first use. */
export class JsStepKernel implements StepKernel {
  private scratch = new Float32Array(0);

  step(weights: Float32Array, state: Float32Array, cond: Float32Array, condOffset: number, input: number, t: number, dims: Int32Array, logits: Float32Array, u: number): number {
    const c = dims[0]!, s = dims[1]!, levels = dims[2]!, layers = dims[3]!;
    const need = c + 2 * c + 2 * c + c + (c + s) + s + s;
    if (this.scratch.length < need) this.scratch = new Float32Array(need);
    const buf = this.scratch;
    const h = buf.subarray(0, c);
    const x2 = buf.subarray(c, 3 * c);
    const a = buf.subarray(3 * c, 5 * c);
    const z = buf.subarray(5 * c, 6 * c);
    const rs = buf.subarray(6 * c, 7 * c + s);
    const skip = buf.subarray(7 * c + s, 7 * c + 2 * s);
    const hidden = buf.subarray(7 * c + 2 * s, 7 * c + 3 * s);
    let w = 0;
    for (let i = 0; i < c; i++) h[i] = input * weights[w + i]! + weights[w + c + i]!;
    w += 2 * c;
    skip.fill(0);
    let q = 0;
    for (let l = 0; l < layers; l++) {
      const d = dims[4 + l]!;
      const slot = q + (t % d) * c;
      for (let i = 0; i < c; i++) {
        x2[i] = state[slot + i]!;
        x2[c + i] = h[i]!;
        state[slot + i] = h[i]!;
      }
      q += d * c;
      const base = condOffset + l * 2 * c;
      for (let o = 0; o < 2 * c; o++) a[o] = cond[base + o]!;
      matVecAdd(x2, weights, w, 2 * c, 2 * c, a);
      w += 4 * c * c;
      for (let i = 0; i < c; i++) z[i] = Math.tanh(a[i]!) * (1 / (1 + Math.exp(-a[c + i]!)));
      for (let o = 0; o < c + s; o++) rs[o] = weights[w + c * (c + s) + o]!;
      matVecAdd(z, weights, w, c, c + s, rs);
      w += c * (c + s) + (c + s);
      for (let i = 0; i < c; i++) h[i] = h[i]! + rs[i]!;
      for (let i = 0; i < s; i++) skip[i] = skip[i]! + rs[c + i]!;
    }
    for (let i = 0; i < s; i++) skip[i] = Math.max(0, skip[i]!);
    for (let o = 0; o < s; o++) hidden[o] = weights[w + s * s + o]!;
    matVecAdd(skip, weights, w, s, s, hidden);
    w += s * s + s;
    for (let i = 0; i < s; i++) hidden[i] = Math.max(0, hidden[i]!);
    for (let o = 0; o < levels; o++) logits[o] = weights[w + s * levels + o]!;
    matVecAdd(hidden, weights, w, s, levels, logits);
    return u < 0 ? -1 : sampleLogits(logits, levels, u);
  }
}

/** y += x W for W [n, m] row-major at weights[offset]. */
function matVecAdd(x: Float32Array, weights: Float32Array, offset: number, n: number, m: number, y: Float32Array): void {
  for (let i = 0; i < n; i++) {
    const xi = x[i]!;
    if (xi === 0) continue;
    const row = offset + i * m;
    for (let o = 0; o < m; o++) y[o] = y[o]! + xi * weights[row + o]!;
  }
}

/** Inverse CDF of softmax(logits) at u in [0, 1). */
export function sampleLogits(logits: Float32Array, levels: number, u: number): number {
  let max = -Infinity;
  for (let i = 0; i < levels; i++) max = Math.max(max, logits[i]!);
  let total = 0;
  for (let i = 0; i < levels; i++) total += Math.exp(logits[i]! - max);
  let acc = 0;
  const target = u * total;
  for (let i = 0; i < levels; i++) {
    acc += Math.exp(logits[i]! - max);
    if (acc > target) return i;
  }
  return levels - 1;
}

/** One stream of generation: the weights, the queues, the time. */
export class WaveNetStepper {
  readonly weights: Float32Array;
  readonly dims: Int32Array;
  readonly state: Float32Array;
  readonly logits: Float32Array;
  private readonly values: Float32Array;
  t = 0;

  constructor(readonly config: AudioConfig, weights: Float32Array, readonly kernel: StepKernel) {
    this.weights = weights;
    this.dims = stepDims(config);
    this.state = new Float32Array(stateSize(config));
    this.logits = new Float32Array(config.levels);
    this.values = muLawTable(config.levels);
  }

  /**
   * Step t: `previous` is the level at t - 1 (ignored at t = 0, where the
   * input is 0), `cond` the conditioning [frames, L, 2C]. Returns the drawn
   * level (u >= 0) or -1; the logits are in `this.logits`.
   */
  step(previous: number, cond: Float32Array, u: number): number {
    const c = this.config.residualChannels;
    const perFrame = this.config.dilations.length * 2 * c;
    const frame = Math.floor(this.t / hopLength(this.config));
    const input = this.t === 0 ? 0 : this.values[previous]!;
    const level = this.kernel.step(this.weights, this.state, cond, frame * perFrame, input, this.t, this.dims, this.logits, u);
    this.t++;
    return level;
  }
}

/**
 * Generation of levels [frames * hop] from code indices [frames] for one
 * speaker, run in slices: `run(n)` draws up to n more samples with `random`
 * (uniform numbers in [0, 1), one per sample) and says whether it is done.
 */
export class Generation {
  readonly total: number;
  readonly levels: Int32Array;
  done = 0;
  private readonly stepper: WaveNetStepper;
  private readonly cond: Float32Array;
  private previous = 0;

  constructor(model: AudioVqVae, indices: Int32Array, speaker: number, kernel: StepKernel, private readonly random: () => number) {
    const cond = tf.tidy(() => {
      const codes = model.lookup(tf.tensor2d(indices, [1, indices.length], 'int32'));
      return model.decoder.conditioning(codes, tf.tensor1d([speaker], 'int32'));
    });
    this.cond = cond.dataSync() as Float32Array;
    cond.dispose();
    this.stepper = new WaveNetStepper(model.config, model.decoder.packWeights(), kernel);
    this.total = indices.length * hopLength(model.config);
    this.levels = new Int32Array(this.total);
  }

  run(steps: number): boolean {
    const end = Math.min(this.total, this.done + steps);
    for (let t = this.done; t < end; t++) {
      this.previous = this.stepper.step(this.previous, this.cond, this.random());
      this.levels[t] = this.previous;
    }
    this.done = end;
    return end === this.total;
  }
}

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
