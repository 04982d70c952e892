/**
 * Picks and readies the tfjs backend that training and inference run on, and
 * says in one line which one it is and why (DESIGN.md, "Engine").
 *
 *   auto   - native if built (not yet), else wasm with our training kernels,
 *            else cpu
 *   native - the oneDNN addon: not part of this build yet, so a UserError
 *   wasm   - XNNPACK in WebAssembly, single-threaded in Node, with the
 *            kernels from register.ts
 *   cpu    - tfjs's pure-JS backend, about 1 GFLOP/s on convolutions
 *
 * e.g. `await selectBackend('auto')` gives
 * `{name: 'wasm', reason: 'wasm (native backend not built)'}`.
 * Safe to call any number of times; calls run one after another.
 */
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';

import '../engine.js';
import { UserError } from '../errors.js';
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

export const NATIVE_UNAVAILABLE =
  'backend "native" is not available: the native oneDNN backend is not part of this build yet; ' +
  'use --backend auto, wasm or cpu';

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
    case 'native':
      throw new UserError(NATIVE_UNAVAILABLE);
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
      const failure = await tryWasm();
      if (failure === undefined) {
        return { name: 'wasm', reason: 'wasm (native backend not built)' };
      }
      await activate('cpu');
      return { name: 'cpu', reason: `cpu (native backend not built; wasm failed to initialise: ${failure})` };
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
