/**
 * Calls another kernel of the wasm backend from inside a kernel, the way
 * tfjs-backend-wasm's own kernels call `reshape` or `transpose`: straight into
 * its kernelFunc, with no engine bookkeeping. The result is a new tensor that
 * the caller disposes with `backend.disposeData`, unless it returns it.
 *
 * What the XNNPACK kernels need from their callers (tfjs-backend-wasm 4.22):
 * - Conv2D packs its filter and caches the packing under the filter's tensor
 *   id until that tensor is disposed; BatchMatMul does the same with `b`,
 *   keyed by id only, not by shape. Reshapes share ids, so these operands
 *   should be tensors the caller made and disposes right after the call.
 * - BatchMatMul reaches XNNPACK (16-20 GFLOP/s here) only for an untransposed
 *   product with batch 1; anything else runs a scalar loop at about 1 GFLOP/s.
 */
import { getKernel } from '@tensorflow/tfjs-core';
import type { NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

export function runWasmKernel(
  backend: BackendWasm,
  kernelName: string,
  inputs: NamedTensorInfoMap,
  attrs: NamedAttrMap,
): TensorInfo {
  // Looked up per call (one map lookup): this module keeps no state and
  // follows whatever is registered, including our own replacements.
  const kernel = getKernel(kernelName, 'wasm');
  if (kernel === undefined) {
    throw new Error(`the wasm backend has no ${kernelName} kernel: import '@tensorflow/tfjs-backend-wasm' first`);
  }
  const out = kernel.kernelFunc({ inputs, backend, attrs });
  if (Array.isArray(out)) {
    throw new Error(`wasm kernel ${kernelName} returned ${out.length} tensors where one was expected`);
  }
  return out;
}
