/**
 * Shared by the backend tests: seeded data, running one computation on the
 * cpu and wasm backends in the same process, and the closeness check.
 *
 * Data crosses backends as plain arrays: each backend builds its own tensors
 * from them, so nothing is read across backends.
 */
import assert from 'node:assert/strict';

import '@tensorflow/tfjs-backend-cpu';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { backend_util } from '@tensorflow/tfjs-core';
import type { TensorInfo } from '@tensorflow/tfjs-core';

import { tf } from '../../src/engine.js';
import { registerWasmTrainingKernels } from '../../src/backend/index.js';

registerWasmTrainingKernels();

export type Values = Float32Array | Int32Array;

/** Uniform in [-1, 1), from mulberry32: the same numbers on every run and backend. */
export function seededValues(size: number, seed: number): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}

export async function useBackend(name: 'cpu' | 'wasm'): Promise<void> {
  assert.equal(await tf.setBackend(name), true, `backend ${name} did not start`);
}

/** The values of `f()` on `name`, with every tensor it made disposed. */
export async function valuesOn(name: 'cpu' | 'wasm', f: () => tf.Tensor): Promise<{ shape: number[]; values: Values }> {
  await useBackend(name);
  const t = tf.tidy(f);
  const result = { shape: t.shape, values: t.dataSync() as Values };
  t.dispose();
  return result;
}

/**
 * Runs a kernel function directly on the wasm backend, as the engine would
 * but without it, and returns the values of its output. Also checks that it
 * leaves exactly one new data id behind (its output) and frees that.
 */
export async function runOnWasm(
  f: (backend: BackendWasm, inputs: TensorInfo[]) => TensorInfo,
  inputs: { values: Values; shape: number[] }[],
): Promise<{ shape: number[]; values: Values }> {
  await useBackend('wasm');
  const backend = tf.backend() as BackendWasm;
  const tensors = inputs.map((i) =>
    tf.tensor(i.values, i.shape, i.values instanceof Int32Array ? 'int32' : 'float32'),
  );
  const before = backend.numDataIds();
  const out = f(backend, tensors);
  assert.equal(backend.numDataIds(), before + 1, 'the kernel should leave only its output');
  const values = backend.readSync(out.dataId) as Values;
  backend.disposeData(out.dataId);
  tf.dispose(tensors);
  return { shape: out.shape, values };
}

/**
 * max |actual - expected| <= tolerance * max |expected| (and shapes equal).
 * Relative to the largest value, not elementwise: a float32 sum in another
 * order moves small entries by as much as large ones.
 */
export function assertClose(
  actual: { shape: number[]; values: ArrayLike<number> },
  expected: { shape: number[]; values: ArrayLike<number> },
  tolerance: number,
  what: string,
): void {
  assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  let scale = 0;
  for (let i = 0; i < expected.values.length; i++) scale = Math.max(scale, Math.abs(expected.values[i]!));
  let worst = 0;
  let at = -1;
  for (let i = 0; i < expected.values.length; i++) {
    const err = Math.abs(actual.values[i]! - expected.values[i]!);
    if (!(err <= worst)) {
      worst = err;
      at = i;
    }
  }
  const limit = tolerance * Math.max(scale, 1e-30);
  assert.ok(
    worst <= limit,
    `${what}: max error ${worst} at ${at} (found ${actual.values[at]}, expected ${expected.values[at]}) ` +
      `exceeds ${tolerance} x max |value| ${scale}`,
  );
}

export type Pad = 'same' | 'valid' | number | [[0, 0], [number, number], [number, number], [0, 0]];

/** One convolution geometry; x [b, h, w, ci], filter [kh, kw, ci, co]. */
export interface ConvCase {
  name: string;
  x: [number, number, number, number];
  filter: [number, number, number, number];
  strides: number | [number, number];
  pad: Pad;
}

/** The forward convolution's geometry, as the kernels compute it. */
export function convInfo(c: ConvCase): backend_util.Conv2DInfo {
  return backend_util.computeConv2DInfo(c.x, c.filter, c.strides, 1, c.pad, undefined, false, 'channelsLast');
}

/** Seeded x, filter and dy (shaped like the convolution's output) for a case. */
export function convData(c: ConvCase, seed: number): {
  x: { values: Float32Array; shape: number[] };
  filter: { values: Float32Array; shape: number[] };
  dy: { values: Float32Array; shape: number[] };
} {
  const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
  const outShape = convInfo(c).outShape;
  return {
    x: { values: seededValues(size(c.x), seed), shape: [...c.x] },
    filter: { values: seededValues(size(c.filter), seed + 1), shape: [...c.filter] },
    dy: { values: seededValues(size(outShape), seed + 2), shape: [...outShape] },
  };
}

/**
 * Geometries for the convolution kernels: strides 1 and 2 (and unequal),
 * kernels 1, 3, 4 (and non-square), 'same', 'valid', numeric and explicit
 * (asymmetric) padding, batch 1, odd and non-square images, 1 to 3 channels
 * and stride above kernel size; then the reference model's layers at batch 8
 * (28x28x1 -> 7x7 and 32x32x3 -> 8x8). For a transposed convolution the
 * forward case is the convolution it inverts.
 */
