/**
 * An audio model directory's contents as data (checkpoint.ts has the
 * directory and its format, `vqvae-audio`): config.json checked, the model
 * built from the weights' tensors. No file system here, so the browser page
 * loads an audio model from fetched or dropped bytes with the checks
 * `loadAudioModel` makes on a directory.
 */
import { UserError } from '../errors.js';
import { savedModelFromBytes, type SavedModel, type SavedSources } from '../io/savedModel.js';
import { withWeights } from '../model/modelFile.js';
import { validateAudioConfig, type AudioConfig } from './config.js';
import { AudioVqVae } from './model.js';

export const AUDIO_MODEL_FORMAT = 'vqvae-audio';
export const AUDIO_MODEL_VERSION = 1;

export interface AudioModelFile {
  model: AudioConfig;
  speakers: string[];
  training?: Record<string, unknown>;
}

export interface LoadedAudioModel extends AudioModelFile {
  vqvae: AudioVqVae;
  extra: Record<string, { shape: number[]; data: Float32Array }>;
}

export function parseAudioModelFile(value: unknown, source: string): AudioModelFile {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new UserError(`${source}: expected a JSON object`);
  const record = value as Record<string, unknown>;
  if (record.format !== AUDIO_MODEL_FORMAT) {
    throw new UserError(`${source}: not an audio model (format ${JSON.stringify(record.format)}, expected "${AUDIO_MODEL_FORMAT}")`);
  }
  if (record.version !== AUDIO_MODEL_VERSION) throw new UserError(`${source}: unsupported version ${JSON.stringify(record.version)}, expected ${AUDIO_MODEL_VERSION}`);
  for (const key of Object.keys(record)) {
    if (!['format', 'version', 'model', 'speakers', 'training'].includes(key)) {
      throw new UserError(`${source}: unknown key "${key}"; valid keys are format, version, model, speakers, training`);
    }
  }
  const model = validateAudioConfig((record.model ?? {}) as Record<string, unknown>, `${source}: model`);
  const speakers = record.speakers;
  if (!Array.isArray(speakers) || !speakers.every((s) => typeof s === 'string') || speakers.length !== model.speakers) {
    throw new UserError(`${source}: speakers must list ${model.speakers} speaker names, found ${JSON.stringify(speakers)}`);
  }
  const training = record.training as Record<string, unknown> | undefined;
  return { model, speakers: speakers as string[], ...(training ? { training } : {}) };
}

/**
 * The model of config.json's parsed value and the weights' tensors
 * (`adam.*`, the optimizer's state, go to `extra`); errors name `sources`.
 */
export function audioModelFromSaved(saved: SavedModel, sources: SavedSources): LoadedAudioModel {
  const file = parseAudioModelFile(saved.config, sources.config);
  const modelTensors: Record<string, { shape: number[]; data: Float32Array }> = {};
  const extra: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const [name, t] of Object.entries(saved.tensors)) {
    if (!(t.data instanceof Float32Array)) throw new UserError(`${sources.weights}: tensor ${name} is ${t.dtype}, expected F32`);
    (name.startsWith('adam.') ? extra : modelTensors)[name] = { shape: t.shape, data: t.data };
  }
  const vqvae = withWeights(new AudioVqVae(file.model), modelTensors, sources.weights);
  return { ...file, vqvae, extra };
}

/** The model from the text of config.json and the bytes of weights.safetensors. */
export function audioModelFromBytes(configText: string, weights: Uint8Array, sources: SavedSources): LoadedAudioModel {
  return audioModelFromSaved(savedModelFromBytes(configText, weights, sources), sources);
}

/** The index of speaker `name`, or a UserError listing the model's speakers. */
export function speakerIndex(file: AudioModelFile, name: string, flag = '--speaker'): number {
  const i = file.speakers.indexOf(name);
  if (i < 0) throw new UserError(`${flag} ${JSON.stringify(name)}: the model knows ${file.speakers.join(', ')}`);
  return i;
}
