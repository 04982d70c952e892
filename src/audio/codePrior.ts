/**
 * The prior over the audio model's code sequences: the gated stack of the
 * image prior (src/prior/pixelcnn.ts, "Conditional Image Generation with
 * PixelCNN Decoders") in one dimension, with dilated causal convolutions as
 * in the WaveNet decoder (wavenet.ts), so that it sees seconds of codes:
 *
 *   p(z | s) = prod_t p(z_t | z_<t, s),   each factor a K-way softmax.
 *
 * For codes z [b, T] and a speaker s (when `speakers` > 0), with C channels:
 *
 *   h_0[t]   = E z[t-1]                   E [K, C]; zeros at t = 0 (mask A: z_t itself is not seen)
 *   a_l[t]   = W_l [h_l[t - d_l]; h_l[t]] + b_l + G_l[s]          [2C]; zeros before t = 0
 *   g_l[t]   = tanh(a_l[:C]) * sigmoid(a_l[C:])                  the gated unit (equation 4)
 *   [r; k_l] = R_l g_l + b'_l                                    [C + C]
 *   h_{l+1}  = h_l + r,   skip = sum_l k_l
 *   logits   = W_2 relu(W_1 relu(skip) + b_1) + b_2              [K]
 *
 * so logits[t] depends on z[t - receptive field .. t - 1] only (a test
 * checks it); G_l[s] is the per-class bias of equation 5, one row per
 * speaker. Codes of -1 (the padding `vqvae encode` writes after a shorter
 * utterance) are not scored, and read as code 0 by the positions after them,
 * which are padding too.
 *
 * Training is on windows of `window` codes (codePriorRun.ts); sampling
 * (`sampleCodes`) draws one code at a time, each from a forward pass over
 * the last receptive-field codes only, which gives the same logits as a pass
 * over the whole sequence.
 */
import '../engine.js';
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../errors.js';
import type { SavedFormat } from '../io/savedModel.js';
import { addVariable, uniform, type VariableMap } from '../model/layers.js';
import { loadState } from '../model/vqvae.js';
import { mulberry32, type Rng } from '../random.js';
import { dilationCycles } from './config.js';
import { sampleLogits } from './generate.js';
import { delay } from './wavenet.js';

export interface CodePriorConfig {
  /** K: the number of code values. */
  codebookSize: number;
  /** Channels of the stack (C). */
  channels: number;
  /** Dilation of each gated layer's kernel-2 causal convolution, in order. */
  dilations: number[];
  /** 0: unconditional; S > 0: conditioned on a speaker in 0..S-1. */
  speakers: number;
  /** Codes per training window. */
  window: number;
}

/** Dilations per cycle: 1, 2, ..., 32. */
export const PRIOR_DILATIONS_PER_CYCLE = 6;

export const DEFAULT_CODE_PRIOR = Object.freeze({ channels: 64, layers: 12, window: 128 });

/** `layers` dilations 1, 2, ..., 32 repeated. */
export function priorDilations(layers: number): number[] {
  return dilationCycles(PRIOR_DILATIONS_PER_CYCLE, Math.ceil(layers / PRIOR_DILATIONS_PER_CYCLE)).slice(0, layers);
}

/** The codes before t that logits[t] depends on: 1 (the shift) + the sum of the dilations. */
export function priorReceptiveField(config: CodePriorConfig): number {
  return 1 + config.dilations.reduce((a, b) => a + b, 0);
}

const KEYS: readonly (keyof CodePriorConfig)[] = ['codebookSize', 'channels', 'dilations', 'speakers', 'window'];

export function validateCodePriorConfig(value: unknown, source = 'audio prior config'): CodePriorConfig {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new UserError(`${source}: expected an object, found ${JSON.stringify(value)}`);
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!KEYS.includes(key as keyof CodePriorConfig)) throw new UserError(`${source}: unknown key "${key}"; valid keys are ${KEYS.join(', ')}`);
  }
  const int = (key: keyof CodePriorConfig, min: number) => {
    const v = record[key];
    if (!(typeof v === 'number' && Number.isInteger(v) && v >= min)) throw new UserError(`${source}: "${key}" must be an integer >= ${min}, found ${JSON.stringify(v)}`);
    return v;
  };
  const d = record['dilations'];
  if (!Array.isArray(d) || d.length === 0 || !d.every((x) => Number.isInteger(x) && x >= 1)) {
    throw new UserError(`${source}: "dilations" must be a non-empty list of integers >= 1, found ${JSON.stringify(d)}`);
  }
  return { codebookSize: int('codebookSize', 2), channels: int('channels', 1), dilations: [...(d as number[])], speakers: int('speakers', 0), window: int('window', 1) };
}

export const AUDIO_PRIOR_FORMAT = 'vqvae-audio-prior';

