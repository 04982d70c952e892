/**
 * The VQ-VAE: encoder, vector quantizer and decoder joined (van den Oord et
 * al. 2017, figure 1).
 *
 * Images enter as raw bytes [b, H, W, C] and are scaled to x = pixels/255 - 0.5,
 * Sonnet's convention; the decoder's output is in that scale too. A 28x28 grey
 * batch of 16 gives z_e [16, 7, 7, D], indices [16, 7, 7] and a reconstruction
 * [16, 28, 28, 1].
 */
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../errors.js';
import type { CodeIndices, Quantizer, QuantizerOutput } from '../quantize/types.js';
import { makeQuantizer } from '../quantize/factory.js';
import { mulberry32, nextSeed } from '../random.js';
import { codeGridSize, type ModelConfig, validateModelConfig } from './config.js';
import { Decoder } from './decoder.js';
import { Encoder } from './encoder.js';
import { categoricalMean, pixelLogits } from './likelihood.js';
import type { VariableMap } from './layers.js';

export interface ForwardOutput extends QuantizerOutput {
  /** [b, h, w, d]: encoder output before quantization. */
  encoded: tf.Tensor4D;
  /** [b, H, W, C]: decoder output, in input scale (the categorical's mean with that likelihood). */
  reconstruction: tf.Tensor4D;
  /** [b, H, W, C, 256]: the pixel logits, with the categorical likelihood only. */
  logits?: tf.Tensor5D;
}

export class VqVae {
  readonly config: ModelConfig;
  readonly encoder: Encoder;
  readonly decoder: Decoder;
  readonly quantizer: Quantizer;
  private readonly variables: VariableMap = new Map();

  /** A freshly initialised model; the same seed gives the same weights on every backend. */
  constructor(config: ModelConfig, seed = 0) {
    this.config = validateModelConfig(config);
    const rng = mulberry32(seed);
    this.encoder = new Encoder(this.config, this.variables, rng);
    this.quantizer = makeQuantizer(this.config, nextSeed(rng));
    this.decoder = new Decoder(this.config, this.variables, rng);
  }

  /** The code grid's [height, width]. */
  get codeGrid(): [number, number] {
    return codeGridSize(this.config);
  }

  /** Variables learned by gradient descent, by name. */
  trainable(): Record<string, tf.Variable> {
    return { ...Object.fromEntries(this.variables), ...this.quantizer.trainable() };
  }

  /** Every variable a checkpoint holds (weights, codebook, EMA state), by name. */
  state(): Record<string, tf.Variable> {
    return { ...Object.fromEntries(this.variables), ...this.quantizer.state() };
  }

  /** x [b, H, W, C] in input scale → z_e [b, h, w, D]. */
  encode(x: tf.Tensor4D): tf.Tensor4D {
    this.checkImages(x);
    return tf.tidy(() => this.encoder.apply(x));
  }

  /** z_q [b, h, w, D] → reconstruction [b, H, W, C] in input scale (the categorical's mean with that likelihood). */
  decode(quantized: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => this.output(this.decoder.apply(quantized)).reconstruction);
  }

  /** The decoder's raw output as images in input scale, and the logits with the categorical likelihood. */
  private output(raw: tf.Tensor4D): { reconstruction: tf.Tensor4D; logits?: tf.Tensor5D } {
    return decoderOutput(raw, this.config);
  }

  /** The whole model on x [b, H, W, C]; differentiable, changes no state. */
  forward(x: tf.Tensor4D): ForwardOutput {
    this.checkImages(x);
    return tf.tidy(() => {
      const encoded = this.encoder.apply(x);
      const q = this.quantizer.apply(encoded);
      return { ...q, encoded, ...this.output(this.decoder.apply(q.quantized)) };
    });
  }

  /** Codes per vector: the quantizer's depth (1 but for RVQ, whose indices are [b, h, w, depth]). */
  get codeDepth(): number {
    return this.quantizer.depth ?? 1;
  }

  /** The shape of one image's codes: [h, w], or [h, w, depth] for RVQ. */
  get codeShape(): number[] {
    return this.codeDepth === 1 ? [...this.codeGrid] : [...this.codeGrid, this.codeDepth];
  }

  /** Code indices [b, h, w] (RVQ: [b, h, w, depth]) of images x [b, H, W, C] in input scale. */
  encodeIndices(x: tf.Tensor4D): CodeIndices {
    return tf.tidy(() => {
      const z = this.encode(x);
      return this.quantizer.nearestIndices?.(z) ?? this.quantizer.apply(z).indices;
    });
  }

  /** Images in input scale [b, H, W, C] from code indices [b, h, w] (RVQ: [b, h, w, depth]). */
  decodeIndices(indices: CodeIndices): tf.Tensor4D {
    const shape = this.codeShape;
    if (indices.rank !== shape.length + 1 || shape.some((n, i) => indices.shape[i + 1] !== n)) {
      throw new Error(`codes must be [batch, ${shape.join(', ')}] for this model, found [${indices.shape.join(', ')}]`);
    }
    const codes = this.quantizer.lookup(indices);
    try {
      return this.decode(codes);
    } finally {
      codes.dispose();
    }
  }

  /**
   * Replaces every variable's value from `tensors` (a checkpoint); each name
   * of `state()` must be present with the same shape, and nothing else.
   */
  load(tensors: Record<string, { shape: number[]; data: Float32Array }>, source = 'checkpoint'): void {
    loadState(this.state(), tensors, source);
  }

  dispose(): void {
    for (const v of this.variables.values()) v.dispose();
    this.quantizer.dispose();
  }

  private checkImages(x: tf.Tensor4D): void {
    checkImageShape(x, this.config);
  }
}

