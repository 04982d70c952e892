/**
 * A prior directory (Node only), written with the VQ-VAE's crash-safe
 * checkpoint code (io/checkpoint.ts): `config.json` holds
 *
 *   { "checkpoint_id": "...", "format": "vqvae-prior", "version": 1,
 *     "prior": { ...PriorConfig },
 *     "training": { "codes": "codes.npy", "step": 2000, ... } }
 *
 * and `weights.safetensors` every variable of the PixelCNN by name
 * (`prior.embedding`, `prior.v.0.weight`, ...; masks are constants and not
 * saved) plus, for `--resume`, Adam's moments `adam.m.<name>`,
 * `adam.v.<name>`. The format's checks are in priorFile.ts (no file system).
 */
import type * as tf from '@tensorflow/tfjs-core';
import { join } from 'node:path';
import { CONFIG_FILE, loadCheckpoint, saveCheckpoint, WEIGHTS_FILE } from '../io/checkpoint.js';
import type { SavedSources } from '../io/savedModel.js';
import { toNamed } from '../model/checkpoint.js';
import { priorConfigForFile } from './config.js';
import type { PixelCnn } from './pixelcnn.js';
import {
  parsePriorData,
  priorFromData,
  PRIOR_FORMAT,
  PRIOR_FORMAT_VERSION,
  type LoadedPrior,
  type PriorData,
  type PriorTrainingState,
} from './priorFile.js';

export {
  PRIOR_FORMAT,
  PRIOR_FORMAT_VERSION,
  parsePriorFile,
  type LoadedPrior,
  type PriorData,
  type PriorFile,
  type PriorTrainingState,
} from './priorFile.js';

/**
 * Writes the prior (and the optimizer's state, if given: named tensors such
 * as Adam's `state()`) into `dir` atomically.
 */
export async function savePrior(dir: string, prior: PixelCnn, training?: PriorTrainingState, optimizerState?: Record<string, tf.Tensor>): Promise<void> {
  const tensors = { ...toNamed(Object.fromEntries(prior.variables)), ...(optimizerState ? toNamed(optimizerState) : {}) };
  const config = { format: PRIOR_FORMAT, version: PRIOR_FORMAT_VERSION, prior: priorConfigForFile(prior.config), ...(training ? { training } : {}) };
  saveCheckpoint(dir, config, tensors, { format: PRIOR_FORMAT });
}

/** The file names of the prior directory `dir`, for messages. */
export function priorSources(dir: string): SavedSources {
  return { config: join(dir, CONFIG_FILE), weights: join(dir, WEIGHTS_FILE) };
}

/** The prior in `dir` as checked plain data, read once. */
export function readPriorData(dir: string): PriorData {
  return parsePriorData(loadCheckpoint(dir), priorSources(dir));
}

/** Loads the prior directory `dir` with its training state and optimizer moments. */
export async function loadPriorDirectory(dir: string): Promise<LoadedPrior> {
  return priorFromData(readPriorData(dir), priorSources(dir));
}

/** Loads the prior in `dir`, weights only. */
export async function loadPrior(dir: string): Promise<PixelCnn> {
  return (await loadPriorDirectory(dir)).pixelCnn;
}
