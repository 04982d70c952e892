/**
 * The convolution layers the encoder and decoder are made of, NHWC.
 *
 * Weights follow tfjs's layouts: a convolution's filter is [kh, kw, in, out],
 * a transposed convolution's [kh, kw, out, in]. Initialisation is PyTorch's
 * default for Conv2d/ConvTranspose2d (uniform in +-1/sqrt(fan_in), weights and
 * biases alike), so a run starts where the PyTorch reference would.
 */
import '../engine.js';
import * as tf from '@tensorflow/tfjs-core';
import { convLayer } from '../backend/native/layerOp.js';
import { nextSeed, type Rng } from '../random.js';

/** Named variables of a model, in creation order. */
export type VariableMap = Map<string, tf.Variable>;

export type Padding = 'same' | 'valid' | number;

export interface ConvSpec {
  inChannels: number;
  outChannels: number;
  kernel: number;
  stride: number;
  /** 'same', 'valid', or explicit padding on each side of H and W. */
  padding: Padding;
}

export function uniform(shape: number[], bound: number, rng: Rng): tf.Tensor {
  return tf.randomUniform(shape, -bound, bound, 'float32', nextSeed(rng));
}

function tfPadding(padding: Padding): 'same' | 'valid' | [[0, 0], [number, number], [number, number], [0, 0]] {
  return typeof padding === 'number'
    ? [[0, 0], [padding, padding], [padding, padding], [0, 0]]
    : padding;
}

export function addVariable(vars: VariableMap, name: string, init: tf.Tensor): tf.Variable {
  if (vars.has(name)) throw new Error(`duplicate variable name ${name}`);
  const v = tf.variable(init, true);
  init.dispose();
  vars.set(name, v);
  return v;
}

/**
 * y = conv(x, W) + b, optionally followed by ReLU, optionally of relu(x):
 * one op (src/backend/native/layers.ts), fused on the native backend.
 */
export class Conv2d {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;

  constructor(readonly spec: ConvSpec, vars: VariableMap, name: string, rng: Rng) {
    const { inChannels, outChannels, kernel } = spec;
    const bound = 1 / Math.sqrt(inChannels * kernel * kernel);
    this.weight = addVariable(vars, `${name}.weight`, uniform([kernel, kernel, inChannels, outChannels], bound, rng));
    this.bias = addVariable(vars, `${name}.bias`, uniform([outChannels], bound, rng));
  }

  apply(x: tf.Tensor4D, activation: 'linear' | 'relu' = 'linear', inputRelu = false): tf.Tensor4D {
    return convLayer(x, this.weight as tf.Tensor4D, this.bias as tf.Tensor1D, {
      stride: this.spec.stride, pad: tfPadding(this.spec.padding), activation, inputRelu,
    });
  }
}

/**
 * The transposed convolution that doubles H and W: 4x4, stride 2, padding 1;
 * plus bias, optionally followed by ReLU, optionally of relu(x) (one op, as Conv2d).
 */
export class ConvTranspose2d {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;

  constructor(readonly spec: ConvSpec, vars: VariableMap, name: string, rng: Rng) {
    const { inChannels, outChannels, kernel } = spec;
    // PyTorch computes fan_in of ConvTranspose2d from weight.size(1) = out channels.
    const bound = 1 / Math.sqrt(outChannels * kernel * kernel);
    this.weight = addVariable(vars, `${name}.weight`, uniform([kernel, kernel, outChannels, inChannels], bound, rng));
    this.bias = addVariable(vars, `${name}.bias`, uniform([outChannels], bound, rng));
  }

  /**
   * x [b, h, w, in] → [b, outH, outW, out], plus bias, then `activation`, of
   * relu(x) when `inputRelu`. Without `outSize`, PyTorch's size
   * (in - 1) * stride - 2 * padding + kernel; with it, any size whose 'same'
   * convolution gives back h x w (ceil(out / stride) = in, e.g. 4 → 7): the
   * transpose of that convolution, its odd padding at the bottom and right
   * (the fused native op takes that size too: its padding is tfjs's 'same').
   */
  apply(
    x: tf.Tensor4D, activation: 'linear' | 'relu' = 'linear', inputRelu = false, outSize?: [number, number],
  ): tf.Tensor4D {
    const { stride, kernel, padding, outChannels } = this.spec;
    const [b, h, w] = x.shape;
    const pad = typeof padding === 'number' ? padding : 0;
    // PyTorch's output size: (in - 1) * stride - 2 * padding + kernel.
    const outH = outSize?.[0] ?? (h - 1) * stride - 2 * pad + kernel;
    const outW = outSize?.[1] ?? (w - 1) * stride - 2 * pad + kernel;
    if (outSize && (Math.ceil(outH / stride) !== h || Math.ceil(outW / stride) !== w)) {
      throw new Error(`transposed convolution: [${h}, ${w}] cannot give [${outH}, ${outW}] with stride ${stride}`);
    }
    const tfPad = outSize ? 'same' : typeof padding === 'number' ? (outH === h * stride ? 'same' : 'valid') : padding;
    if (!outSize && typeof padding === 'number' && tfPad === 'valid' && padding !== 0) {
      throw new Error(`transposed convolution: padding ${padding} with kernel ${kernel}, stride ${stride} is not supported`);
    }
    if (typeof tfPad !== 'string') throw new Error('transposed convolution: padding must be a number, same or valid');
    return convLayer(x, this.weight as tf.Tensor4D, this.bias as tf.Tensor1D, {
      stride, pad: tfPad, activation, inputRelu, transposedTo: [b, outH, outW, outChannels],
    });
  }
}
