/**
 * Native element-wise kernels (native/src/elementwise.cc): unary maps, and
 * binary maps with numpy/tfjs broadcasting. The broadcast is planned here:
 * each operand gets a stride per output dimension (0 where it broadcasts),
 * size-1 dimensions are dropped and neighbours that both operands walk
 * alike are merged, so the addon's innermost loop runs as long as possible.
 * float32 only; other dtypes run on the cpu kernels.
 */
import {
  Abs, Add, broadcast_util, Exp, Log, Log1p, Maximum, Minimum, Multiply, Neg, RealDiv, Reciprocal, Relu, Relu6, Rsqrt,
  Sigmoid, Sqrt, Square, SquaredDifference, Step, Sub, Tanh,
} from '@tensorflow/tfjs-core';
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';

import type { NativeAddon } from './addon.js';
import { f32, nativeKernel, output, stridesOf } from './tensors.js';

/** Codes of native/src/elementwise.cc's `Unary` enum. */
export const UnaryOp = {
  Relu: 0, Square: 1, Sqrt: 2, Exp: 3, Log: 4, Tanh: 5, Sigmoid: 6, Neg: 7, Abs: 8, Rsqrt: 9, Step: 10,
  Reciprocal: 11, Relu6: 12, Log1p: 13,
} as const;

/** Codes of native/src/elementwise.cc's `Binary` enum. */
export const BinaryOp = { Add: 0, Sub: 1, Mul: 2, Div: 3, SquaredDifference: 4, Maximum: 5, Minimum: 6 } as const;

export interface BroadcastPlan {
  /** The output's shape, as tfjs gives it. */
  outShape: number[];
  /** Collapsed iteration shape and per-operand strides for the addon. */
  shape: number[];
  stridesA: number[];
  stridesB: number[];
}

export function planBroadcast(aShape: readonly number[], bShape: readonly number[]): BroadcastPlan {
  const outShape = broadcast_util.assertAndGetBroadcastShape(aShape as number[], bShape as number[]);
  const rank = outShape.length;
  const padded = (s: readonly number[]) => [...new Array<number>(rank - s.length).fill(1), ...s];
  const pa = padded(aShape);
  const pb = padded(bShape);
  const sa0 = stridesOf(pa).map((s, d) => (pa[d] === 1 ? 0 : s));
  const sb0 = stridesOf(pb).map((s, d) => (pb[d] === 1 ? 0 : s));
  const shape: number[] = [];
  const stridesA: number[] = [];
  const stridesB: number[] = [];
  for (let d = 0; d < rank; d++) {
    const size = outShape[d]!;
    if (size === 1) continue;
    const last = shape.length - 1;
    // Merge into the previous (outer) dimension when, for both operands,
    // stepping it equals stepping this one `size` times.
    if (last >= 0 && stridesA[last] === sa0[d]! * size && stridesB[last] === sb0[d]! * size) {
      shape[last]! *= size;
      stridesA[last] = sa0[d]!;
      stridesB[last] = sb0[d]!;
    } else {
      shape.push(size);
      stridesA.push(sa0[d]!);
      stridesB.push(sb0[d]!);
    }
  }
  return { outShape, shape, stridesA, stridesB };
}

/** a op b into a new float32 tensor, or undefined if either is not float32. */
export function binaryInto(
  backend: MathBackendCPU, native: NativeAddon, op: number, a: TensorInfo, b: TensorInfo,
): [TensorInfo, Float32Array] | undefined {
  const av = f32(backend, a);
  const bv = f32(backend, b);
  if (av === undefined || bv === undefined) return undefined;
  const plan = planBroadcast(a.shape, b.shape);
  const [out, ov] = output(backend, plan.outShape, 'float32');
  if (ov.length > 0) native.binary(op, av, bv, ov, plan.shape, plan.stridesA, plan.stridesB);
  return [out, ov];
}

const binaries: [string, number][] = [
  [Add, BinaryOp.Add], [Sub, BinaryOp.Sub], [Multiply, BinaryOp.Mul], [RealDiv, BinaryOp.Div],
  [SquaredDifference, BinaryOp.SquaredDifference], [Maximum, BinaryOp.Maximum], [Minimum, BinaryOp.Minimum],
];

const unaries: [string, number][] = [
  [Relu, UnaryOp.Relu], [Square, UnaryOp.Square], [Sqrt, UnaryOp.Sqrt], [Exp, UnaryOp.Exp], [Log, UnaryOp.Log],
  [Tanh, UnaryOp.Tanh], [Sigmoid, UnaryOp.Sigmoid], [Neg, UnaryOp.Neg], [Abs, UnaryOp.Abs], [Rsqrt, UnaryOp.Rsqrt],
  [Step, UnaryOp.Step], [Reciprocal, UnaryOp.Reciprocal], [Relu6, UnaryOp.Relu6], [Log1p, UnaryOp.Log1p],
];

export function elementwiseKernels(addon: NativeAddon): KernelConfig[] {
  const binary = binaries.map(([name, op]) =>
    nativeKernel(name, addon, ({ inputs, backend }, native) => {
      const { a, b } = inputs as Record<string, TensorInfo>;
      return binaryInto(backend, native, op, a!, b!)?.[0];
    }),
  );
  const unary = unaries.map(([name, op]) =>
    nativeKernel(name, addon, ({ inputs, backend, attrs }, native) => {
      const x = inputs['x'] as TensorInfo;
      const xv = f32(backend, x);
      if (xv === undefined) return undefined;
      const [y, yv] = output(backend, [...x.shape], 'float32');
      if (yv.length > 0) native.unary(op, xv, yv, op === UnaryOp.Step ? Number(attrs['alpha'] ?? 0) : 0);
      return y;
    }),
  );
  return [...binary, ...unary];
}
