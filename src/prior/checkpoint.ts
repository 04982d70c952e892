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
 * `adam.v.<name>`. Readers that want only the weights skip names starting
 * with `adam.`.
 */
import '../engine.js';
import * as tf from '@tensorflow/tfjs-core';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { loadCheckpoint, saveCheckpoint } from '../io/checkpoint.js';
import { toNamed } from '../model/checkpoint.js';
import type { Adam } from '../train/adam.js';
import { priorConfigForFile, validatePriorConfig, type PriorConfig } from './config.js';
import { PixelCnn } from './pixelcnn.js';

export const PRIOR_FORMAT = 'vqvae-prior';
export const PRIOR_FORMAT_VERSION = 1;

/** How the prior in a directory was trained, so far. */
export interface PriorTrainingState {
  /** The .npy file of code grids it was trained on. */
  codes: string;
  /** The .npy file of labels, for a class-conditional prior. */
  labels?: string;
  step: number;
  totalSteps: number;
  batch: number;
  learningRate: number;
  seed: number;
  backend: string;
  /** Seconds spent in training steps, all runs together. */
  trainingSeconds: number;
  /** Loss (nats per code) of the last step. */
  loss?: number;
}

export interface PriorFile {
  prior: PriorConfig;
  training?: PriorTrainingState;
}

export interface LoadedPrior extends PriorFile {
  pixelCnn: PixelCnn;
  /** Adam's moments, for --resume. */
  extra: Record<string, { shape: number[]; data: Float32Array }>;
}

/** Writes the prior (and the optimizer's state, if given) into `dir` atomically. */
export async function savePrior(dir: string, prior: PixelCnn, training?: PriorTrainingState, optimizer?: Adam): Promise<void> {
  const tensors = { ...toNamed(Object.fromEntries(prior.variables)), ...(optimizer ? toNamed(optimizer.state()) : {}) };
  const config = { format: PRIOR_FORMAT, version: PRIOR_FORMAT_VERSION, prior: priorConfigForFile(prior.config), ...(training ? { training } : {}) };
  saveCheckpoint(dir, config, tensors, { format: PRIOR_FORMAT });
}

/** Checks config.json's contents. */
export function parsePriorFile(value: unknown, source: string): PriorFile {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new UserError(`${source}: expected a JSON object`);
  const record = value as Record<string, unknown>;
  if (record.format !== PRIOR_FORMAT) {
    const hint = record.format === 'vqvae' ? ' (this is a VQ-VAE model directory; pass it as --model)' : '';
    throw new UserError(`${source}: not a prior (format ${JSON.stringify(record.format)}, expected "${PRIOR_FORMAT}")${hint}`);
  }
  if (record.version !== PRIOR_FORMAT_VERSION) {
    throw new UserError(`${source}: unsupported version ${JSON.stringify(record.version)}, expected ${PRIOR_FORMAT_VERSION}`);
  }
  for (const key of Object.keys(record)) {
    if (!['format', 'version', 'prior', 'training'].includes(key)) {
      throw new UserError(`${source}: unknown key "${key}"; valid keys are format, version, prior, training`);
    }
  }
  const prior = validatePriorConfig(record.prior, `${source}: prior`);
  const training = record.training as PriorTrainingState | undefined;
  if (training !== undefined) {
    const t = training as unknown as Record<string, unknown>;
    for (const key of ['step', 'totalSteps', 'batch', 'learningRate', 'seed', 'trainingSeconds']) {
      if (typeof t[key] !== 'number' || !Number.isFinite(t[key] as number)) {
        throw new UserError(`${source}: training.${key} must be a number, found ${JSON.stringify(t[key])}`);
      }
    }
    if (typeof t.codes !== 'string') throw new UserError(`${source}: training.codes must be a string`);
  }
  return { prior, training };
}

/** Loads the prior directory `dir` with its training state and optimizer moments. */
export async function loadPriorDirectory(dir: string): Promise<LoadedPrior> {
  const checkpoint = loadCheckpoint(dir);
  const file = parsePriorFile(checkpoint.config, join(dir, 'config.json'));
  const weightsPath = join(dir, 'weights.safetensors');
  const tensors = new Map<string, tf.Tensor>();
  const extra: LoadedPrior['extra'] = {};
  try {
    for (const [name, t] of Object.entries(checkpoint.tensors)) {
      if (!(t.data instanceof Float32Array)) throw new UserError(`${weightsPath}: tensor ${name} is ${t.dtype}, expected F32`);
      if (name.startsWith('adam.')) extra[name] = { shape: t.shape, data: t.data };
      else tensors.set(name, tf.tensor(t.data, t.shape, 'float32'));
    }
    let pixelCnn: PixelCnn;
    try {
      pixelCnn = PixelCnn.fromTensors(file.prior, tensors);
    } catch (error) {
      if (error instanceof UserError) throw new UserError(`${weightsPath}: ${error.message}`);
      throw error;
    }
    return { ...file, pixelCnn, extra };
  } finally {
    tf.dispose([...tensors.values()]);
  }
}

/** Loads the prior in `dir`, weights only. */
export async function loadPrior(dir: string): Promise<PixelCnn> {
  return (await loadPriorDirectory(dir)).pixelCnn;
}
