/** Backend selection, the kernels that let the wasm backend train, and the native oneDNN backend. */
export { BACKEND_CHOICES, nativeUnavailable, selectBackend, usableBackends } from './select.js';
export type { BackendChoice, SelectedBackend } from './select.js';
export { registerWasmTrainingKernels, WASM_TRAINING_KERNELS } from './register.js';
export { isaName, NativeBackend, NATIVE_KERNELS, registerNativeBackend, setNativePrecision } from './native/backend.js';
export type { Precision } from './native/backend.js';
export { loadAddon } from './native/addon.js';
export type { NativeAddon } from './native/addon.js';
export { nativeRuns } from './native/tensors.js';
