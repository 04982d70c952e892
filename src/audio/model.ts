/**
 * The audio VQ-VAE (van den Oord et al. 2017, section 4.3): raw waveform →
 * encoder → vector quantizer → WaveNet decoder conditioned on the codes and
 * a speaker.
 *
 * Encoder: `downsamples` (6) convolutions of window 4, stride 2, padding 1,
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

  constructor(config: AudioConfig, vars: VariableMap, rng: Rng) {
    let inChannels = 1;
    const h = config.encoderChannels;
    for (let i = 0; i < config.downsamples; i++) {
      const bound = 1 / Math.sqrt(inChannels * 4);
      this.convs.push({
        weight: addVariable(vars, `encoder.down.${i}.weight`, uniform([4, inChannels, h], bound, rng)),
        bias: addVariable(vars, `encoder.down.${i}.bias`, uniform([h], bound, rng)),
      });
      inChannels = h;
    }
    const bound = 1 / Math.sqrt(h);
    this.project = {
      weight: addVariable(vars, 'encoder.pre_quantize.weight', uniform([1, h, config.codeDim], bound, rng)),
      bias: addVariable(vars, 'encoder.pre_quantize.bias', uniform([config.codeDim], bound, rng)),
    };
  }

  /** z_e [b, T / 2^n, D] from samples [b, T]. */
  apply(samples: tf.Tensor2D): tf.Tensor3D {
    return tf.tidy(() => {
      let x = tf.expandDims(samples, 2) as tf.Tensor3D;
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
    this.quantizer = this.config.quantizer === 'ema'
      ? new VectorQuantizerEMA({ codebookSize, codeDim, beta, decay, epsilon, seed: quantizerSeed })
      : new VectorQuantizer({ codebookSize, codeDim, beta, seed: quantizerSeed });
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