export const CONV_CASES: ConvCase[] = [
  { name: '1x1 s1 valid, batch 1', x: [1, 5, 5, 3], filter: [1, 1, 3, 4], strides: 1, pad: 'valid' },
  { name: '3x3 s1 same, odd non-square', x: [2, 7, 5, 4], filter: [3, 3, 4, 6], strides: 1, pad: 'same' },
  { name: '3x3 s1 valid', x: [2, 6, 7, 3], filter: [3, 3, 3, 5], strides: 1, pad: 'valid' },
  { name: '3x3 s2 same, odd', x: [1, 9, 9, 2], filter: [3, 3, 2, 3], strides: 2, pad: 'same' },
  { name: '4x4 s2 same, odd (asymmetric pad)', x: [2, 9, 7, 3], filter: [4, 4, 3, 5], strides: 2, pad: 'same' },
  { name: '4x4 s2 explicit 1', x: [2, 8, 8, 5], filter: [4, 4, 5, 4], strides: 2, pad: [[0, 0], [1, 1], [1, 1], [0, 0]] },
  { name: '3x3 s2 explicit asymmetric', x: [2, 9, 7, 3], filter: [3, 3, 3, 5], strides: 2, pad: [[0, 0], [2, 0], [1, 3], [0, 0]] },
  { name: '4x4 s2 valid, odd', x: [1, 11, 9, 2], filter: [4, 4, 2, 3], strides: 2, pad: 'valid' },
  { name: '3x3 numeric pad 1', x: [1, 6, 6, 3], filter: [3, 3, 3, 2], strides: 1, pad: 1 },
  { name: '3x2 filter, strides [2, 1]', x: [1, 9, 6, 3], filter: [3, 2, 3, 5], strides: [2, 1], pad: 'valid' },
  { name: '2x3 filter, strides [1, 3], same', x: [2, 5, 10, 4], filter: [2, 3, 4, 3], strides: [1, 3], pad: 'same' },
  { name: '2x2 s3 (stride above kernel)', x: [1, 8, 7, 5], filter: [2, 2, 5, 6], strides: 3, pad: 'valid' },
  { name: '1x1 s2', x: [2, 7, 6, 8], filter: [1, 1, 8, 4], strides: 2, pad: 'valid' },
  { name: '3x3 s1 same, 1 channel in', x: [2, 6, 5, 1], filter: [3, 3, 1, 4], strides: 1, pad: 'same' },
  { name: '3x3 s1 same, 16 channels in', x: [1, 6, 5, 16], filter: [3, 3, 16, 8], strides: 1, pad: 'same' },
  { name: 'ref enc 28x28x1 4x4 s2 p1 -> 14x14x64', x: [8, 28, 28, 1], filter: [4, 4, 1, 64], strides: 2, pad: [[0, 0], [1, 1], [1, 1], [0, 0]] },
  { name: 'ref enc 14x14x64 4x4 s2 p1 -> 7x7x128', x: [8, 14, 14, 64], filter: [4, 4, 64, 128], strides: 2, pad: [[0, 0], [1, 1], [1, 1], [0, 0]] },
  { name: 'ref enc 7x7x128 3x3 -> 128', x: [8, 7, 7, 128], filter: [3, 3, 128, 128], strides: 1, pad: 'same' },
  { name: 'ref residual 3x3 128 -> 32', x: [8, 7, 7, 128], filter: [3, 3, 128, 32], strides: 1, pad: 'same' },
  { name: 'ref residual 1x1 32 -> 128', x: [8, 7, 7, 32], filter: [1, 1, 32, 128], strides: 1, pad: 'valid' },
  { name: 'ref dec transposed 4x4 s2 128 -> 64, 7 -> 14', x: [8, 14, 14, 64], filter: [4, 4, 64, 128], strides: 2, pad: 'same' },
  { name: 'ref dec transposed 4x4 s2 64 -> 1, 14 -> 28', x: [8, 28, 28, 1], filter: [4, 4, 1, 64], strides: 2, pad: 'same' },
  { name: 'ref enc 32x32x3 4x4 s2 p1 -> 16x16x64', x: [8, 32, 32, 3], filter: [4, 4, 3, 64], strides: 2, pad: [[0, 0], [1, 1], [1, 1], [0, 0]] },
  { name: 'ref enc 16x16x64 4x4 s2 p1 -> 8x8x128', x: [8, 16, 16, 64], filter: [4, 4, 64, 128], strides: 2, pad: [[0, 0], [1, 1], [1, 1], [0, 0]] },
  { name: 'ref dec transposed 4x4 s2 64 -> 3, 16 -> 32', x: [8, 32, 32, 3], filter: [4, 4, 3, 64], strides: 2, pad: 'same' },
];

/**
 * Tolerance for one convolution kernel against the cpu backend: float32 sums
 * of up to ~10^4 products, in another order (XNNPACK's blocking and SIMD
 * lanes), err by about sqrt(n) * 2^-24 ~ 1e-5 of the largest value; an
 * indexing mistake errs by order 1. Observed: at most 2e-6.
 */
export const KERNEL_TOLERANCE = 1e-4;
