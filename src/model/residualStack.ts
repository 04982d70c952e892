/**
 * A stack of residual blocks, as in DeepMind Sonnet's VQ-VAE example:
 * each block adds conv1x1(relu(conv3x3(relu(x)))) to x (3x3 to the residual
 * width, 1x1 back to h), and the stack ends with a ReLU. Shape [b, y, x, h]
 * in and out.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../random.js';
import { Conv2d, type VariableMap } from './layers.js';

export class ResidualStack {
  private readonly blocks: { conv3: Conv2d; conv1: Conv2d }[] = [];

  constructor(hidden: number, resHidden: number, count: number, vars: VariableMap, name: string, rng: Rng) {
    for (let i = 0; i < count; i++) {
      const prefix = `${name}.${i}`;
      this.blocks.push({
        conv3: new Conv2d({ inChannels: hidden, outChannels: resHidden, kernel: 3, stride: 1, padding: 1 }, vars, `${prefix}.conv3`, rng),
        conv1: new Conv2d({ inChannels: resHidden, outChannels: hidden, kernel: 1, stride: 1, padding: 0 }, vars, `${prefix}.conv1`, rng),
      });
    }
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.relu(this.applyBeforeRelu(x));
  }

  /**
   * The stack without its final ReLU, for a next layer that applies it to
   * its input itself (Conv2d.apply's inputRelu: fused on native).
   */
  applyBeforeRelu(x: tf.Tensor4D): tf.Tensor4D {
    let h = x;
    for (const { conv3, conv1 } of this.blocks) {
      h = tf.add(h, conv1.apply(conv3.apply(h, 'relu', true))) as tf.Tensor4D;
    }
    return h;
  }
}
