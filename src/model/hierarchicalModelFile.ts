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
import type { ModelConfig } from './config.js';
import {
  HierarchicalVqVae,
  LEVEL_QUANTIZER_KEYS,
  levelModelConfigs,
  topIsDefault,
  topLevelSettings,
  type CompleteHierarchicalConfig,
  type HierarchicalConfig,
  type TopLevelConfig,
} from './hierarchical.js';
import { MODEL_SAVED_FORMAT, withWeights, type TrainingState } from './modelFile.js';

export const HIERARCHICAL_FORMAT = 'vqvae2';
export const HIERARCHICAL_FORMAT_VERSION = 1;

/**
 * The config as config.json holds it: flat, with `levels: 2` and the top
 * level's sizes. That `levels` is the number of code levels, in the place of
 * ModelConfig's FSQ `levels`: a bottom level of kind fsq keeps its levels
 * per scalar in `fsqLevels`. The top level's quantizer settings
 * (model/hierarchical.ts LEVEL_QUANTIZER_KEYS, ModelConfig's names, FSQ's
 * `levels` among them) are the object `topQuantizer`, written only when they
 * differ from those a config without it implies (topLevelSettings: the
 * bottom level's), so a model of the same quantizer on both levels is
 * written as before they existed.
 */
export function hierarchicalConfigForFile(config: HierarchicalConfig): Record<string, unknown> {
  const { levels: fsqLevels, ...bottom } = config.model;
  const top = topLevelSettings(config.model, config.top);
  const topQuantizer = Object.fromEntries(LEVEL_QUANTIZER_KEYS.map((key) => [key, top[key]]));
  return {
    ...bottom,
    levels: 2,
    topCodebookSize: top.codebookSize,
    topCodeDim: top.codeDim,
    ...(fsqLevels.length > 0 ? { fsqLevels: [...fsqLevels] } : {}),
    ...(topIsDefault(config.model, top) ? {} : { topQuantizer }),
  };
}

/** Checks config.json's `model` section of a two-level model: each level as a one-level config is checked (levelModelConfigs). */
export function validateHierarchicalConfig(value: unknown, source: string): CompleteHierarchicalConfig {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new UserError(`${source}: expected an object, found ${JSON.stringify(value)}`);
  const { levels, topCodebookSize, topCodeDim, fsqLevels, topQuantizer, ...rest } = value as Record<string, unknown>;
  if (levels !== 2) throw new UserError(`${source}: "levels" must be 2, found ${JSON.stringify(levels)}`);
  for (const [key, v] of [['topCodebookSize', topCodebookSize], ['topCodeDim', topCodeDim]] as const) {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new UserError(`${source}: "${key}" must be an integer >= 1, found ${JSON.stringify(v)}`);
  }
  if ('levels' in rest) throw new UserError(`${source}: unexpected key "levels"`);
  const model = { ...rest, ...(fsqLevels !== undefined ? { levels: fsqLevels } : {}) };
  if (topQuantizer !== undefined && (typeof topQuantizer !== 'object' || topQuantizer === null || Array.isArray(topQuantizer))) {
    throw new UserError(`${source}: "topQuantizer" must be an object, found ${JSON.stringify(topQuantizer)}`);
  }
  const topGiven = (topQuantizer ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(topGiven)) {
    if (!(LEVEL_QUANTIZER_KEYS as readonly string[]).includes(key)) {
      throw new UserError(`${source}: unknown key "${key}" in "topQuantizer"; valid keys are ${LEVEL_QUANTIZER_KEYS.join(', ')}`);
    }
  }
  const config = { model: model as unknown as ModelConfig, top: { ...topGiven, codebookSize: topCodebookSize as number, codeDim: topCodeDim as number } as TopLevelConfig };
  const checked = levelModelConfigs(config, source);
  return { model: checked.bottom, top: topLevelSettings(checked.bottom, checked.top) };
}

export const HIERARCHICAL_SAVED_FORMAT: SavedFormat<CompleteHierarchicalConfig> = {
  ...MODEL_SAVED_FORMAT,
  format: HIERARCHICAL_FORMAT,
  version: HIERARCHICAL_FORMAT_VERSION,
  noun: 'two-level vqvae model',
  validate: validateHierarchicalConfig,
};

export interface LoadedHierarchicalModel {
  model: CompleteHierarchicalConfig;
  training?: TrainingState;
  vqvae: HierarchicalVqVae;
  /** Adam's moments. */
  extra: Record<string, Float32Tensor>;
}

/** A saved two-level model as checked plain data (config, training, weights, optimizer state). */
export type HierarchicalData = ParsedSaved<CompleteHierarchicalConfig, TrainingState>;

/** Checks a saved two-level model's config and tensors. */
export function parseHierarchicalData(saved: SavedModel, sources: SavedSources): HierarchicalData {
  return parseSaved<CompleteHierarchicalConfig, TrainingState>(HIERARCHICAL_SAVED_FORMAT, saved, sources);
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
