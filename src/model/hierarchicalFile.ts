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
 */
import type * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { CONFIG_FILE, loadCheckpoint, saveCheckpoint } from '../io/checkpoint.js';
import { parseSaved, type Float32Tensor, type ParsedSaved, type SavedFormat, type SavedModel, type SavedSources } from '../io/savedModel.js';
import { modelSources, toNamed } from './checkpoint.js';
import { validateModelConfig } from './config.js';
import { HierarchicalVqVae, type HierarchicalConfig } from './hierarchical.js';
import { MODEL_SAVED_FORMAT, withWeights, type TrainingState } from './modelFile.js';

export const HIERARCHICAL_FORMAT = 'vqvae2';
export const HIERARCHICAL_FORMAT_VERSION = 1;

/**
 * The config as config.json holds it: flat, with `levels: 2` and the top
 * level's sizes. That `levels` is the number of code levels, in the place of
 * ModelConfig's FSQ `levels`, which a two-level model (VQ or EMA quantizers
 * only) does not use: on loading it takes its default again.
 */
export function hierarchicalConfigForFile(config: HierarchicalConfig): Record<string, unknown> {
  return { ...config.model, levels: 2, topCodebookSize: config.top.codebookSize, topCodeDim: config.top.codeDim };
}

/** Checks config.json's `model` section of a two-level model. */
export function validateHierarchicalConfig(value: unknown, source: string): HierarchicalConfig {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new UserError(`${source}: expected an object, found ${JSON.stringify(value)}`);
  const { levels, topCodebookSize, topCodeDim, ...model } = value as Record<string, unknown>;
  if (levels !== 2) throw new UserError(`${source}: "levels" must be 2, found ${JSON.stringify(levels)}`);
  for (const [key, v] of [['topCodebookSize', topCodebookSize], ['topCodeDim', topCodeDim]] as const) {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new UserError(`${source}: "${key}" must be an integer >= 1, found ${JSON.stringify(v)}`);
  }
  const checked = validateModelConfig(model, source);
  if (checked.quantizer !== 'vq' && checked.quantizer !== 'ema') {
    throw new UserError(`${source}: "quantizer" of a two-level model must be "vq" or "ema", found ${JSON.stringify(checked.quantizer)}`);
  }
  // Each level is a plain VQ or EMA codebook (model/hierarchical.ts): only its init and dead-code restarts vary.
  const off = { lookupDim: 0, cosine: false, gradient: 'ste' } as const;
  for (const [key, value] of Object.entries(off)) {
    if (checked[key as keyof typeof off] !== value) {
      throw new UserError(`${source}: "${key}" of a two-level model must be ${JSON.stringify(value)}, found ${JSON.stringify(checked[key as keyof typeof off])}`);
    }
  }
  return { model: checked, top: { codebookSize: topCodebookSize as number, codeDim: topCodeDim as number } };
}

export const HIERARCHICAL_SAVED_FORMAT: SavedFormat<HierarchicalConfig> = {
  ...MODEL_SAVED_FORMAT,
  format: HIERARCHICAL_FORMAT,
  version: HIERARCHICAL_FORMAT_VERSION,
  noun: 'two-level vqvae model',
  validate: validateHierarchicalConfig,
};

export interface LoadedHierarchicalModel {
  model: HierarchicalConfig;
  training?: TrainingState;
  vqvae: HierarchicalVqVae;
  /** Adam's moments. */
  extra: Record<string, Float32Tensor>;
}

export function saveHierarchicalModel(dir: string, model: HierarchicalVqVae, training?: TrainingState, optimizerState?: Record<string, tf.Tensor>): void {
  const tensors = { ...toNamed(model.state()), ...(optimizerState ? toNamed(optimizerState) : {}) };
  const config = { format: HIERARCHICAL_FORMAT, version: HIERARCHICAL_FORMAT_VERSION, model: hierarchicalConfigForFile(model.config), ...(training ? { training } : {}) };
  saveCheckpoint(dir, config, tensors, { format: HIERARCHICAL_FORMAT });
}

/** A saved two-level model as checked plain data (config, training, weights, optimizer state). */
export type HierarchicalData = ParsedSaved<HierarchicalConfig, TrainingState>;

/** Checks a saved two-level model's config and tensors. */
export function parseHierarchicalData(saved: SavedModel, sources: SavedSources): HierarchicalData {
  return parseSaved<HierarchicalConfig, TrainingState>(HIERARCHICAL_SAVED_FORMAT, saved, sources);
}

/** The HierarchicalVqVae of checked plain data; the weights must match its config exactly. */
export function hierarchicalFromData(data: HierarchicalData, sources: SavedSources): LoadedHierarchicalModel {
  const vqvae = withWeights(new HierarchicalVqVae(data.config), data.weights, sources.weights);
  return { model: data.config, training: data.training, vqvae, extra: data.optimizer };
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
