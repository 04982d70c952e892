/**
 * The audio VQ-VAE (van den Oord et al. 2017, section 4.3): raw waveform →
 * encoder → vector quantizer → WaveNet decoder conditioned on the codes and
 * a speaker.
 *
 * Encoder: on the mu-law companded waveform, `downsamples` (6) convolutions of window 4, stride 2, padding 1,
 * each followed by ReLU, then a 1x1 convolution to the code dimension D: a
 * waveform [b, T] in [-1, 1] becomes z_e [b, T/64, D]. The quantizer is the
 * image model's (src/quantize/), which sees the latents as a [b, 1, T/64, D]
 * grid. The decoder (wavenet.ts) predicts the mu-law level of each sample.
 *
 * Loss = mean cross-entropy of the true levels (nats per sample) + the
 * quantizer's loss; bits per sample = cross-entropy / ln 2.
 */
import '../engine.js';
import * as tf from '@tensorflow/tfjs-core';
import { addVariable, uniform, type VariableMap } from '../model/layers.js';
import type { Quantizer, QuantizerOutput } from '../quantize/types.js';
import { VectorQuantizer } from '../quantize/vectorQuantizer.js';
import { VectorQuantizerEMA } from '../quantize/vectorQuantizerEma.js';
import { loadState } from '../model/vqvae.js';
import { mulberry32, nextSeed, type Rng } from '../random.js';
import { type AudioConfig, hopLength, validateAudioConfig } from './config.js';
import { WaveNet } from './wavenet.js';

export class AudioEncoder {
  private readonly convs: { weight: tf.Variable; bias: tf.Variable }[] = [];
  private readonly project: { weight: tf.Variable; bias: tf.Variable };
  private readonly levels: number;

  constructor(config: AudioConfig, vars: VariableMap, rng: Rng) {
    this.levels = config.levels;
    let inChannels = 1;
    const h = config.encoderChannels;
    // He initialisation (uniform in +-sqrt(6 / fan_in)) and zero biases: the
    // variance of the activations then survives six ReLU layers. With
    // PyTorch's default (+-1/sqrt(fan_in), biases alike) it shrinks about
    // threefold per layer, z_e starts nearly the same at every frame
    // (variance 1e-6 against a mean of 0.06 on speech) and the codebook
    // collapses to one code within a few steps.
    for (let i = 0; i < config.downsamples; i++) {
      const bound = Math.sqrt(6 / (inChannels * 4));
      this.convs.push({
        weight: addVariable(vars, `encoder.down.${i}.weight`, uniform([4, inChannels, h], bound, rng)),
        bias: addVariable(vars, `encoder.down.${i}.bias`, tf.zeros([h])),
      });
      inChannels = h;
    }
    const bound = 1 / Math.sqrt(h);
    this.project = {
      weight: addVariable(vars, 'encoder.pre_quantize.weight', uniform([1, h, config.codeDim], bound, rng)),
      bias: addVariable(vars, 'encoder.pre_quantize.bias', uniform([config.codeDim], bound, rng)),
    };
  }

  /**
   * z_e [b, T / 2^n, D] from samples [b, T]. The convolutions read the
   * mu-law companded samples, f(x) (mulaw.ts), in [-1, 1]: speech at a
   * typical level (rms about 0.1) then spans the input range instead of its
   * middle tenth, and the encoder's outputs differ from frame to frame from
   * the start (on raw samples they begin nearly equal and the codebook
   * collapses to one code).
   */
  apply(samples: tf.Tensor2D): tf.Tensor3D {
    return tf.tidy(() => {
      const mu = this.levels - 1;
      const companded = tf.mul(tf.sign(samples), tf.div(tf.log1p(tf.mul(tf.abs(tf.clipByValue(samples, -1, 1)), mu)), Math.log1p(mu)));
      let x = tf.expandDims(companded, 2) as tf.Tensor3D;
      for (const conv of this.convs) {
        // Window 4, stride 2, one sample of padding each side (PyTorch's padding=1): T → T/2.
        const padded = tf.pad(x, [[0, 0], [1, 1], [0, 0]]);
        x = tf.relu(tf.add(tf.conv1d(padded, conv.weight as tf.Tensor3D, 2, 'valid'), conv.bias)) as tf.Tensor3D;
      }
      return tf.add(tf.conv1d(x, this.project.weight as tf.Tensor3D, 1, 'valid'), this.project.bias) as tf.Tensor3D;
    });
  }
}

export interface AudioForward extends QuantizerOutput {
  /** [b, F, D]. */
  encoded: tf.Tensor3D;
  /** [b, T, levels]. */
  logits: tf.Tensor3D;
  /** Mean cross-entropy of the true levels, nats per sample. */
  crossEntropy: tf.Scalar;
  /** crossEntropy + the quantizer's loss. */
  totalLoss: tf.Scalar;
}

export class AudioVqVae {
  readonly config: AudioConfig;
  readonly encoder: AudioEncoder;
  readonly quantizer: Quantizer;
  readonly decoder: WaveNet;
  private readonly variables: VariableMap = new Map();

