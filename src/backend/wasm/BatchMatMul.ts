/**
 * BatchMatMul for the wasm backend, wrapped around wasm's own kernel so that
 * transposed products run in XNNPACK too.
 *
 *   a [...batch, m, k] (or [..., k, m] with transposeA),
 *   b [...batch, k, n] (or [..., n, k] with transposeB)  ->  [...batch, m, n]
 *
 * tfjs-backend-wasm 4.22 sends only untransposed batch-1 products to XNNPACK
 * (16-20 GFLOP/s here); a transposed one runs a scalar loop at about
 * 1 GFLOP/s. Every matMul gradient is a transposed product (dA = dy·Bᵀ,
 * dB = Aᵀ·dy), and so is a VQ-VAE's distance matrix z·Eᵀ: [6272, 64] x
 * [64, 512] took 243 ms that way and 40 ms with the transpose made first.
 * So for batch 1 each transposed operand is transposed by wasm's Transpose
 * kernel into a temporary tensor, and the untransposed product is delegated
 * to the original kernel. Batched products (batch above 1) are delegated
 * unchanged.
 */
import { BatchMatMul, broadcast_util, Transpose } from '@tensorflow/tfjs-core';
import type { BatchMatMulAttrs, BatchMatMulInputs, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

import { withShape } from './heap.js';
import { runWasmKernel } from './runKernel.js';

/** The wrapped kernel for `original`, wasm's own BatchMatMul config. */
export function makeBatchMatMulConfig(original: KernelConfig): KernelConfig {
  function batchMatMul(args: { inputs: BatchMatMulInputs; backend: BackendWasm; attrs: BatchMatMulAttrs }): TensorInfo {
    const { inputs, backend, attrs } = args;
    const a = inputs.a as TensorInfo;
    const b = inputs.b as TensorInfo;
    const { transposeA, transposeB } = attrs;
    const batchA = a.shape.slice(0, -2);
    const batchB = b.shape.slice(0, -2);
    const unbatched = batchA.every((d) => d === 1) && batchB.every((d) => d === 1);
    if ((!transposeA && !transposeB) || !unbatched || a.dtype !== 'float32' || b.dtype !== 'float32') {
      return original.kernelFunc({ inputs, backend, attrs: { transposeA, transposeB } }) as TensorInfo;
    }
    const a2 = transposeA ? transposed(backend, a) : a;
    // b is a temporary here, which also keeps XNNPACK's packing of b (cached
    // by tensor id) from outliving this call.
    const b2 = transposeB ? transposed(backend, b) : b;
    const out = original.kernelFunc({
      inputs: { a: a2, b: b2 },
      backend,
      attrs: { transposeA: false, transposeB: false },
    }) as TensorInfo;
    if (transposeA) backend.disposeData(a2.dataId);
    if (transposeB) backend.disposeData(b2.dataId);
    const [m, n] = out.shape.slice(-2) as [number, number];
    return withShape(out, [...broadcast_util.assertAndGetBroadcastShape(batchA, batchB), m, n]);
  }

  // The original's setup binds its wasm function; it must still run when
  // the backend starts although the original is no longer registered.
  const config: KernelConfig = { kernelName: BatchMatMul, backendName: 'wasm', kernelFunc: batchMatMul as unknown as KernelFunc };
  if (original.setupFunc !== undefined) config.setupFunc = original.setupFunc;
  if (original.disposeFunc !== undefined) config.disposeFunc = original.disposeFunc;
  return config;
}

/** The last two axes of `t` swapped, as a new [cols, rows] tensor (t has batch 1). */
function transposed(backend: BackendWasm, t: TensorInfo): TensorInfo {
  const [rows, cols] = t.shape.slice(-2) as [number, number];
  return runWasmKernel(backend, Transpose, { x: withShape(t, [rows, cols]) }, { perm: [1, 0] });
}
