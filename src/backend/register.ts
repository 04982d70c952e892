/**
 * Registers the kernels that let the wasm backend train, over those that
 * tfjs-backend-wasm 4.22 registers itself:
 * - Conv2DBackpropFilter and UnsortedSegmentSum, which it lacks;
 * - Conv2DBackpropInput (also conv2dTranspose), replacing a direct loop at
 *   about 2 GFLOP/s with XNNPACK convolutions;
 * - BatchMatMul, wrapping its own so that transposed products (every matMul
 *   gradient, and a VQ-VAE's distance matrix) reach XNNPACK too.
 * Idempotent, and silent on a second call: tfjs warns when a kernel is
 * registered over another, so an existing registration is removed first,
 * and one that is already ours is left alone.
 */
// The wasm package registers its backend and its own kernels when imported;
// importing it here puts those registrations before ours.
import '@tensorflow/tfjs-backend-wasm';
import { BatchMatMul, getKernel, registerKernel, unregisterKernel } from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc } from '@tensorflow/tfjs-core';

import { makeBatchMatMulConfig } from './wasm/BatchMatMul.js';
import { conv2DBackpropFilterConfig } from './wasm/Conv2DBackpropFilter.js';
import { conv2DBackpropInputConfig } from './wasm/Conv2DBackpropInput.js';
import { unsortedSegmentSumConfig } from './wasm/UnsortedSegmentSum.js';

/** Kernel names that `registerWasmTrainingKernels` registers for 'wasm'. */
export const WASM_TRAINING_KERNELS: readonly string[] = [
  conv2DBackpropFilterConfig.kernelName,
  conv2DBackpropInputConfig.kernelName,
  unsortedSegmentSumConfig.kernelName,
  BatchMatMul,
];

const ours = new Set<KernelFunc>();

export function registerWasmTrainingKernels(): void {
  for (const config of [conv2DBackpropFilterConfig, conv2DBackpropInputConfig, unsortedSegmentSumConfig]) {
    replace(getKernel(config.kernelName, 'wasm'), config);
  }
  const matMul = getKernel(BatchMatMul, 'wasm');
  if (matMul === undefined) {
    throw new Error('the wasm backend has no BatchMatMul kernel to wrap');
  }
  if (!ours.has(matMul.kernelFunc)) replace(matMul, makeBatchMatMulConfig(matMul));
}

function replace(current: KernelConfig | undefined, config: KernelConfig): void {
  if (current?.kernelFunc === config.kernelFunc) return;
  if (current !== undefined) unregisterKernel(config.kernelName, config.backendName);
  registerKernel(config);
  ours.add(config.kernelFunc);
}
