/**
 * A two-level model directory's contents as data (model/hierarchical.ts), the
 * bytes part of hierarchicalFile.ts as modelFile.ts is of checkpoint.ts: the
 * format, its config checks, and the model from checked data or from the
 * bytes of config.json and weights.safetensors. No file system here, so the
 * browser page loads a two-level model with the same checks as
 * `loadHierarchicalModel` does from a directory.
 */
import { UserError } from '../errors.js';
import { parseSaved, savedModelFromBytes, type Float32Tensor, type ParsedSaved, type SavedFormat, type SavedModel, type SavedSources } from '../io/savedModel.js';
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

/** The model from the text of config.json and the bytes of weights.safetensors, checked as a directory is. */
export function hierarchicalFromBytes(configText: string, weights: Uint8Array, sources: SavedSources): LoadedHierarchicalModel {
  return hierarchicalFromData(parseHierarchicalData(savedModelFromBytes(configText, weights, sources), sources), sources);
}
