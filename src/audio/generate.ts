/**
 * Fast WaveNet generation (Paine et al. 2016, "Fast Wavenet Generation
 * Algorithm"): one sample at a time, with each layer's past inputs kept in
 * a queue (speech.ts, which the browser uses too), the step either in plain
 * JavaScript loops (any backend) or as one call into the native addon
 * (native/src/wavenet.cc, the same arithmetic in the same order), which is
 * what makes generation faster than real time: per-op dispatch through tfjs
 * would cost more than the step's arithmetic.
 */
import { loadAddon } from '../backend/native/addon.js';
import type { AudioVqVae } from './model.js';
import { Generation, JsStepKernel, type StepKernel } from './speech.js';

export { Generation, JsStepKernel, sampleLogits, stateSize, stepDims, WaveNetStepper, type StepKernel } from './speech.js';

/** The native step, when the addon is built with it. */
export function nativeStepKernel(): StepKernel | undefined {
  const addon = loadAddon().addon as unknown as { wavenetStep?: StepKernel['step'] } | undefined;
  const step = addon?.wavenetStep;
  return step === undefined ? undefined : { step: (...args) => step(...args) };
}

export interface GenerateOptions {
  /** Uniform numbers in [0, 1): one per sample drawn. */
  readonly random: () => number;
  /** 'native' needs the addon; 'js' always works; 'auto' (default) prefers native. */
  readonly kernel?: 'auto' | 'native' | 'js';
  readonly onProgress?: (done: number, total: number) => void;
}

/** Samples levels [frames * hop] from code indices [frames] for one speaker. */
export function generateLevels(model: AudioVqVae, indices: Int32Array, speaker: number, options: GenerateOptions): Int32Array {
  const generation = new Generation(model, indices, speaker, pickKernel(options.kernel ?? 'auto'), options.random);
  while (!generation.run(16000)) options.onProgress?.(generation.done, generation.total);
  if (generation.total % 16000 === 0) options.onProgress?.(generation.total, generation.total);
  return generation.levels;
}

export function pickKernel(choice: 'auto' | 'native' | 'js'): StepKernel {
  if (choice === 'js') return new JsStepKernel();
  const native = nativeStepKernel();
  if (native !== undefined) return native;
  if (choice === 'native') throw new Error(`native WaveNet step unavailable: ${loadAddon().reason ?? 'addon built without wavenetStep'}`);
  return new JsStepKernel();
}