/** What an audio prior directory's config.json holds: { format, version, prior: CodePriorConfig, training }. */
export const AUDIO_PRIOR_SAVED_FORMAT: SavedFormat<CodePriorConfig> = {
  format: AUDIO_PRIOR_FORMAT,
  version: 1,
  section: 'prior',
  noun: 'audio code prior',
  validate: validateCodePriorConfig,
  trainingNumbers: ['step', 'totalSteps', 'batch', 'learningRate', 'seed', 'trainingSeconds'],
  trainingStrings: ['codes'],
};

interface PriorLayer {
  readonly dilation: number;
  /** [2C, 2C]: rows 0..C-1 multiply h[t - d], rows C..2C-1 multiply h[t]. */
  readonly conv: tf.Variable;
  readonly convBias: tf.Variable;
  /** [speakers, 2C], with speakers > 0. */
  readonly speaker?: tf.Variable;
  /** [C, 2C]: residual then skip. */
  readonly out: tf.Variable;
  readonly outBias: tf.Variable;
}

export class CodePrior {
  readonly config: CodePriorConfig;
  private readonly vars: VariableMap = new Map();
  private readonly embedding: tf.Variable;
  private readonly layers: PriorLayer[] = [];
  private readonly head: tf.Variable[];

  constructor(config: CodePriorConfig, seed = 0) {
    this.config = validateCodePriorConfig(config);
    const { codebookSize: k, channels: c, speakers } = this.config;
    const rng: Rng = mulberry32(seed);
    const vars = this.vars;
    const bound = (fanIn: number) => 1 / Math.sqrt(fanIn);
    this.embedding = addVariable(vars, 'prior.embedding', tf.randomNormal([k, c], 0, 1, 'float32', Math.floor(rng() * 2 ** 31)));
    this.config.dilations.forEach((dilation, i) => {
      const name = `prior.layers.${i}`;
      this.layers.push({
        dilation,
        conv: addVariable(vars, `${name}.conv.weight`, uniform([2 * c, 2 * c], bound(2 * c), rng)),
        convBias: addVariable(vars, `${name}.conv.bias`, uniform([2 * c], bound(2 * c), rng)),
        ...(speakers > 0 ? { speaker: addVariable(vars, `${name}.speaker`, uniform([speakers, 2 * c], bound(speakers), rng)) } : {}),
        out: addVariable(vars, `${name}.out.weight`, uniform([c, 2 * c], bound(c), rng)),
        outBias: addVariable(vars, `${name}.out.bias`, uniform([2 * c], bound(c), rng)),
      });
    });
    this.head = [
      addVariable(vars, 'prior.head.0.weight', uniform([c, c], bound(c), rng)),
      addVariable(vars, 'prior.head.0.bias', uniform([c], bound(c), rng)),
      addVariable(vars, 'prior.head.1.weight', uniform([c, k], bound(c), rng)),
      addVariable(vars, 'prior.head.1.bias', uniform([k], bound(c), rng)),
    ];
  }

  get receptiveField(): number {
    return priorReceptiveField(this.config);
  }

  variables(): Record<string, tf.Variable> {
    return Object.fromEntries(this.vars);
  }

  /** Logits [b, T, K] for codes [b, T] (int32, -1 allowed as padding) and speakers [b] (iff conditional). */
  logits(codes: tf.Tensor2D, speakers?: tf.Tensor1D): tf.Tensor3D {
    const { speakers: s, channels: c, codebookSize: k } = this.config;
    if (s > 0 && speakers === undefined) throw new Error(`this prior is conditioned on ${s} speakers: speakers [batch] are required`);
    if (s === 0 && speakers !== undefined) throw new Error('this prior is unconditional: it takes no speakers');
    return tf.tidy(() => {
      const [b, t] = codes.shape;
      const inputs = tf.cast(tf.maximum(codes, tf.scalar(0, 'int32')), 'int32');
      const embedded = tf.reshape(tf.gather(this.embedding, tf.reshape(inputs, [-1])), [b, t, c]) as tf.Tensor3D;
      let h = delay(embedded, 1);
      let skip: tf.Tensor | undefined;
      for (const layer of this.layers) {
        const w = layer.conv as tf.Tensor2D;
        const past = tf.reshape(delay(h, layer.dilation), [b * t, c]);
        const now = tf.reshape(h, [b * t, c]);
        let a = tf.reshape(tf.add(tf.add(tf.matMul(past, tf.slice(w, [0, 0], [c, 2 * c])), tf.matMul(now, tf.slice(w, [c, 0], [c, 2 * c]))), layer.convBias), [b, t, 2 * c]);
        if (layer.speaker && speakers) a = tf.add(a, tf.expandDims(tf.gather(layer.speaker, tf.cast(speakers, 'int32')), 1));
        const flat = tf.reshape(a, [b * t, 2 * c]);
        const g = tf.mul(tf.tanh(tf.slice(flat, [0, 0], [b * t, c])), tf.sigmoid(tf.slice(flat, [0, c], [b * t, c])));
        const rs = tf.add(tf.matMul(g, layer.out as tf.Tensor2D), layer.outBias);
        h = tf.add(h, tf.reshape(tf.slice(rs, [0, 0], [b * t, c]), [b, t, c])) as tf.Tensor3D;
        const ks = tf.slice(rs, [0, c], [b * t, c]);
        skip = skip === undefined ? ks : tf.add(skip, ks);
      }
      const [w1, b1, w2, b2] = this.head as unknown as [tf.Tensor2D, tf.Tensor1D, tf.Tensor2D, tf.Tensor1D];
      const hidden = tf.relu(tf.add(tf.matMul(tf.relu(skip!) as tf.Tensor2D, w1), b1)) as tf.Tensor2D;
      return tf.reshape(tf.add(tf.matMul(hidden, w2), b2), [b, t, k]) as tf.Tensor3D;
    });
  }

