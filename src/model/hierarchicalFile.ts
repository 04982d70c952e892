/**
 * A two-level model directory (model/hierarchical.ts), as model/checkpoint.ts
 * is for one level: `config.json` holds
 *
 *   { "format": "vqvae2", "version": 1,
 *     "model": { ...ModelConfig (trunks, likelihood, the bottom level's K and D),
 *                "levels": 2, "topCodebookSize": 64, "topCodeDim": 64 },
 *     "training": { ...as a one-level model's } }
 *
 * and `weights.safetensors` every variable by name (`encoder.bottom.*`,
 * `encoder.top.*`, `decoder.top.*`, `decoder.*`, `quantizer.top.*`,
 * `quantizer.bottom.*`) plus Adam's moments for --resume. Its own format
 * name, so a command that takes one-level models refuses it in one line.
 * The format and its checks, over bytes, are in hierarchicalModelFile.ts.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIG_FILE, loadCheckpoint, saveCheckpoint } from '../io/checkpoint.js';
import { modelSources, toNamed } from './checkpoint.js';
import { QUANTIZER_KINDS, type QuantizerKind } from './config.js';
import type { HierarchicalVqVae } from './hierarchical.js';
import {
  HIERARCHICAL_FORMAT,
  HIERARCHICAL_FORMAT_VERSION,
  hierarchicalConfigForFile,
  hierarchicalFromData,
  parseHierarchicalData,
  type LoadedHierarchicalModel,
} from './hierarchicalModelFile.js';
import type { TrainingState } from './modelFile.js';

export {
  HIERARCHICAL_FORMAT,
  HIERARCHICAL_FORMAT_VERSION,
  HIERARCHICAL_SAVED_FORMAT,
  hierarchicalConfigForFile,
  hierarchicalFromBytes,
  hierarchicalFromData,
  parseHierarchicalData,
  validateHierarchicalConfig,
  type HierarchicalData,
  type LoadedHierarchicalModel,
} from './hierarchicalModelFile.js';

export function saveHierarchicalModel(dir: string, model: HierarchicalVqVae, training?: TrainingState, optimizerState?: Record<string, tf.Tensor>): void {
  const tensors = { ...toNamed(model.state()), ...(optimizerState ? toNamed(optimizerState) : {}) };
  const config = { format: HIERARCHICAL_FORMAT, version: HIERARCHICAL_FORMAT_VERSION, model: hierarchicalConfigForFile(model.config), ...(training ? { training } : {}) };
  saveCheckpoint(dir, config, tensors, { format: HIERARCHICAL_FORMAT });
}

export function loadHierarchicalModel(dir: string): LoadedHierarchicalModel {
  const sources = modelSources(dir);
  return hierarchicalFromData(parseHierarchicalData(loadCheckpoint(dir), sources), sources);
}

/** The number of levels of the model directory `dir` (1 for every directory that is not a two-level one). */
export function modelLevels(dir: string): 1 | 2 {
  try {
    const config = JSON.parse(readFileSync(join(dir, CONFIG_FILE), 'utf8')) as Record<string, unknown> | null;
    return config && typeof config === 'object' && config.format === HIERARCHICAL_FORMAT ? 2 : 1;
  } catch {
    return 1; // loading it says what is wrong
  }
}

/**
 * The quantizer kind of each level of the two-level model directory `dir`, as
 * its config.json says (undefined if it is not one or cannot be read: loading
 * it says what is wrong); for reading --resume's flags per level before the
 * model is loaded.
 */
export function savedLevelKinds(dir: string): { top: QuantizerKind; bottom: QuantizerKind } | undefined {
  try {
    const config = JSON.parse(readFileSync(join(dir, CONFIG_FILE), 'utf8')) as { format?: unknown; model?: { quantizer?: unknown; topQuantizer?: { quantizer?: unknown } } };
    if (config.format !== HIERARCHICAL_FORMAT) return undefined;
    const kind = (v: unknown) => ((QUANTIZER_KINDS as readonly unknown[]).includes(v) ? (v as QuantizerKind) : undefined);
    const bottom = kind(config.model?.quantizer);
    if (!bottom) return undefined;
    return { bottom, top: kind(config.model?.topQuantizer?.quantizer) ?? bottom };
  } catch {
    return undefined;
  }
}