/** Throws unless x is [batch, H, W, C] of the config. */
export function checkImageShape(x: tf.Tensor4D, config: ModelConfig): void {
  const { imageHeight, imageWidth, inputChannels } = config;
  if (x.rank !== 4 || x.shape[1] !== imageHeight || x.shape[2] !== imageWidth || x.shape[3] !== inputChannels) {
    throw new Error(
      `images must be [batch, ${imageHeight}, ${imageWidth}, ${inputChannels}] for this model, found [${x.shape.join(', ')}]`,
    );
  }
}

/** The decoder's raw output → images in input scale, and the logits with the categorical likelihood. */
export function decoderOutput(raw: tf.Tensor4D, config: ModelConfig): { reconstruction: tf.Tensor4D; logits?: tf.Tensor5D } {
  if (config.likelihood !== 'categorical') return { reconstruction: raw };
  const logits = pixelLogits(raw, config.inputChannels);
  return { reconstruction: categoricalMean(logits), logits };
}

/** A checkpoint whose tensors do not fit the config it came with. */
export class ModelMismatchError extends UserError {}

/**
 * Assigns saved tensors to a model's variables (`state()`), after checking
 * that the names and shapes match exactly: a ModelMismatchError lists every
 * missing, unexpected or mis-shaped tensor, and then nothing is assigned.
 */
export function loadState(
  state: Record<string, tf.Variable>,
  tensors: Record<string, { shape: number[]; data: Float32Array }>,
  source = 'checkpoint',
): void {
  const problems: string[] = [];
  for (const [name, v] of Object.entries(state)) {
    const t = tensors[name];
    if (!t) problems.push(`missing ${name}`);
    else if (t.shape.join(',') !== v.shape.join(',')) {
      problems.push(`${name} has shape [${t.shape.join(', ')}], expected [${v.shape.join(', ')}]`);
    }
  }
  for (const name of Object.keys(tensors)) if (!(name in state)) problems.push(`unexpected ${name}`);
  if (problems.length > 0) throw new ModelMismatchError(`${source} does not match the model config: ${problems.join('; ')}`);
  for (const [name, v] of Object.entries(state)) {
    const t = tensors[name]!;
    tf.tidy(() => v.assign(tf.tensor(t.data, t.shape, 'float32')));
  }
}

/** Raw bytes [b, H, W, C] (0..255) → float input x = pixels/255 - 0.5. */
export function pixelsToInput(pixels: Uint8Array, batch: number, height: number, width: number, channels: number): tf.Tensor4D {
  const values = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) values[i] = pixels[i]! / 255 - 0.5;
  return tf.tensor4d(values, [batch, height, width, channels]);
}

/** Model output in input scale → bytes 0..255, clipped and rounded. */
export function outputToPixels(output: tf.Tensor): Uint8Array {
  const values = output.dataSync();
  const pixels = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    pixels[i] = Math.round(Math.min(1, Math.max(0, values[i]! + 0.5)) * 255);
  }
  return pixels;
}
