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
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../random.js';
import type { ModelConfig } from './config.js';
import { Conv2d, ConvTranspose2d, type VariableMap } from './layers.js';
import { ResidualStack } from './residualStack.js';

/** Values a pixel byte takes. */
export const PIXEL_LEVELS = 256;

export class Decoder {
  private readonly conv: Conv2d;
  private readonly residual: ResidualStack;
  private readonly up: ConvTranspose2d[] = [];

  constructor(config: ModelConfig, vars: VariableMap, rng: Rng) {
    const { hidden, downsamples } = config;
    this.conv = new Conv2d({ inChannels: config.codeDim, outChannels: hidden, kernel: 3, stride: 1, padding: 1 }, vars, 'decoder.conv', rng);
    this.residual = new ResidualStack(hidden, config.resHidden, config.resBlocks, vars, 'decoder.res', rng);
    let channels = hidden;
    for (let i = 0; i < downsamples; i++) {
      const last = config.likelihood === 'categorical' ? config.inputChannels * PIXEL_LEVELS : config.inputChannels;
      const out = i === downsamples - 1 ? last : hidden / 2;
      this.up.push(
        new ConvTranspose2d({ inChannels: channels, outChannels: out, kernel: 4, stride: 2, padding: 1 }, vars, `decoder.up.${i}`, rng),
      );
      channels = out;
    }
  }

  apply(z: tf.Tensor4D): tf.Tensor4D {
    // The stack's final ReLU is applied by the first up layer to its input.
    let h = this.residual.applyBeforeRelu(this.conv.apply(z));
    if (this.up.length === 0) return tf.relu(h);
    this.up.forEach((conv, i) => {
      h = conv.apply(h, i < this.up.length - 1 ? 'relu' : 'linear', i === 0);
    });
    return h;
  }
}
