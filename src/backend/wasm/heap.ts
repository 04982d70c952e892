/**
 * Views of tensors that live on the wasm heap, for kernels written in JS.
 *
 * The wasm memory grows when `_malloc` needs more room, and growing it
 * detaches every earlier view: a detached Float32Array reads as length 0, so a
 * stale view fails silently (NaN, or writes that vanish) instead of throwing.
 * Kernels therefore allocate every output first (`backend.makeOutput`, or a call
 * into another wasm kernel) and take views with these helpers afterwards.
 */
import type { DataType, TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/** A float32 view of `t`, valid until the next allocation on the heap. */
export function f32View(backend: BackendWasm, t: TensorInfo): Float32Array {
  expectDtype(t, 'float32');
  return backend.typedArrayFromHeap(t) as Float32Array;
}

/** An int32 view of `t`, valid until the next allocation on the heap. */
export function i32View(backend: BackendWasm, t: TensorInfo): Int32Array {
  expectDtype(t, 'int32');
  return backend.typedArrayFromHeap(t) as Int32Array;
}

/**
 * The same data under another shape (same number of elements), without a
 * copy or a reference count: for passing an input to another kernel, which
 * takes and drops its own reference.
 */
export function withShape(t: TensorInfo, shape: number[]): TensorInfo {
  return { dataId: t.dataId, shape, dtype: t.dtype };
}

function expectDtype(t: TensorInfo, dtype: DataType): void {
  if (t.dtype !== dtype) {
    throw new Error(`expected a ${dtype} tensor, found ${t.dtype} with shape [${t.shape.join(', ')}]`);
  }
}
