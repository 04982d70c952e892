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
import { loadCheckpoint, saveCheckpoint } from '../io/checkpoint.js';
import type { NamedTensor } from '../io/safetensors.js';
import type { Adam } from '../train/adam.js';
import { MODEL_FORMAT, MODEL_FORMAT_VERSION, modelFromTensors, type LoadedModel, type TrainingState } from './modelFile.js';
import type { VqVae } from './vqvae.js';

export {
  MODEL_FORMAT,
  MODEL_FORMAT_VERSION,
  parseModelFile,
  type LoadedModel,
  type ModelFile,
  type TrainingState,
} from './modelFile.js';

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

/** Loads the model in `dir`; the weights must match its config exactly. */
export function loadModel(dir: string): LoadedModel {
  const checkpoint = loadCheckpoint(dir);
  return modelFromTensors(checkpoint.config, checkpoint.tensors, {
    config: join(dir, 'config.json'),
    weights: join(dir, 'weights.safetensors'),
  });
}