  constructor(config: Partial<AudioConfig>, seed = 0) {
    this.config = validateAudioConfig(config);
    const rng = mulberry32(seed);
    this.encoder = new AudioEncoder(this.config, this.variables, rng);
    const { codebookSize, codeDim, beta, decay, epsilon } = this.config;
    const quantizerSeed = nextSeed(rng);
    const restartDead = this.config.restartDead > 0 ? this.config.restartDead : undefined;
    this.quantizer = this.config.quantizer === 'ema'
      ? new VectorQuantizerEMA({ codebookSize, codeDim, beta, decay, epsilon, seed: quantizerSeed, restartDead })
      : new VectorQuantizer({ codebookSize, codeDim, beta, seed: quantizerSeed, restartDead });
    this.decoder = new WaveNet(this.config, this.variables, rng);
  }

  get hop(): number {
    return hopLength(this.config);
  }

  /** z_e and its quantization; samples [b, T], T a multiple of the hop. */
  encode(samples: tf.Tensor2D): { encoded: tf.Tensor3D } & QuantizerOutput {
    const t = samples.shape[1];
    if (t % this.hop !== 0) throw new Error(`audio model: ${t} samples is not a multiple of the hop, ${this.hop}`);
    return tf.tidy(() => {
      const encoded = this.encoder.apply(samples);
      const [b, f, d] = encoded.shape;
      const q = this.quantizer.apply(tf.reshape(encoded, [b, 1, f, d]) as tf.Tensor4D);
      return { ...q, encoded };
    });
  }

  /** The code vectors [b, F, D] of indices [b, F]. */
  lookup(indices: tf.Tensor2D): tf.Tensor3D {
    return tf.tidy(() => {
      const [b, f] = indices.shape;
      return tf.reshape(this.quantizer.lookup(tf.reshape(indices, [b, 1, f]) as tf.Tensor3D), [b, f, this.config.codeDim]) as tf.Tensor3D;
    });
  }

  /**
   * The whole model on samples [b, T] in [-1, 1], their mu-law levels [b, T]
   * (the targets) and speakers [b].
   */
  forward(samples: tf.Tensor2D, levels: tf.Tensor2D, speakers: tf.Tensor1D): AudioForward {
    return tf.tidy(() => {
      const { encoded, quantized, indices, loss, commitmentLoss, perplexity, codesUsed } = this.encode(samples);
      const [b, , f, d] = quantized.shape;
      const logits = this.decoder.apply(levels, tf.reshape(quantized, [b, f, d]) as tf.Tensor3D, speakers);
      const crossEntropy = categoricalCrossEntropy(logits, levels, this.config.levels);
      const totalLoss = tf.add(crossEntropy, loss) as tf.Scalar;
      return { encoded, quantized, indices, loss, commitmentLoss, perplexity, codesUsed, logits, crossEntropy, totalLoss };
    });
  }

  trainable(): Record<string, tf.Variable> {
    return { ...Object.fromEntries(this.variables), ...this.quantizer.trainable() };
  }

  state(): Record<string, tf.Variable> {
    return { ...Object.fromEntries(this.variables), ...this.quantizer.state() };
  }

  /**
   * Data-dependent codebook start: every code becomes the encoder's output
   * z_e at a random frame of `samples` [b, T] (drawn with `rng`, with
   * replacement when there are fewer frames than codes). With the default
   * uniform start the encoder's outputs, which begin close together, all
   * snap to one code and the codebook collapses (perplexity 1); starting
   * the codes on the data spreads them over it. An EMA quantizer's moving
   * sums restart from the new codes (its counts stay 1).
   */
  initCodebookFromData(samples: tf.Tensor2D, rng: Rng): void {
    tf.tidy(() => {
      const encoded = this.encoder.apply(samples);
      const [b, f, d] = encoded.shape;
      const flat = tf.reshape(encoded, [b * f, d]);
      const k = this.config.codebookSize;
      const picks = Int32Array.from({ length: k }, () => Math.floor(rng() * b * f));
      const codes = tf.gather(flat, tf.tensor1d(picks, 'int32'));
      this.quantizer.codebook.assign(codes);
      if (this.quantizer instanceof VectorQuantizerEMA) this.quantizer.emaSum.assign(tf.mul(codes, tf.expandDims(this.quantizer.emaCount, 1)));
    });
  }

  /** Assigns saved tensors (names and shapes must match `state()` exactly). */
  load(tensors: Record<string, { shape: number[]; data: Float32Array }>, source = 'checkpoint'): void {
    loadState(this.state(), tensors, source);
  }

  dispose(): void {
    for (const v of this.variables.values()) v.dispose();
    this.quantizer.dispose();
    this.decoder.dispose();
  }
}

/** Mean over samples of -log softmax(logits)[target], nats. */
export function categoricalCrossEntropy(logits: tf.Tensor3D, levels: tf.Tensor2D, count: number): tf.Scalar {
  return tf.tidy(() => {
    const logp = tf.logSoftmax(logits);
    const oneHot = tf.oneHot(tf.cast(levels, 'int32'), count);
    return tf.neg(tf.mean(tf.sum(tf.mul(logp, oneHot), -1))) as tf.Scalar;
  });
}
