/**
 * The native kernels of convLayer (layerOp.ts): VqConvLayer and
 * VqConvLayerGrad, one addon call each (native/src/layer.cc).
 */
import { backend_util } from '@tensorflow/tfjs-core';
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';

import type { NativeAddon } from './addon.js';
import { geometry } from './conv.js';
import { BACKWARD, FORWARD, INPUT_RELU, TRANSPOSED, type LayerAttrs } from './layerOp.js';
import { f32, NATIVE_BACKEND, output } from './tensors.js';

function convInfo(attrs: LayerAttrs, filterShape: readonly number[]): backend_util.Conv2DInfo {
  return backend_util.computeConv2DInfo(
    attrs.convIn as [number, number, number, number], filterShape as [number, number, number, number],
    attrs.stride, 1, attrs.pad, undefined, false, 'channelsLast',
  );
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

