/**
 * Native convolution kernels, NHWC, over oneDNN (native/src/conv.cc):
 * Conv2D, FusedConv2D with a per-channel bias and/or ReLU fused in,
 * Conv2DBackpropInput (also tf.conv2dTranspose) and Conv2DBackpropFilter.
 * Shapes and padding come from tfjs's own computeConv2DInfo, so 'same',
 * 'valid', explicit padding, dimRoundingMode and dilations mean exactly what
 * they mean on the cpu backend. NCHW, other activations and PReLU weights
 * fall back to the cpu kernels.
 */
import { backend_util, Conv2D, Conv2DBackpropFilter, Conv2DBackpropInput, FusedConv2D } from '@tensorflow/tfjs-core';
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';

import type { ConvGeometry, NativeAddon } from './addon.js';
import { f32, nativeKernel, output, sizeOf } from './tensors.js';

type Shape4 = [number, number, number, number];

interface ConvAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
  dataFormat?: 'NHWC' | 'NCHW';
  dilations?: number | [number, number];
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

function info(inShape: readonly number[], filterShape: readonly number[], attrs: ConvAttrs): backend_util.Conv2DInfo | undefined {
  if (attrs.dataFormat === 'NCHW' || inShape.length !== 4 || filterShape.length !== 4) return undefined;
  return backend_util.computeConv2DInfo(
    inShape as Shape4, filterShape as Shape4, attrs.strides, attrs.dilations ?? 1, attrs.pad,
    attrs.dimRoundingMode, false, 'channelsLast',
  );
}

export function geometry(c: backend_util.Conv2DInfo): ConvGeometry {
  return [
    c.batchSize, c.inHeight, c.inWidth, c.inChannels, c.outHeight, c.outWidth, c.outChannels,
    c.filterHeight, c.filterWidth, c.strideHeight, c.strideWidth, c.dilationHeight, c.dilationWidth,
    c.padInfo.top, c.padInfo.left, c.padInfo.bottom, c.padInfo.right,
  ];
}

export function convKernels(addon: NativeAddon): KernelConfig[] {
  const forward = (fused: boolean) =>
    nativeKernel(fused ? FusedConv2D : Conv2D, addon, ({ inputs, backend, attrs }, native) => {
      const { x, filter, bias, preluActivationWeights } = inputs as Record<string, TensorInfo | undefined>;
      const activation = (attrs['activation'] as string | undefined) ?? 'linear';
      if (preluActivationWeights != null || (activation !== 'linear' && activation !== 'relu')) return undefined;
      const c = info(x!.shape, filter!.shape, attrs as unknown as ConvAttrs);
      const xv = f32(backend, x!);
      const fv = f32(backend, filter!);
      if (c === undefined || xv === undefined || fv === undefined) return undefined;
      let bv: Float32Array | null = null;
      if (bias != null) {
        bv = f32(backend, bias) ?? null;
        if (bv === null || sizeOf(bias.shape) !== c.outChannels) return undefined;
      }
      const [y, yv] = output(backend, c.outShape, 'float32');
      if (yv.length > 0) native.conv2d(xv, fv, bv, yv, geometry(c), activation === 'relu');
      return y;
    });

  const backpropInput = nativeKernel(Conv2DBackpropInput, addon, ({ inputs, backend, attrs }, native) => {
    const { dy, filter } = inputs as Record<string, TensorInfo>;
    const c = info(attrs['inputShape'] as number[], filter!.shape, { ...(attrs as unknown as ConvAttrs), dilations: 1 });
    const dyv = f32(backend, dy!);
    const fv = f32(backend, filter!);
    if (c === undefined || dyv === undefined || fv === undefined) return undefined;
    if (!sameShape(dy!.shape, c.outShape)) return undefined;
    const [dx, dxv] = output(backend, c.inShape as number[], 'float32', dyv.length === 0);
    if (dxv.length > 0 && dyv.length > 0) native.conv2dBackpropInput(dyv, fv, dxv, geometry(c));
    return dx;
  });

  const backpropFilter = nativeKernel(Conv2DBackpropFilter, addon, ({ inputs, backend, attrs }, native) => {
    const { x, dy } = inputs as Record<string, TensorInfo>;
    const filterShape = attrs['filterShape'] as number[];
    const c = info(x!.shape, filterShape, { ...(attrs as unknown as ConvAttrs), dilations: 1 });
    const xv = f32(backend, x!);
    const dyv = f32(backend, dy!);
    if (c === undefined || xv === undefined || dyv === undefined) return undefined;
    if (!sameShape(dy!.shape, c.outShape)) return undefined;
    const [dw, dwv] = output(backend, filterShape, 'float32', dyv.length === 0);
    if (dwv.length > 0 && dyv.length > 0) native.conv2dBackpropFilter(xv, dyv, dwv, geometry(c));
    return dw;
  });

  return [forward(false), forward(true), backpropInput, backpropFilter];
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
