/**
 * A saved model as plain data, and the one place its file format is checked.
 *
 * Every trained thing this project saves (the VQ-VAE, format "vqvae"; the
 * PixelCNN prior, format "vqvae-prior"; the next ones) is a directory of
 * `config.json` and `weights.safetensors` (io/checkpoint.ts writes it), whose
 * config.json reads
 *
 *   { "format": "<kind>", "version": 1, "<section>": { ...config }, "training": { ... } }
 *
 * Read once into a `SavedModel` (`{config, tensors}`: config.json's object and
 * the weights by name, from a directory by `loadCheckpoint` or from bytes by
 * `savedModelFromBytes`), then `parseSaved` checks it against a kind's
 * `SavedFormat` and splits the tensors into the model's weights and the
 * optimizer's state (`adam.m.<name>`, `adam.v.<name>`):
 *
 *   const data = parseSaved(MODEL_FORMAT_SPEC, loadCheckpoint(dir), sources);
 *   data.config      // the kind's validated config (ModelConfig, PriorConfig)
 *   data.weights     // { 'encoder.down.0.weight': { shape, data }, ... }
 *   data.optimizer   // { 'adam.m.encoder.down.0.weight': ..., ... }
 *
 * Bytes and typed arrays only: no file system, no TensorFlow.js, so the web
 * page loads with the same checks and messages as the CLI.
 */
import { UserError } from '../errors.js';
import { CHECKPOINT_ID_KEY } from './checkpointId.js';
import { decodeSafetensors, type NamedTensor } from './safetensors.js';

/** config.json's parsed value (without `checkpoint_id`) and the weights' tensors by name. */
/** The fields of config.json's "training" object that every model's run has: each
 * model's training state extends it (model/modelFile.ts, prior/priorFile.ts,
 * audio/run.ts), and the run engine (train/run.ts) fills it in. */
export interface RunState {
  step: number;
  totalSteps: number;
  batch: number;
  learningRate: number;
  seed: number;
  backend: string;
  /** Seconds spent in training steps, all runs together. */
  trainingSeconds: number;
  /** Loss of the last step. */
  loss?: number;
}

export interface SavedModel {
  config: unknown;
  tensors: Record<string, NamedTensor>;
}

/** Where a saved model's two parts came from, for messages. */
export interface SavedSources {
  config: string;
  weights: string;
}

/** A float32 tensor as plain data. */
export interface Float32Tensor {
  shape: number[];
  data: Float32Array;
}

/** One kind of saved model: what its config.json must hold. */
export interface SavedFormat<Config> {
  /** The `format` value, e.g. "vqvae". */
  format: string;
  version: number;
  /** The key of the kind's config, e.g. "model" or "prior". */
  section: string;
  /** The kind in messages, e.g. "vqvae model". */
  noun: string;
  /** Checks the section's value (field by field, unknown keys refused). */
  validate(value: unknown, source: string): Config;
  /** Keys of `training` that must be finite numbers, and those that must be strings. */
  trainingNumbers: readonly string[];
  trainingStrings: readonly string[];
}

/** A saved model checked against its format: typed config, training state, weights and optimizer state. */
export interface ParsedSaved<Config, Training> {
  config: Config;
  training?: Training;
  /** The model's tensors, by name. */
  weights: Record<string, Float32Tensor>;
  /** The optimizer's state (names starting with `adam.`), for --resume. */
  optimizer: Record<string, Float32Tensor>;
}

/** Prefix of the optimizer's tensors in a weights file. */
export const OPTIMIZER_PREFIX = 'adam.';

/** What a directory of each known format is, said when one is given where another is expected. */
const KINDS: Record<string, string> = {
  vqvae: 'this is a VQ-VAE model directory, not a prior: pass it as --model',
  'vqvae-prior': 'this is a prior directory, not a VQ-VAE model: pass it as --prior',
  vqvae2: 'this is a two-level VQ-VAE model directory (vqvae train --levels 2)',
};

/** Checks config.json's value against `format`; returns the section's config and the training state. */
export function parseSavedConfig<Config, Training>(
  format: SavedFormat<Config>,
  value: unknown,
  source: string,
): { config: Config; training?: Training } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UserError(`${source}: expected a JSON object`);
  }
  const record = value as Record<string, unknown>;
  if (record.format !== format.format) {
    const kind = typeof record.format === 'string' ? KINDS[record.format] : undefined;
    throw new UserError(
      `${source}: not a ${format.noun} (format ${JSON.stringify(record.format)}, expected "${format.format}")${kind ? `; ${kind}` : ''}`,
    );
  }
  if (record.version !== format.version) {
    throw new UserError(`${source}: unsupported version ${JSON.stringify(record.version)}, expected ${format.version}`);
  }
  const keys = ['format', 'version', format.section, 'training'];
  for (const key of Object.keys(record)) {
    if (!keys.includes(key)) throw new UserError(`${source}: unknown key "${key}"; valid keys are ${keys.join(', ')}`);
  }
  const config = format.validate(record[format.section], `${source}: ${format.section}`);
  const training = record.training;
  if (training !== undefined) {
    const t = training as Record<string, unknown>;
    for (const key of format.trainingNumbers) {
      if (typeof t[key] !== 'number' || !Number.isFinite(t[key] as number)) {
        throw new UserError(`${source}: training.${key} must be a number, found ${JSON.stringify(t[key])}`);
      }
    }
    for (const key of format.trainingStrings) {
      if (typeof t[key] !== 'string') throw new UserError(`${source}: training.${key} must be a string`);
    }
  }
  return { config, training: training as Training | undefined };
}

/** Checks a saved model against `format` and splits its tensors into weights and optimizer state (all F32). */
export function parseSaved<Config, Training>(
  format: SavedFormat<Config>,
  saved: SavedModel,
  sources: SavedSources,
): ParsedSaved<Config, Training> {
  const { config, training } = parseSavedConfig<Config, Training>(format, saved.config, sources.config);
  const weights: Record<string, Float32Tensor> = {};
  const optimizer: Record<string, Float32Tensor> = {};
  for (const [name, t] of Object.entries(saved.tensors)) {
    if (!(t.data instanceof Float32Array)) {
      throw new UserError(`${sources.weights}: tensor ${name} is ${t.dtype}, expected F32`);
    }
    (name.startsWith(OPTIMIZER_PREFIX) ? optimizer : weights)[name] = { shape: t.shape, data: t.data };
  }
  return { config, training, weights, optimizer };
}

/**
 * config.json's text and the safetensors bytes as a `SavedModel`, checking
 * that they come from the same save (their `checkpoint_id`s, when both have
 * one), as `loadCheckpoint` does for a directory.
 */
export function savedModelFromBytes(configText: string, weights: Uint8Array, sources: SavedSources): SavedModel {
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
  return { config, tensors: decoded.tensors };
}

/** Float32 tensors as safetensors entries (shapes copied, data shared). */
export function toNamedTensors(tensors: Record<string, Float32Tensor>): Record<string, NamedTensor> {
  const out: Record<string, NamedTensor> = {};
  for (const [name, t] of Object.entries(tensors)) out[name] = { dtype: 'F32', shape: t.shape.slice(), data: t.data };
  return out;
}
