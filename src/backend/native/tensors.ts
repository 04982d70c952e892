/**
 * How the native kernels reach tensor memory on the native backend, which is
 * tfjs's cpu backend underneath: each tensor's values are one TypedArray in
 * `backend.data`, handed to the addon as it is (no copy); outputs are fresh
 * zeroed arrays the addon writes into, then owned by the backend.
 */
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { getKernel } from '@tensorflow/tfjs-core';
import type { DataType, KernelConfig, KernelFunc, NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs-core';

import type { NativeAddon } from './addon.js';

export const NATIVE_BACKEND = 'native';

export interface KernelArgs {
  inputs: NamedTensorInfoMap;
  backend: MathBackendCPU;
  attrs: NamedAttrMap;
}

/**
 * The Float32Array of a float32 tensor, or undefined for any other. A
 * float32 tensor made by casting int32 shares the int32 tensor's Int32Array
 * (the cpu backend's Cast returns the same data); that one is converted.
 */
export function f32(backend: MathBackendCPU, t: TensorInfo): Float32Array | undefined {
  if (t.dtype !== 'float32') return undefined;
  const values = backend.data.get(t.dataId)?.values;
  if (values instanceof Float32Array) return values;
  return values instanceof Int32Array || values instanceof Uint8Array ? Float32Array.from(values) : undefined;
}

/** The Int32Array of an int32 tensor, or undefined for any other. */
export function i32(backend: MathBackendCPU, t: TensorInfo): Int32Array | undefined {
  if (t.dtype !== 'int32') return undefined;
  const values = backend.data.get(t.dataId)?.values;
  return values instanceof Int32Array ? values : undefined;
}

/** A float32 or int32 tensor's values as 4-byte words, or undefined. */
export function words(backend: MathBackendCPU, t: TensorInfo): Float32Array | Int32Array | undefined {
  return f32(backend, t) ?? i32(backend, t);
}

/** Outputs of at least this many elements are not zeroed first (see `output`). */
const UNZEROED_MIN = 4096;

/**
 * A new output tensor and the array the addon fills. Unless `zeroed`, a large
 * one comes from uninitialised memory (Buffer.allocUnsafeSlow, its own
 * ArrayBuffer), saving a pass over it: only for kernels that write every
 * element.
 */
export function output(backend: MathBackendCPU, shape: number[], dtype: 'float32', zeroed?: boolean): [TensorInfo, Float32Array];
export function output(backend: MathBackendCPU, shape: number[], dtype: 'int32', zeroed?: boolean): [TensorInfo, Int32Array];
export function output(
  backend: MathBackendCPU, shape: number[], dtype: DataType, zeroed?: boolean,
): [TensorInfo, Float32Array | Int32Array];
export function output(
  backend: MathBackendCPU, shape: number[], dtype: DataType, zeroed = false,
): [TensorInfo, Float32Array | Int32Array] {
  const size = shape.reduce((a, b) => a * b, 1);
  const Type = dtype === 'int32' ? Int32Array : Float32Array;
  const values = zeroed || size < UNZEROED_MIN ? new Type(size) : new Type(Buffer.allocUnsafeSlow(size * 4).buffer, 0, size);
  return [backend.makeTensorInfo(shape, dtype, values), values];
}

/** How many times each kernel ran natively (not on its cpu fallback). */
export const nativeRuns = new Map<string, number>();

/**
 * A kernel config for the native backend: `run` does the work natively, or
 * returns undefined for a case it does not cover (another dtype, layout or
 * activation), which the cpu backend's kernel of the same name then runs.
 */
export function nativeKernel(
  kernelName: string,
  addon: NativeAddon,
  run: (args: KernelArgs, addon: NativeAddon) => TensorInfo | TensorInfo[] | undefined,
): KernelConfig {
  const cpu = getKernel(kernelName, 'cpu');
  if (cpu === undefined) throw new Error(`the cpu backend has no kernel ${kernelName} to fall back on`);
  const fallback = cpu.kernelFunc;
  const kernelFunc = ((args: KernelArgs) => {
    const out = run(args, addon);
    if (out === undefined) return fallback(args as never);
    nativeRuns.set(kernelName, (nativeRuns.get(kernelName) ?? 0) + 1);
    return out;
  }) as unknown as KernelFunc;
  return { kernelName, backendName: NATIVE_BACKEND, kernelFunc };
}

/** Row-major strides of a shape. */
export function stridesOf(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d]!;
  }
  return strides;
}

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