  /** Summed -log p (nats) of the codes that are not -1, and how many there are. */
  nll(codes: tf.Tensor2D, speakers?: tf.Tensor1D): { nats: tf.Scalar; count: tf.Scalar } {
    return tf.tidy(() => {
      const logp = tf.logSoftmax(this.logits(codes, speakers));
      // oneHot of -1 is all zeros: padding adds nothing.
      const picked = tf.sum(tf.mul(logp, tf.oneHot(tf.cast(codes, 'int32'), this.config.codebookSize)));
      return { nats: tf.neg(picked) as tf.Scalar, count: tf.sum(tf.cast(tf.greaterEqual(codes, 0), 'float32')) as tf.Scalar };
    });
  }

  /** Mean -log p per scored code (nats): the training loss. */
  loss(codes: tf.Tensor2D, speakers?: tf.Tensor1D): tf.Scalar {
    return tf.tidy(() => {
      const { nats, count } = this.nll(codes, speakers);
      return tf.div(nats, tf.maximum(count, 1)) as tf.Scalar;
    });
  }

  /** Assigns saved tensors (names and shapes must match exactly). */
  load(tensors: Record<string, { shape: number[]; data: Float32Array }>, source = 'audio prior'): void {
    loadState(this.variables(), tensors, source);
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
  }
}

export interface CodeSampleOptions {
  /** Sequences to draw. */
  n: number;
  /** Codes per sequence. */
  length: number;
  /** The speaker of every sequence (conditional priors). */
  speaker?: number;
  /** Divides the logits: below 1 sharper; default 1. */
  temperature?: number;
  seed?: number;
  onStep?: (done: number, total: number) => void;
}

/** Draws `n` code sequences [n, length] (row-major), one code at a time. */
export function sampleCodes(prior: CodePrior, options: CodeSampleOptions): Int32Array {
  const { n, length } = options;
  const { speakers, codebookSize: k } = prior.config;
  const temperature = options.temperature ?? 1;
  if (speakers > 0 && options.speaker === undefined) throw new UserError(`this prior is conditioned on ${speakers} speakers: give one`);
  if (speakers === 0 && options.speaker !== undefined) throw new UserError('this prior is unconditional (trained without speaker labels): it takes no speaker');
  if (options.speaker !== undefined && !(options.speaker >= 0 && options.speaker < speakers)) throw new UserError(`speaker ${options.speaker} is out of range: the prior knows ${speakers} (0..${speakers - 1})`);
  const rng = mulberry32(options.seed ?? 0);
  const codes = new Int32Array(n * length);
  const r = prior.receptiveField;
  const spk = options.speaker !== undefined ? tf.tensor1d(new Int32Array(n).fill(options.speaker), 'int32') : undefined;
  const scaled = new Float32Array(k);
  try {
    for (let t = 0; t < length; t++) {
      // The last r codes (and a placeholder at t): logits at t see nothing older.
      const start = Math.max(0, t - r);
      const span = t - start + 1;
      const window = new Int32Array(n * span);
      for (let i = 0; i < n; i++) window.set(codes.subarray(i * length + start, i * length + t + 1), i * span);
      const logits = tf.tidy(() => {
        const all = prior.logits(tf.tensor2d(window, [n, span], 'int32'), spk);
        return tf.slice(all, [0, span - 1, 0], [n, 1, k]).dataSync() as Float32Array;
      });
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < k; j++) scaled[j] = logits[i * k + j]! / temperature;
        codes[i * length + t] = sampleLogits(scaled, k, rng());
      }
      options.onStep?.(t + 1, length);
    }
  } finally {
    spk?.dispose();
  }
  return codes;
}
