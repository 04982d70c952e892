/**
 * A model directory's contents, as data: the `config.json` object and the
 * weights' tensors by name, checked once (io/savedModel.ts holds the checks
 * every saved kind shares) and turned into a `VqVae`. No file system here, so
 * the browser page loads a model from fetched or dropped bytes with the same
 * checks as `loadModel` (checkpoint.ts, Node) does from a directory:
 *
 *   const model = modelFromBytes(configText, weightsBytes, { config: 'config.json', weights: 'weights.safetensors' });
 *
 * or, as plain data without building the model (what ONNX export reads):
 *
 *   const data = parseModelData(savedModelFromBytes(configText, weightsBytes, sources), sources);
 *   data.config; data.training; data.weights; data.optimizer
 */
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
import { validateModelConfig, type ModelConfig } from './config.js';
import { VqVae } from './vqvae.js';

export const MODEL_FORMAT = 'vqvae';
export const MODEL_FORMAT_VERSION = 1;

/** How the model in a directory was trained, so far. */
export interface TrainingState extends RunState {
  /** Data SPEC it was trained on. */
  data: string;
  /** var(x) of the training pixels in [0, 1], the reconstruction loss's divisor. */
  dataVariance: number;
  /** `--resize` of a folder data set, if any. */
  resize?: [number, number];
}

export interface ModelFile {
  model: ModelConfig;
  training?: TrainingState;
}

export interface LoadedModel extends ModelFile {
  model: ModelConfig;
  vqvae: VqVae;
  /** Tensors of the file that are not model variables (Adam's moments). */
  extra: Record<string, Float32Tensor>;
}

/** What a VQ-VAE's config.json must hold. */
export const MODEL_SAVED_FORMAT: SavedFormat<ModelConfig> = {
  format: MODEL_FORMAT,
  version: MODEL_FORMAT_VERSION,
  section: 'model',
  noun: 'vqvae model',
  validate: validateModelConfig,
  trainingNumbers: ['step', 'totalSteps', 'batch', 'learningRate', 'seed', 'dataVariance', 'trainingSeconds'],
  trainingStrings: ['data'],
};

/** A saved VQ-VAE as plain data: its config, training state, weights and optimizer state. */
export type ModelData = ParsedSaved<ModelConfig, TrainingState>;

/** Where a model's two parts came from, for messages. */
export type ModelSources = SavedSources;

/** Reads and checks config.json's contents. */
export function parseModelFile(value: unknown, source: string): ModelFile {
  const { config, training } = parseSavedConfig<ModelConfig, TrainingState>(MODEL_SAVED_FORMAT, value, source);
  return { model: config, training };
}

/** Checks a saved model's config and tensors: the plain data of a VQ-VAE. */
export function parseModelData(saved: SavedModel, sources: ModelSources): ModelData {
  return parseSaved<ModelConfig, TrainingState>(MODEL_SAVED_FORMAT, saved, sources);
}

/** The VqVae of checked plain data; the weights must match its config exactly. */
export function modelFromData(data: ModelData, sources: ModelSources): LoadedModel {
  const vqvae = withWeights(new VqVae(data.config), data.weights, sources.weights);
  return { model: data.config, training: data.training, vqvae, extra: data.optimizer };
}

/** `model` with every variable from `weights` (named after `source` in errors); on a mismatch it is disposed and the error thrown. */
export function withWeights<M extends { load(tensors: Record<string, Float32Tensor>, source: string): void; dispose(): void }>(
  model: M,
  weights: Record<string, Float32Tensor>,
  source: string,
): M {
  try {
    model.load(weights, source);
  } catch (error) {
    model.dispose();
    throw error;
  }
  return model;
}

/**
 * Builds the model from config.json's parsed value and the weights' tensors
 * (names starting with `adam.` are optimizer state and go to `extra`).
 */
export function modelFromTensors(config: unknown, tensors: SavedModel['tensors'], sources: ModelSources): LoadedModel {
  return modelFromData(parseModelData({ config, tensors }, sources), sources);
}

/**
 * Parses config.json's text and the safetensors bytes, checks that they come
 * from the same save (their `checkpoint_id`s, when both have one), then
 * `modelFromTensors`.
 */
export function modelFromBytes(configText: string, weights: Uint8Array, sources: ModelSources): LoadedModel {
  return modelFromData(parseModelData(savedModelFromBytes(configText, weights, sources), sources), sources);
}
