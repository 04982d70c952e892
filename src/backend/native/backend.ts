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
import { registerFusedNearestCodes } from '../fusedNearest.js';
import { nativeAdamUpdate } from './adam.js';
import { loadAddon, type AddonLoad, type NativeAddon } from './addon.js';
import { convKernels } from './conv.js';
import { elementwiseKernels } from './elementwise.js';
import { layerKernels } from './layers.js';
import { layoutKernels } from './layout.js';
import { matMulKernels } from './matmul.js';
import { nativeNearestCodes } from './nearest.js';
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
  registerFusedNearestCodes(NATIVE_BACKEND, nativeNearestCodes);
  registered = true;
  return load;
}

export type Precision = 'fp32' | 'bf16';

/** oneDNN's ISA names (dnnl_cpu_isa_t of oneDNN 2.6), for messages. */
export function isaName(isa: number): string {
  const names: Record<number, string> = {
    0x0: 'all', 0x1: 'sse41', 0x3: 'avx', 0x7: 'avx2', 0x27: 'avx512_core', 0x67: 'avx512_core_vnni',
    0xe7: 'avx512_core_bf16', 0x3e7: 'avx512_core_amx', 0x407: 'avx2_vnni',
  };
  return names[isa] ?? `0x${isa.toString(16)}`;
}

/**
 * Sets the precision of the native convolutions (native/src/conv.cc): bf16
 * where the CPU has AVX-512 bf16 or AMX, else it stays fp32 and the reason
 * comes back, e.g. 'this CPU lacks AVX-512 bf16 and AMX (oneDNN ISA avx2)'.
 */
export function setNativePrecision(precision: Precision): string | undefined {
  const load = loadAddon();
  if (load.addon === undefined) return load.reason;
  const { bf16, isa } = load.addon.info();
  if (precision === 'bf16' && !bf16) return `this CPU lacks AVX-512 bf16 and AMX (oneDNN ISA ${isaName(isa)})`;
  load.addon.setPrecision(precision);
  return undefined;
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
