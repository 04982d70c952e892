/**
 * A model directory's contents, as data: the `config.json` object and the
 * weights' tensors by name, checked and turned into a `VqVae`. No file system
 * here, so the browser page loads a model from fetched or dropped bytes with
 * the same checks as `loadModel` (checkpoint.ts, Node) does from a directory:
 *
 *   const model = modelFromBytes(configText, weightsBytes, { config: 'config.json', weights: 'weights.safetensors' });
 */
import { UserError } from '../errors.js';
import { decodeSafetensors, type NamedTensor } from '../io/safetensors.js';
import { CHECKPOINT_ID_KEY } from '../io/checkpointId.js';
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

/** Where a model's two parts came from, for messages. */
export interface ModelSources {
  config: string;
  weights: string;
}

/**
 * Builds the model from config.json's parsed value and the weights' tensors
 * (names starting with `adam.` are optimizer state and go to `extra`).
 */
export function modelFromTensors(config: unknown, tensors: Record<string, NamedTensor>, sources: ModelSources): LoadedModel {
  const file = parseModelFile(config, sources.config);
  const modelTensors: Record<string, { shape: number[]; data: Float32Array }> = {};
  const extra: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const [name, t] of Object.entries(tensors)) {
    if (!(t.data instanceof Float32Array)) {
      throw new UserError(`${sources.weights}: tensor ${name} is ${t.dtype}, expected F32`);
    }
    (name.startsWith('adam.') ? extra : modelTensors)[name] = { shape: t.shape, data: t.data };
  }
  const vqvae = new VqVae(file.model);
  try {
    vqvae.load(modelTensors, sources.weights);
  } catch (error) {
    vqvae.dispose();
    throw error;
  }
  return { ...file, vqvae, extra };
}

/**
 * Parses config.json's text and the safetensors bytes, checks that they come
 * from the same save (their `checkpoint_id`s, when both have one), then
 * `modelFromTensors`.
 */
export function modelFromBytes(configText: string, weights: Uint8Array, sources: ModelSources): LoadedModel {
  let config: unknown;
  try {
    config = JSON.parse(configText);
  } catch (error) {
    throw new UserError(`${sources.config}: not valid JSON (${(error as Error).message})`);
  }
  const decoded = decodeSafetensors(weights, sources.weights);
  if (typeof config === 'object' && config !== null && !Array.isArray(config) && CHECKPOINT_ID_KEY in config) {
    const { [CHECKPOINT_ID_KEY]: id, ...rest } = config as Record<string, unknown>;
    const weightsId = decoded.metadata[CHECKPOINT_ID_KEY];
    if (weightsId !== undefined && weightsId !== id) {
      throw new UserError(
        `${sources.weights} does not belong to ${sources.config}: ${CHECKPOINT_ID_KEY} expected ${JSON.stringify(id)}, found ${JSON.stringify(weightsId)}; the two files come from different saves`,
      );
    }
    config = rest;
  }
  return modelFromTensors(config, decoded.tensors, sources);
}
