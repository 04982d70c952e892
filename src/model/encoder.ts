/**
 * The encoder z_e(x): [b, H, W, C] images → [b, H/2^n, W/2^n, D] vectors,
 * n = downsamples. With the reference sizes a [128, 28, 28, 1] batch becomes
 * [128, 7, 7, 64]:
 *
 *   4x4 conv stride 2 → h/2, ReLU, 4x4 conv stride 2 → h, ReLU,
 *   3x3 conv → h, residual stack (ends in ReLU), 1x1 conv → D.
 *
 * With n stages, every stage but the last outputs h/2 channels.
 *
 * `EncoderShape` builds the same stack for other places in a model (the
 * levels of model/hierarchical.ts): other input channels, stages, names, a
 * 'same' padding (ceil(size/2) for odd sizes: 7 → 4) or no 1x1 at the end.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../random.js';
import type { ModelConfig } from './config.js';
import { Conv2d, type Padding, type VariableMap } from './layers.js';
import { ResidualStack } from './residualStack.js';

/** Where an encoder sits in a model; the default is the VQ-VAE's (`encoderShape`). */
export interface EncoderShape {
  /** Variable name prefix. */
  name: string;
  inChannels: number;
  /** Stride-2 stages. */
  downsamples: number;
  /** Padding of the stride-2 convolutions: 1 (PyTorch's) or 'same' (also for odd sizes). */
  padding: Padding;
  /** Channels of the final 1x1 convolution; undefined: none, the trunk's h channels come out. */
  outChannels?: number;
}

/** The VQ-VAE's encoder: images → D channels. */
export function encoderShape(config: ModelConfig): EncoderShape {
  return { name: 'encoder', inChannels: config.inputChannels, downsamples: config.downsamples, padding: 1, outChannels: config.codeDim };
}

export class Encoder {
  private readonly down: Conv2d[] = [];
  private readonly conv: Conv2d;
  private readonly residual: ResidualStack;
  private readonly preQuantize?: Conv2d;

  constructor(config: ModelConfig, vars: VariableMap, rng: Rng, shape: EncoderShape = encoderShape(config)) {
    const { hidden } = config;
    const { name, downsamples, padding } = shape;
    let channels = shape.inChannels;
    for (let i = 0; i < downsamples; i++) {
      const out = i === downsamples - 1 ? hidden : hidden / 2;
      this.down.push(new Conv2d({ inChannels: channels, outChannels: out, kernel: 4, stride: 2, padding }, vars, `${name}.down.${i}`, rng));
      channels = out;
    }
    this.conv = new Conv2d({ inChannels: hidden, outChannels: hidden, kernel: 3, stride: 1, padding: 1 }, vars, `${name}.conv`, rng);
    this.residual = new ResidualStack(hidden, config.resHidden, config.resBlocks, vars, `${name}.res`, rng);
    if (shape.outChannels !== undefined) {
      this.preQuantize = new Conv2d(
        { inChannels: hidden, outChannels: shape.outChannels, kernel: 1, stride: 1, padding: 0 },
        vars,
        `${name}.pre_quantize`,
        rng,
      );
    }
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    let h = x;
    for (const conv of this.down) h = conv.apply(h, 'relu');
    h = this.residual.applyBeforeRelu(this.conv.apply(h));
    // The stack's final ReLU: applied by the 1x1 layer to its input, or here when there is none.
    return this.preQuantize ? this.preQuantize.apply(h, 'linear', true) : tf.relu(h);
  }
}
