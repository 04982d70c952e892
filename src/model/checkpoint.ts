/**
 * A model directory as the CLI and library use it: `config.json` holds
 *
 *   { "format": "vqvae", "version": 1,
 *     "model": { ...ModelConfig },
 *     "training": { "data": "mnist", "step": 1000, ... } }
 *
 * and `weights.safetensors` every variable of the model (float32, names as
 * in `VqVae.state()`, e.g. `encoder.down.0.weight` [4, 4, 1, 64]) plus, for
 * `--resume`, Adam's moments (`adam.m.<name>`, `adam.v.<name>`). Saving is
 * atomic (io/checkpoint.ts): a crash leaves the previous checkpoint whole.
 */
import * as tf from '@tensorflow/tfjs-core';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { loadCheckpoint, saveCheckpoint } from '../io/checkpoint.js';
import type { NamedTensor } from '../io/safetensors.js';
import type { Adam } from '../train/adam.js';
import { validateModelConfig, type ModelConfig } from './config.js';
import { VqVae } from './vqvae.js';

export const MODEL_FORMAT = 'vqvae';
export const MODEL_FORMAT_VERSION = 1;

/** How the model in a directory was trained, so far. */
export interface TrainingState {
  /** Data SPEC it was trained on. */
  data: string;
  /** Steps done. */
  step: number;
  /** Steps the run was asked for. */
  totalSteps: number;
  batch: number;
  learningRate: number;
  seed: number;
  /** var(x) of the training pixels in [0, 1], the reconstruction loss's divisor. */
  dataVariance: number;
  /** Backend of the latest run. */
  backend: string;
  /** Seconds spent in training steps, all runs together. */
  trainingSeconds: number;
  /** `--resize` of a folder data set, if any. */
  resize?: [number, number];
  /** Loss of the last step. */
  loss?: number;
}

export interface ModelFile {
  model: ModelConfig;
  training?: TrainingState;
}

export interface LoadedModel extends ModelFile {
  model: ModelConfig;
  vqvae: VqVae;
  /** Tensors of the file that are not model variables (Adam's moments). */
  extra: Record<string, { shape: number[]; data: Float32Array }>;
}

/** Variables as float32 tensors for a safetensors file. */
export function toNamed(variables: Record<string, tf.Variable>): Record<string, NamedTensor> {
  const out: Record<string, NamedTensor> = {};
  for (const [name, v] of Object.entries(variables)) {
    out[name] = { dtype: 'F32', shape: v.shape.slice(), data: v.dataSync() as Float32Array };
  }
  return out;
}

/** Writes the model (and the optimizer's state, if given) into `dir` atomically. */
export function saveModel(dir: string, model: VqVae, training?: TrainingState, optimizer?: Adam): void {
  const tensors = { ...toNamed(model.state()), ...(optimizer ? toNamed(optimizer.state()) : {}) };
  const config = { format: MODEL_FORMAT, version: MODEL_FORMAT_VERSION, model: model.config, ...(training ? { training } : {}) };
  saveCheckpoint(dir, config, tensors, { format: MODEL_FORMAT });
}

/** Reads and checks config.json's contents. */
export function parseModelFile(value: unknown, source: string): ModelFile {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UserError(`${source}: expected a JSON object`);
  }
  const record = value as Record<string, unknown>;
  if (record.format !== MODEL_FORMAT) {
    throw new UserError(`${source}: not a vqvae model (format ${JSON.stringify(record.format)}, expected "${MODEL_FORMAT}")`);
  }
  if (record.version !== MODEL_FORMAT_VERSION) {
    throw new UserError(`${source}: unsupported version ${JSON.stringify(record.version)}, expected ${MODEL_FORMAT_VERSION}`);
  }
  for (const key of Object.keys(record)) {
    if (!['format', 'version', 'model', 'training'].includes(key)) {
      throw new UserError(`${source}: unknown key "${key}"; valid keys are format, version, model, training`);
    }
  }
  const model = validateModelConfig(record.model, `${source}: model`);
  const training = record.training as TrainingState | undefined;
  if (training !== undefined) {
    const t = training as unknown as Record<string, unknown>;
    for (const key of ['step', 'totalSteps', 'batch', 'learningRate', 'seed', 'dataVariance', 'trainingSeconds']) {
      if (typeof t[key] !== 'number' || !Number.isFinite(t[key] as number)) {
        throw new UserError(`${source}: training.${key} must be a number, found ${JSON.stringify(t[key])}`);
      }
    }
    if (typeof t.data !== 'string') throw new UserError(`${source}: training.data must be a string`);
  }
  return { model, training };
}

/** Loads the model in `dir`; the weights must match its config exactly. */
export function loadModel(dir: string): LoadedModel {
  const checkpoint = loadCheckpoint(dir);
  const file = parseModelFile(checkpoint.config, join(dir, 'config.json'));
  const modelTensors: Record<string, { shape: number[]; data: Float32Array }> = {};
  const extra: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const [name, t] of Object.entries(checkpoint.tensors)) {
    if (!(t.data instanceof Float32Array)) {
      throw new UserError(`${join(dir, 'weights.safetensors')}: tensor ${name} is ${t.dtype}, expected F32`);
    }
    (name.startsWith('adam.') ? extra : modelTensors)[name] = { shape: t.shape, data: t.data };
  }
  const vqvae = new VqVae(file.model);
  try {
    vqvae.load(modelTensors, join(dir, 'weights.safetensors'));
  } catch (error) {
    vqvae.dispose();
    throw error;
  }
  return { ...file, vqvae, extra };
}
