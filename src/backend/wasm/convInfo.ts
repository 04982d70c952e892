/**
 * Convolution geometry shared by the wasm backprop kernels: tfjs's own
 * `computeConv2DInfo`, restricted to what those kernels implement (NHWC,
 * dilation 1 - tfjs's conv2d gradient itself rejects dilation above 1).
 */
import { backend_util } from '@tensorflow/tfjs-core';
import type { Conv2DBackpropInputAttrs } from '@tensorflow/tfjs-core';

type Shape4D = [number, number, number, number];

export function conv2DInfoNHWC(
  kernelName: string,
  inShape: readonly number[],
  filterShape: readonly number[],
  attrs: Pick<Conv2DBackpropInputAttrs, 'strides' | 'pad' | 'dataFormat' | 'dimRoundingMode'>,
): backend_util.Conv2DInfo {
  if (attrs.dataFormat !== 'NHWC') {
    throw new Error(`${kernelName} on wasm supports dataFormat NHWC only, found ${attrs.dataFormat}`);
  }
  if (inShape.length !== 4 || filterShape.length !== 4) {
    throw new Error(
      `${kernelName} expects a rank-4 input and filter, found [${inShape.join(', ')}] and [${filterShape.join(', ')}]`,
    );
  }
  return backend_util.computeConv2DInfo(
    inShape as Shape4D,
    filterShape as Shape4D,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
}

/** Throws unless `dy` has the shape the convolution produces. */
export function expectOutShape(kernelName: string, dyShape: readonly number[], info: backend_util.Conv2DInfo): void {
  const want = info.outShape;
  if (dyShape.length !== 4 || dyShape.some((d, i) => d !== want[i])) {
    throw new Error(
      `${kernelName}: dy has shape [${dyShape.join(', ')}], but the convolution produces [${want.join(', ')}]`,
    );
  }
}
