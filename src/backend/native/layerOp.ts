/**
 * Convolution layers as one op each (convLayer): y = act(conv(pre(x), W) + b)
 * or its transposed form, where pre is an optional ReLU of the input. On the
 * native backend the forward pass is one kernel, VqConvLayer, and so is the
 * backward pass, VqConvLayerGrad (layers.ts registers both; native/src/layer.cc
 * does the work: bias and ReLU fused, the input ReLU written once, ReLU
 * masks, the bias gradient from oneDNN's diff_bias, filter and input
 * gradients), where tfjs's own ops take Step, Multiply, Sum, Relu and Add
 * kernels besides the convolutions. On every other backend convLayer is the
 * same composition of tfjs ops the model always used (tf.fused.conv2d,
 * tf.conv2dTranspose + tf.add, tf.relu), so their results do not change.
 * No Node-only imports: the web page's model uses this file too.
 */
import { tf } from '../../engine.js';

export type LayerPad = 'same' | 'valid' | [[0, 0], [number, number], [number, number], [0, 0]];

export interface ConvLayerOptions {
  stride: number;
  pad: LayerPad;
  /** ReLU after the bias (default 'linear'). */
  activation?: 'linear' | 'relu';
  /** ReLU of the input before the convolution. */
  inputRelu?: boolean;
  /**
   * A transposed convolution to this output shape [b, h, w, c]; the filter
   * is then tf.conv2dTranspose's [kh, kw, out, in].
   */
  transposedTo?: [number, number, number, number];
}

export const FORWARD = 'VqConvLayer';
export const BACKWARD = 'VqConvLayerGrad';
/** native/src/layer.cc's flags. */
export const TRANSPOSED = 1;
export const RELU = 2;
export const INPUT_RELU = 4;

export interface LayerAttrs {
  stride: number;
  pad: LayerPad;
  flags: number;
  /** Shape of the convolution's input: x's, or transposedTo. */
  convIn: number[];
}

function flagsOf(o: ConvLayerOptions): number {
  return (o.transposedTo ? TRANSPOSED : 0) | (o.activation === 'relu' ? RELU : 0) | (o.inputRelu ? INPUT_RELU : 0);
}

/** The layer on any backend; fused on native. */
export function convLayer(x: tf.Tensor4D, filter: tf.Tensor4D, bias: tf.Tensor1D, o: ConvLayerOptions): tf.Tensor4D {
  if (tf.getBackend() !== 'native') return composed(x, filter, bias, o);
  const attrs: LayerAttrs = { stride: o.stride, pad: o.pad, flags: flagsOf(o), convIn: o.transposedTo ?? x.shape };
  const op = tf.customGrad(((xs: tf.Tensor, fs: tf.Tensor, bs: tf.Tensor, save: tf.GradSaveFunc) => {
    const result = tf.engine().runKernel(FORWARD, { x: xs, filter: fs, bias: bs }, attrs as never) as tf.Tensor | tf.Tensor[];
    const outs = Array.isArray(result) ? result : [result];
    const y = outs[0]! as tf.Tensor4D;
    save([outs[1] ?? xs, fs, y]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [src, f, out] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
        return tf.engine().runKernel(BACKWARD, { dy, src, filter: f, y: out }, attrs as never) as tf.Tensor[];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x, filter, bias) as tf.Tensor4D;
}

/** The layer from tfjs's own ops, as the model computed it before convLayer. */
function composed(x: tf.Tensor4D, filter: tf.Tensor4D, bias: tf.Tensor1D, o: ConvLayerOptions): tf.Tensor4D {
  const input = o.inputRelu ? tf.relu(x) : x;
  const activation = o.activation ?? 'linear';
  if (o.transposedTo === undefined) {
    return tf.fused.conv2d({ x: input, filter, strides: o.stride, pad: o.pad, bias, activation });
  }
  if (typeof o.pad !== 'string') throw new Error('convLayer: a transposed layer takes pad same or valid');
  const y = tf.add(tf.conv2dTranspose(input, filter, o.transposedTo, o.stride, o.pad), bias) as tf.Tensor4D;
  return activation === 'relu' ? tf.relu(y) : y;
}

