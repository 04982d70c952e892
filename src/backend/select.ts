/**
 * Picks and readies the tfjs backend that training and inference run on, and
 * says in one line which one it is and why (docs/ARCHITECTURE.md, "Backends").
 *
 *   auto   - native if the addon loads, else wasm with our training kernels
 *            (saying in one line why native is unavailable), else cpu
 *   native - the oneDNN addon (native/, src/backend/native/); a UserError
 *            saying why when it is not built or does not load
 *   wasm   - XNNPACK in WebAssembly, single-threaded in Node, with the
 *            kernels from register.ts
 *   cpu    - tfjs's pure-JS backend, about 1 GFLOP/s on convolutions
 *
 * e.g. `await selectBackend('auto')` gives `{name: 'native', reason:
 * 'native (oneDNN 2.6.3, 2 threads)'}`, or without libdnnl-dev `{name: 'wasm',
 * reason: 'wasm (native backend unavailable: libdnnl-dev not installed: ...)'}`.
 * Safe to call any number of times; calls run one after another.
 */
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';

import '../engine.js';
import { UserError } from '../errors.js';
import { registerNativeBackend } from './native/backend.js';
import { registerWasmTrainingKernels } from './register.js';

export type BackendChoice = 'auto' | 'native' | 'wasm' | 'cpu';

/** Every valid `--backend` value, in the order the CLI lists them. */
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'native', 'wasm', 'cpu'];

export interface SelectedBackend {
  /** The tfjs backend now active. */
  name: 'wasm' | 'cpu' | 'native';
  /** One line: the backend and why it was chosen, e.g. 'wasm (native backend not built)'. */
  reason: string;
}

/** The UserError message of `--backend native` when the addon is unavailable, given why. */
export function nativeUnavailable(why: string): string {
  return `backend "native" is not available (${why}); use --backend auto, wasm or cpu`;
}

// tf.setBackend is global state; chaining the calls keeps two overlapping
// selections from interleaving their awaits.
let queue: Promise<unknown> = Promise.resolve();

export function selectBackend(choice: BackendChoice): Promise<SelectedBackend> {
  const next = queue.then(() => select(choice));
  queue = next.catch(() => undefined);
  return next;
}

async function select(choice: BackendChoice): Promise<SelectedBackend> {
  switch (choice) {
    case 'native': {
      const native = await tryNative();
      if (native.failure !== undefined) throw new UserError(nativeUnavailable(native.failure));
      return { name: 'native', reason: `native (${native.detail}, chosen with --backend native)` };
    }
    case 'cpu':
      await activate('cpu');
      return { name: 'cpu', reason: 'cpu (chosen with --backend cpu)' };
    case 'wasm': {
      const failure = await tryWasm();
      if (failure !== undefined) {
        throw new UserError(`backend "wasm" failed to initialise: ${failure}; use --backend cpu`);
      }
      return { name: 'wasm', reason: 'wasm (chosen with --backend wasm)' };
    }
    case 'auto': {
      const native = await tryNative();
      if (native.failure === undefined) return { name: 'native', reason: `native (${native.detail})` };
      const failure = await tryWasm();
      if (failure === undefined) {
        return { name: 'wasm', reason: `wasm (native backend unavailable: ${native.failure})` };
      }
      await activate('cpu');
      return {
        name: 'cpu',
        reason: `cpu (native backend unavailable: ${native.failure}; wasm failed to initialise: ${failure})`,
      };
    }
    default: {
      // Reached only from untyped callers; the CLI validates against BACKEND_CHOICES.
      const found: never = choice;
      throw new UserError(`unknown backend "${String(found)}": expected one of ${BACKEND_CHOICES.join(', ')}`);
    }
  }
}

/**
 * Every backend that initialises on this machine, by its `--backend` name,
 * in the order auto prefers them: for tests and benchmarks that run on each.
 * Leaves the last one (cpu) active.
 */
export async function usableBackends(): Promise<SelectedBackend['name'][]> {
  const usable: SelectedBackend['name'][] = [];
  for (const name of ['native', 'wasm', 'cpu'] as const) {
    try {
      await selectBackend(name);
      usable.push(name);
    } catch (error) {
      if (!(error instanceof UserError)) throw error;
    }
  }
  return usable;
}

/** Makes native the active backend; returns why it failed, or what runs. */
async function tryNative(): Promise<{ failure: string; detail?: undefined } | { failure?: undefined; detail: string }> {
  const load = registerNativeBackend();
  if (load.addon === undefined) return { failure: load.reason };
  try {
    if (!(await tf.setBackend('native'))) return { failure: 'the backend failed to initialise' };
    await tf.ready();
  } catch (error) {
    return { failure: error instanceof Error ? error.message : String(error) };
  }
  const info = load.addon.info();
  return { detail: `oneDNN ${info.onednn}, ${info.threads} thread${info.threads === 1 ? '' : 's'}` };
}

/** Makes wasm the active backend; returns why it failed, or undefined. */
async function tryWasm(): Promise<string | undefined> {
  registerWasmTrainingKernels();
  try {
    // false when the module could not be instantiated; tfjs has then already
    // printed the underlying error as a warning.
    if (!(await tf.setBackend('wasm'))) return 'the WebAssembly module did not load (see the warning above)';
    await tf.ready();
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

async function activate(name: 'cpu'): Promise<void> {
  if (!(await tf.setBackend(name))) {
    throw new Error(`tfjs backend "${name}" failed to initialise`);
  }
  await tf.ready();
}
