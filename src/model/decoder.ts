/**
 * The decoder: [b, y, x, D] codes → [b, y*2^n, x*2^n, C] images, mirroring the
 * encoder. With the reference sizes [128, 7, 7, 64] becomes [128, 28, 28, 1]:
 *
 *   3x3 conv D → h, residual stack (ends in ReLU),
 *   transposed 4x4 stride 2 → h/2, ReLU, transposed 4x4 stride 2 → C.
 *
 * The output is in the input's scale (pixels / 255 - 0.5), with no squashing;
 * with the categorical likelihood the last convolution gives C * 256 channels
 * instead, the logits of each pixel value's byte: [b, H, W, C * 256], channel
 * c * 256 + v for value v of image channel c.
 *
 * `DecoderShape` builds the same stack elsewhere in a model (the levels of
 * model/hierarchical.ts): other input and output channels, stages, names,
 * and an output size that need not be a power-of-two multiple (4 → 7).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../random.js';
import type { ModelConfig } from './config.js';
import { Conv2d, ConvTranspose2d, type VariableMap } from './layers.js';
import { ResidualStack } from './residualStack.js';

/** Values a pixel byte takes. */
export const PIXEL_LEVELS = 256;

/** Where a decoder sits in a model; the default is the VQ-VAE's (`decoderShape`). */
export interface DecoderShape {
  /** Variable name prefix. */
  name: string;
  inChannels: number;
  /** Stride-2 transposed stages. */
  upsamples: number;
  outChannels: number;
  /** [H, W] of the output; undefined: 2^upsamples times the input. Stage i gives ceil(H / 2^(n-1-i)). */
  outSize?: [number, number];
}

/** The VQ-VAE's decoder: D channels → images (or their logits). */
export function decoderShape(config: ModelConfig): DecoderShape {
  const outChannels = config.likelihood === 'categorical' ? config.inputChannels * PIXEL_LEVELS : config.inputChannels;
  return { name: 'decoder', inChannels: config.codeDim, upsamples: config.downsamples, outChannels };
}

export class Decoder {
  private readonly conv: Conv2d;
  private readonly residual: ResidualStack;
  private readonly up: ConvTranspose2d[] = [];
  private readonly outSize?: [number, number];

  constructor(config: ModelConfig, vars: VariableMap, rng: Rng, shape: DecoderShape = decoderShape(config)) {
    const { hidden } = config;
    const { name, upsamples } = shape;
    this.outSize = shape.outSize;
    this.conv = new Conv2d({ inChannels: shape.inChannels, outChannels: hidden, kernel: 3, stride: 1, padding: 1 }, vars, `${name}.conv`, rng);
    this.residual = new ResidualStack(hidden, config.resHidden, config.resBlocks, vars, `${name}.res`, rng);
    let channels = hidden;
    for (let i = 0; i < upsamples; i++) {
      const out = i === upsamples - 1 ? shape.outChannels : hidden / 2;
      this.up.push(new ConvTranspose2d({ inChannels: channels, outChannels: out, kernel: 4, stride: 2, padding: 1 }, vars, `${name}.up.${i}`, rng));
      channels = out;
    }
  }

  apply(z: tf.Tensor4D): tf.Tensor4D {
    // The stack's final ReLU is applied by the first up layer to its input.
    let h = this.residual.applyBeforeRelu(this.conv.apply(z));
    const n = this.up.length;
    if (n === 0) return tf.relu(h);
    this.up.forEach((conv, i) => {
      const size = this.outSize?.map((s) => Math.ceil(s / 2 ** (n - 1 - i))) as [number, number] | undefined;
      h = conv.apply(h, i < n - 1 ? 'relu' : 'linear', i === 0, size);
    });
    return h;
  }
}
