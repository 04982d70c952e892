/**
 * Native BatchMatMul and _FusedMatMul over oneDNN's sgemm
 * (native/src/matmul.cc). Shapes as on the cpu backend: a [..., m, k],
 * b [..., k, n] (transposed when asked), batch dimensions broadcast, the
 * output [...batch, m, n]. _FusedMatMul adds its bias with the native
 * broadcasting add and applies ReLU natively; other activations and PReLU
 * weights fall back to the cpu kernel.
 */
import { BatchMatMul, broadcast_util, _FusedMatMul } from '@tensorflow/tfjs-core';
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';

import type { NativeAddon } from './addon.js';
import { binaryInto, BinaryOp, UnaryOp } from './elementwise.js';
import { f32, nativeKernel, output, sizeOf } from './tensors.js';

/** a · b on the native backend, or undefined where it does not apply. */
export function matMul(
  backend: MathBackendCPU, native: NativeAddon, a: TensorInfo, b: TensorInfo, transposeA: boolean, transposeB: boolean,
): [TensorInfo, Float32Array] | undefined {
  const av = f32(backend, a);
  const bv = f32(backend, b);
  if (av === undefined || bv === undefined || a.shape.length < 2 || b.shape.length < 2) return undefined;
  const ra = a.shape.length;
  const rb = b.shape.length;
  const m = transposeA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
  const k = transposeA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
  const kb = transposeB ? b.shape[rb - 1]! : b.shape[rb - 2]!;
  const n = transposeB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  if (k !== kb) return undefined; // the cpu kernel reports the mismatch
  const batchA = sizeOf(a.shape.slice(0, -2));
  const batchB = sizeOf(b.shape.slice(0, -2));
  const outer = broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  if (sizeOf(outer) !== Math.max(batchA, batchB)) return undefined;
  const [c, cv] = output(backend, [...outer, m, n], 'float32');
  if (cv.length > 0) {
    if (k === 0) cv.fill(0); // nothing to sum: zeros, as on cpu
    else native.batchMatMul(av, bv, cv, batchA, batchB, m, n, k, transposeA, transposeB);
  }
  return [c, cv];
}

export function matMulKernels(addon: NativeAddon): KernelConfig[] {
  const plain = nativeKernel(BatchMatMul, addon, ({ inputs, backend, attrs }, native) => {
    const { a, b } = inputs as Record<string, TensorInfo>;
    return matMul(backend, native, a!, b!, Boolean(attrs['transposeA']), Boolean(attrs['transposeB']))?.[0];
  });

  const fused = nativeKernel(_FusedMatMul, addon, ({ inputs, backend, attrs }, native) => {
    const { a, b, bias, preluActivationWeights } = inputs as Record<string, TensorInfo | undefined>;
    const activation = (attrs['activation'] as string | undefined) ?? 'linear';
    if (preluActivationWeights != null || (activation !== 'linear' && activation !== 'relu')) return undefined;
    if (bias != null && f32(backend, bias) === undefined) return undefined;
    const product = matMul(backend, native, a!, b!, Boolean(attrs['transposeA']), Boolean(attrs['transposeB']));
    if (product === undefined) return undefined;
    let [c, cv] = product;
    if (bias != null) {
      const sum = binaryInto(backend, native, BinaryOp.Add, c, bias);
      if (sum === undefined) {
        backend.disposeIntermediateTensorInfo(c);
        return undefined;
      }
      backend.disposeIntermediateTensorInfo(c);
      [c, cv] = sum;
    }
    if (activation === 'relu') native.unary(UnaryOp.Relu, cv, cv);
    return c;
  });

  return [plain, fused];
}
