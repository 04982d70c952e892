/**
 * A prior directory's contents, as data (format "vqvae-prior"): config.json's
 * object and the weights by name, checked once with the checks every saved
 * kind shares (io/savedModel.ts) and turned into a `PixelCnn`. No file
 * system here (checkpoint.ts reads and writes directories), so the web page
 * loads a prior from bytes with the CLI's checks and messages:
 *
 *   const { pixelCnn } = priorFromBytes(configText, weightsBytes, { config: 'prior/config.json', weights: 'prior/weights.safetensors' });
 */
import '../engine.js';
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../errors.js';
import {
  parseSaved,
  parseSavedConfig,
  savedModelFromBytes,
  type Float32Tensor,
  type ParsedSaved,
  type RunState,
  type SavedFormat,
  type SavedModel,
  type SavedSources,
} from '../io/savedModel.js';
import { validatePriorConfig, type PriorConfig } from './config.js';
import { PixelCnn } from './pixelcnn.js';

export const PRIOR_FORMAT = 'vqvae-prior';
export const PRIOR_FORMAT_VERSION = 1;

/** How the prior in a directory was trained, so far. */
export interface PriorTrainingState extends RunState {
  /** The .npy file of code grids it was trained on. */
  codes: string;
  /** The .npy file of labels, for a class-conditional prior. */
  labels?: string;
  /** The .npy file of top codes a bottom-level prior was conditioned on. */
  topCodes?: string;
}

export interface PriorFile {
  prior: PriorConfig;
  training?: PriorTrainingState;
}

export interface LoadedPrior extends PriorFile {
  pixelCnn: PixelCnn;
  /** Adam's moments, for --resume. */
  extra: Record<string, Float32Tensor>;
}

/** What a prior's config.json must hold. */
export const PRIOR_SAVED_FORMAT: SavedFormat<PriorConfig> = {
  format: PRIOR_FORMAT,
  version: PRIOR_FORMAT_VERSION,
  section: 'prior',
  noun: 'vqvae prior',
  validate: validatePriorConfig,
  trainingNumbers: ['step', 'totalSteps', 'batch', 'learningRate', 'seed', 'trainingSeconds'],
  trainingStrings: ['codes'],
};

/** A saved prior as plain data: its config, training state, weights and optimizer state. */
export type PriorData = ParsedSaved<PriorConfig, PriorTrainingState>;

/** Checks config.json's contents. */
export function parsePriorFile(value: unknown, source: string): PriorFile {
  const { config, training } = parseSavedConfig<PriorConfig, PriorTrainingState>(PRIOR_SAVED_FORMAT, value, source);
  return { prior: config, training };
}

/** Checks a saved prior's config and tensors: the plain data of a prior. */
export function parsePriorData(saved: SavedModel, sources: SavedSources): PriorData {
  return parseSaved<PriorConfig, PriorTrainingState>(PRIOR_SAVED_FORMAT, saved, sources);
}

/** The PixelCnn of checked plain data; the weights must match its config exactly. */
export function priorFromData(data: PriorData, sources: SavedSources): LoadedPrior {
  const tensors = new Map<string, tf.Tensor>();
  try {
    for (const [name, t] of Object.entries(data.weights)) tensors.set(name, tf.tensor(t.data, t.shape, 'float32'));
    let pixelCnn: PixelCnn;
    try {
      pixelCnn = PixelCnn.fromTensors(data.config, tensors);
    } catch (error) {
      if (error instanceof UserError) throw new UserError(`${sources.weights}: ${error.message}`);
      throw error;
    }
    return { prior: data.config, training: data.training, pixelCnn, extra: data.optimizer };
  } finally {
    tf.dispose([...tensors.values()]);
  }
}

/** A prior from the bytes of its config.json and weights.safetensors. */
export function priorFromBytes(configText: string, weights: Uint8Array, sources: SavedSources): LoadedPrior {
  return priorFromData(parsePriorData(savedModelFromBytes(configText, weights, sources), sources), sources);
}

/**
 * Throws unless `prior` models the code grids of a VQ-VAE with `codebookSize`
 * codes on a `grid` [h, w]; `source` starts the message.
 */
export function checkPriorFits(prior: PriorConfig, model: { codebookSize: number; grid: readonly [number, number] }, source: string): void {
  const [h, w] = model.grid;
  if (prior.codebookSize !== model.codebookSize || prior.height !== h || prior.width !== w) {
    throw new UserError(
      `${source}: this prior is for ${prior.height}x${prior.width} grids of ${prior.codebookSize} codes, ` +
        `but the model makes ${h}x${w} grids of ${model.codebookSize} codes`,
    );
  }
}
