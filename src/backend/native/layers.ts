/**
 * Convolution layers as one op each (convLayer): y = act(conv(pre(x), W) + b)
 * or its transposed form, where pre is an optional ReLU of the input. On the
 * native backend the forward pass is one addon call (native/src/layer.cc:
 * bias and ReLU fused, the input ReLU written once) and so is the backward
 * pass (ReLU masks, bias gradient from oneDNN's diff_bias, filter and input
 * gradients), where tfjs's own ops take Step, Multiply, Sum, Relu and Add
 * kernels besides the convolutions. On every other backend convLayer is
 * the same composition of tfjs ops the model always used (tf.fused.conv2d,
 * tf.conv2dTranspose + tf.add, tf.relu), so their results do not change.
 */
import { backend_util } from '@tensorflow/tfjs-core';
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';

import { tf } from '../../engine.js';
import type { NativeAddon } from './addon.js';
import { geometry } from './conv.js';
import { f32, NATIVE_BACKEND, output } from './tensors.js';

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

const FORWARD = 'VqConvLayer';
const BACKWARD = 'VqConvLayerGrad';
/** native/src/layer.cc's flags. */
const TRANSPOSED = 1;
const RELU = 2;
const INPUT_RELU = 4;

interface LayerAttrs {
  stride: number;
  pad: LayerPad;
  flags: number;
  /** Shape of the convolution's input: x's, or transposedTo. */
  convIn: number[];
}

function flagsOf(o: ConvLayerOptions): number {
  return (o.transposedTo ? TRANSPOSED : 0) | (o.activation === 'relu' ? RELU : 0) | (o.inputRelu ? INPUT_RELU : 0);
}

function convInfo(attrs: LayerAttrs, filterShape: readonly number[]): backend_util.Conv2DInfo {
  return backend_util.computeConv2DInfo(
    attrs.convIn as [number, number, number, number], filterShape as [number, number, number, number],
    attrs.stride, 1, attrs.pad, undefined, false, 'channelsLast',
  );
}

/** The layer on any backend; fused on native. */
export function convLayer(x: tf.Tensor4D, filter: tf.Tensor4D, bias: tf.Tensor1D, o: ConvLayerOptions): tf.Tensor4D {
  if (tf.getBackend() !== NATIVE_BACKEND) return composed(x, filter, bias, o);
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

export function layerKernels(addon: NativeAddon): KernelConfig[] {
  const forward: KernelConfig = {
    kernelName: FORWARD,
    backendName: NATIVE_BACKEND,
    kernelFunc: (({ inputs, backend, attrs }: { inputs: Record<string, TensorInfo>; backend: never; attrs: LayerAttrs }) => {
      const { x, filter, bias } = inputs;
      const c = convInfo(attrs, filter!.shape);
      const transposed = (attrs.flags & TRANSPOSED) !== 0;
      const xv = f32(backend, x!)!;
      const fv = f32(backend, filter!)!;
      const bv = f32(backend, bias!)!;
      const [y, yv] = output(backend, transposed ? c.inShape as number[] : c.outShape, 'float32');
      if ((attrs.flags & INPUT_RELU) === 0) {
        addon.convLayer(xv, fv, bv, yv, null, geometry(c), attrs.flags);
        return y;
      }
      const [xr, xrv] = output(backend, x!.shape, 'float32');
      addon.convLayer(xv, fv, bv, yv, xrv, geometry(c), attrs.flags);
      return [y, xr];
    }) as never,
  };
  const backward: KernelConfig = {
    kernelName: BACKWARD,
    backendName: NATIVE_BACKEND,
    kernelFunc: (({ inputs, backend, attrs }: { inputs: Record<string, TensorInfo>; backend: never; attrs: LayerAttrs }) => {
      const { dy, src, filter, y } = inputs;
      const c = convInfo(attrs, filter!.shape);
      const [dx, dxv] = output(backend, src!.shape, 'float32');
      const [dw, dwv] = output(backend, filter!.shape, 'float32');
      const [db, dbv] = output(backend, [filter!.shape[(attrs.flags & TRANSPOSED) !== 0 ? 2 : 3]!], 'float32');
      addon.convLayerBackward(f32(backend, dy!)!, f32(backend, src!)!, f32(backend, filter!)!, f32(backend, y!)!, dxv, dwv, dbv, geometry(c), attrs.flags);
      return [dx, dw, db];
    }) as never,
  };
  return [forward, backward];
}

