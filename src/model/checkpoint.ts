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
import { CONFIG_FILE, loadCheckpoint, saveCheckpoint, WEIGHTS_FILE } from '../io/checkpoint.js';
import type { NamedTensor } from '../io/safetensors.js';
import {
  MODEL_FORMAT,
  MODEL_FORMAT_VERSION,
  modelFromData,
  parseModelData,
  type LoadedModel,
  type ModelData,
  type ModelSources,
  type TrainingState,
} from './modelFile.js';
import type { VqVae } from './vqvae.js';

export {
  MODEL_FORMAT,
  MODEL_FORMAT_VERSION,
  parseModelFile,
  type LoadedModel,
  type ModelData,
  type ModelFile,
  type TrainingState,
} from './modelFile.js';

/** Variables (or any float32 tensors) as tensors for a safetensors file. */
export function toNamed(variables: Record<string, tf.Tensor>): Record<string, NamedTensor> {
  const out: Record<string, NamedTensor> = {};
  for (const [name, v] of Object.entries(variables)) {
    out[name] = { dtype: 'F32', shape: v.shape.slice(), data: v.dataSync() as Float32Array };
  }
  return out;
}

/**
 * Writes the model (and the optimizer's state, if given: named tensors such
 * as Adam's `state()`, `adam.m.<name>` and `adam.v.<name>`) into `dir` atomically.
 */
export function saveModel(dir: string, model: VqVae, training?: TrainingState, optimizerState?: Record<string, tf.Tensor>): void {
  const tensors = { ...toNamed(model.state()), ...(optimizerState ? toNamed(optimizerState) : {}) };
  const config = { format: MODEL_FORMAT, version: MODEL_FORMAT_VERSION, model: model.config, ...(training ? { training } : {}) };
  saveCheckpoint(dir, config, tensors, { format: MODEL_FORMAT });
}

/** The file names of the model directory `dir`, for messages. */
export function modelSources(dir: string): ModelSources {
  return { config: join(dir, CONFIG_FILE), weights: join(dir, WEIGHTS_FILE) };
}

/** The model in `dir` as checked plain data (config, training, weights, optimizer state), read once. */
export function readModelData(dir: string): ModelData {
  return parseModelData(loadCheckpoint(dir), modelSources(dir));
}

/** Loads the model in `dir`; the weights must match its config exactly. */
export function loadModel(dir: string): LoadedModel {
  return modelFromData(readModelData(dir), modelSources(dir));
}
