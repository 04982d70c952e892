/**
 * The encoder z_e(x): [b, H, W, C] images → [b, H/2^n, W/2^n, D] vectors,
 * n = downsamples. With the reference sizes a [128, 28, 28, 1] batch becomes
 * [128, 7, 7, 64]:
 *
 *   4x4 conv stride 2 → h/2, ReLU, 4x4 conv stride 2 → h, ReLU,
 *   3x3 conv → h, residual stack (ends in ReLU), 1x1 conv → D.
 *
 * With n stages, every stage but the last outputs h/2 channels.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../random.js';
import type { ModelConfig } from './config.js';
import { Conv2d, type VariableMap } from './layers.js';
import { ResidualStack } from './residualStack.js';

export class Encoder {
  private readonly down: Conv2d[] = [];
  private readonly conv: Conv2d;
  private readonly residual: ResidualStack;
  private readonly preQuantize: Conv2d;

  constructor(config: ModelConfig, vars: VariableMap, rng: Rng) {
    const { hidden, downsamples } = config;
    let channels = config.inputChannels;
    for (let i = 0; i < downsamples; i++) {
      const out = i === downsamples - 1 ? hidden : hidden / 2;
      this.down.push(
        new Conv2d({ inChannels: channels, outChannels: out, kernel: 4, stride: 2, padding: 1 }, vars, `encoder.down.${i}`, rng),
      );
      channels = out;
    }
    this.conv = new Conv2d({ inChannels: hidden, outChannels: hidden, kernel: 3, stride: 1, padding: 1 }, vars, 'encoder.conv', rng);
    this.residual = new ResidualStack(hidden, config.resHidden, config.resBlocks, vars, 'encoder.res', rng);
    this.preQuantize = new Conv2d(
      { inChannels: hidden, outChannels: config.codeDim, kernel: 1, stride: 1, padding: 0 },
      vars,
      'encoder.pre_quantize',
      rng,
    );
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    let h = x;
    for (const conv of this.down) h = conv.apply(h, 'relu');
    h = this.residual.applyBeforeRelu(this.conv.apply(h));
    // The stack's final ReLU, applied by the next layer to its input.
    return this.preQuantize.apply(h, 'linear', true);
  }
}
