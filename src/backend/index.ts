/** Backend selection and the kernels that let the wasm backend train. */
export { BACKEND_CHOICES, NATIVE_UNAVAILABLE, selectBackend, usableBackends } from './select.js';
export type { BackendChoice, SelectedBackend } from './select.js';
export { registerWasmTrainingKernels, WASM_TRAINING_KERNELS } from './register.js';
