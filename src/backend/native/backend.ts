/**
 * The `native` tfjs backend: tfjs's cpu backend (its tensor storage and every
 * one of its kernels, so nothing is ever missing) with the hot kernels
 * replaced by the oneDNN addon's (conv.ts, matmul.ts, elementwise.ts,
 * reduce.ts, layout.ts). Those work on the tensors' own TypedArrays, no
 * copies, and fall back to the cpu kernel for a case they do not cover.
 *
 * `registerNativeBackend()` registers it once and returns the addon, or why
 * it is unavailable (one line, e.g. 'libdnnl-dev not installed: ...').
 */
import '@tensorflow/tfjs-backend-cpu';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { getKernelsForBackend, registerBackend, registerKernel } from '@tensorflow/tfjs-core';
import type { BackendValues, DataId, DataType, KernelConfig } from '@tensorflow/tfjs-core';

import { registerFusedAdam } from '../../train/fusedAdam.js';
import { nativeAdamUpdate } from './adam.js';
import { loadAddon, type AddonLoad, type NativeAddon } from './addon.js';
import { convKernels } from './conv.js';
import { elementwiseKernels } from './elementwise.js';
import { layerKernels } from './layers.js';
import { layoutKernels } from './layout.js';
import { matMulKernels } from './matmul.js';
import { reduceKernels } from './reduce.js';
import { sliceKernels } from './slice.js';
import { NATIVE_BACKEND, noteDisposed, notePinned, noteRegistered } from './tensors.js';

/**
 * The backend object: the cpu backend's storage, under its own class, which
 * tells tensors.ts's buffer pool which arrays are registered, read out or
 * freed (see there).
 */
export class NativeBackend extends MathBackendCPU {
  override write(values: BackendValues, shape: number[], dtype: DataType): DataId {
    noteRegistered(values);
    return super.write(values, shape, dtype);
  }

  override move(dataId: DataId, values: BackendValues, shape: number[], dtype: DataType, refCount: number): void {
    noteRegistered(values);
    super.move(dataId, values, shape, dtype, refCount);
  }

  override readSync(dataId: DataId): BackendValues {
    notePinned(this.data.get(dataId)?.values);
    return super.readSync(dataId);
  }

  override disposeData(dataId: DataId, force = false): boolean {
    const values = this.data.get(dataId)?.values;
    const gone = super.disposeData(dataId, force);
    if (gone && values !== undefined && !this.data.has(dataId)) noteDisposed(values);
    return gone;
  }
}

/** Names of the kernels the addon runs (the rest are the cpu backend's). */
export let NATIVE_KERNELS: readonly string[] = [];

let registered = false;

export function registerNativeBackend(): AddonLoad {
  const load = loadAddon();
  if (load.addon === undefined || registered) return load;
  const ours = nativeKernelConfigs(load.addon);
  const byName = new Map(ours.map((k) => [k.kernelName, k]));
  for (const config of getKernelsForBackend('cpu')) {
    registerKernel(byName.get(config.kernelName) ?? { ...config, backendName: NATIVE_BACKEND });
  }
  for (const k of layerKernels(load.addon)) registerKernel(k);
  NATIVE_KERNELS = ours.map((k) => k.kernelName);
  // Priority below cpu and wasm: the backend is only used when chosen.
  registerBackend(NATIVE_BACKEND, () => new NativeBackend(), 0);
  registerFusedAdam(NATIVE_BACKEND, nativeAdamUpdate);
  registered = true;
  return load;
}

function nativeKernelConfigs(addon: NativeAddon): KernelConfig[] {
  return [
    ...convKernels(addon),
    ...matMulKernels(addon),
    ...elementwiseKernels(addon),
    ...reduceKernels(addon),
    ...layoutKernels(addon),
    ...sliceKernels(addon),
  ];
}
