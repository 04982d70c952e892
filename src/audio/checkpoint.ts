/**
 * An audio model directory: the same two files and crash-safe saving as an
 * image model (src/io/checkpoint.ts), with `config.json`
 *
 *   { "format": "vqvae-audio", "version": 1,
 *     "model": { ...AudioConfig }, "speakers": ["kal", "ked", ...],
 *     "training": { "data": "wav:/tmp/speech", "step": 2000, ... } }
 *
 * `speakers` names the rows of the speaker embedding, so `--speaker kal`
 * means the voice it meant in training. `weights.safetensors` holds every
 * variable of `AudioVqVae.state()` and, for resuming, Adam's moments
 * (`adam.m.<name>`, `adam.v.<name>`).
 */
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { checkpointExists, loadCheckpoint, saveCheckpoint } from '../io/checkpoint.js';
import { toNamed } from '../model/checkpoint.js';
import type { Adam } from '../train/adam.js';
import { type AudioConfig, validateAudioConfig } from './config.js';
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

export function saveAudioModel(dir: string, model: AudioVqVae, speakers: readonly string[], training?: object, optimizer?: Adam): void {
  if (speakers.length !== model.config.speakers) throw new Error(`${speakers.length} speaker names for a model of ${model.config.speakers} speakers`);
  const tensors = { ...toNamed(model.state()), ...(optimizer ? toNamed(optimizer.state()) : {}) };
  const config = { format: AUDIO_MODEL_FORMAT, version: AUDIO_MODEL_VERSION, model: model.config, speakers: [...speakers], ...(training ? { training } : {}) };
  saveCheckpoint(dir, config, tensors, { format: AUDIO_MODEL_FORMAT });
}

/** Whether `dir` holds an audio model (its config.json says so). */
export function isAudioModelDir(dir: string): boolean {
  if (!checkpointExists(dir)) return false;
  try {
    return (loadCheckpoint(dir).config as { format?: unknown }).format === AUDIO_MODEL_FORMAT;
  } catch {
    return false;
  }
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

export function loadAudioModel(dir: string): LoadedAudioModel {
  const checkpoint = loadCheckpoint(dir);
  const configPath = join(dir, 'config.json');
  const weightsPath = join(dir, 'weights.safetensors');
  const file = parseAudioModelFile(checkpoint.config, configPath);
  const modelTensors: Record<string, { shape: number[]; data: Float32Array }> = {};
  const extra: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const [name, t] of Object.entries(checkpoint.tensors)) {
    if (!(t.data instanceof Float32Array)) throw new UserError(`${weightsPath}: tensor ${name} is ${t.dtype}, expected F32`);
    (name.startsWith('adam.') ? extra : modelTensors)[name] = { shape: t.shape, data: t.data };
  }
  const vqvae = new AudioVqVae(file.model);
  try {
    vqvae.load(modelTensors, weightsPath);
  } catch (error) {
    vqvae.dispose();
    throw error;
  }
  return { ...file, vqvae, extra };
}

/** The index of speaker `name`, or a UserError listing the model's speakers. */
export function speakerIndex(file: AudioModelFile, name: string, flag = '--speaker'): number {
  const i = file.speakers.indexOf(name);
  if (i < 0) throw new UserError(`${flag} ${JSON.stringify(name)}: the model knows ${file.speakers.join(', ')}`);
  return i;
}
