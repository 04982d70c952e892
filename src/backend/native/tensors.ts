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
 * Reuse of disposed tensors' memory. A large output gets its own
 * ArrayBuffer; when its tensor is disposed (NativeBackend.disposeData) and
 * nothing else can still see that memory, the buffer goes to a pool by byte
 * length and the next output of that size takes it, instead of a fresh
 * allocation that lives until V8 collects the old one (a training step
 * disposes some 200 MB of them). "Nothing else can see it": the buffer was
 * registered as one tensor's values only (a second registration, e.g. a
 * view made by a cpu kernel's slice, pins it) and was never read out
 * (readSync/read hand the array itself to the caller, e.g. dataSync: pinned).
 */
interface BufferState {
  registrations: number;
  pinned: boolean;
}
const states = new WeakMap<ArrayBuffer, BufferState>();
const pool = new Map<number, ArrayBuffer[]>();
let pooledBytes = 0;
/** At most this many bytes wait in the pool; more are left to the GC. */
const POOL_MAX_BYTES = 256 << 20;

function takeBuffer(bytes: number): ArrayBuffer {
  const list = pool.get(bytes);
  const reused = list?.pop();
  if (reused !== undefined) {
    pooledBytes -= bytes;
    states.set(reused, { registrations: 0, pinned: false });
    return reused;
  }
  const fresh = Buffer.allocUnsafeSlow(bytes).buffer as ArrayBuffer;
  states.set(fresh, { registrations: 0, pinned: false });
  return fresh;
}

/** NativeBackend.write: counts registrations of pooled buffers. */
export function noteRegistered(values: unknown): void {
  const buffer = (values as { buffer?: ArrayBuffer } | null)?.buffer;
  const state = buffer === undefined ? undefined : states.get(buffer);
  if (state !== undefined && ++state.registrations > 1) state.pinned = true;
}

/** NativeBackend.readSync/read: the array leaves the backend; never reuse it. */
export function notePinned(values: unknown): void {
  const buffer = (values as { buffer?: ArrayBuffer } | null)?.buffer;
  const state = buffer === undefined ? undefined : states.get(buffer);
  if (state !== undefined) state.pinned = true;
}

/** NativeBackend.disposeData, when the data is gone: pools its buffer if it may. */
export function noteDisposed(values: unknown): void {
  const buffer = (values as { buffer?: ArrayBuffer } | null)?.buffer;
  const state = buffer === undefined ? undefined : states.get(buffer);
  if (state === undefined || buffer === undefined) return;
  states.delete(buffer);
  if (state.pinned || pooledBytes + buffer.byteLength > POOL_MAX_BYTES) return;
  const list = pool.get(buffer.byteLength) ?? [];
  list.push(buffer);
  pool.set(buffer.byteLength, list);
  pooledBytes += buffer.byteLength;
}

/** Bytes waiting in the pool (tests). */
export function pooledBufferBytes(): number {
  return pooledBytes;
}

/**
 * A new output tensor and the array the addon fills. A large one has its
 * own ArrayBuffer, from the pool of disposed ones or fresh, uninitialised
 * (Buffer.allocUnsafeSlow): zeroed only when `zeroed`, so the others are
 * only for kernels that write every element.
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
  if (size < UNZEROED_MIN) {
    const small = new Type(size);
    return [backend.makeTensorInfo(shape, dtype, small), small];
  }
  const values = new Type(takeBuffer(size * 4), 0, size);
  if (zeroed) values.fill(0);
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
