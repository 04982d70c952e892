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
 * (`adam.m.<name>`, `adam.v.<name>`). The format's checks, over bytes,
 * are in modelFile.ts.
 */
import { join } from 'node:path';
import { checkpointExists, loadCheckpoint, saveCheckpoint } from '../io/checkpoint.js';
import { toNamed } from '../model/checkpoint.js';
import type { Adam } from '../train/adam.js';
import type { AudioVqVae } from './model.js';
import { AUDIO_MODEL_FORMAT, AUDIO_MODEL_VERSION, audioModelFromSaved, type LoadedAudioModel } from './modelFile.js';

export {
  AUDIO_MODEL_FORMAT,
  AUDIO_MODEL_VERSION,
  parseAudioModelFile,
  speakerIndex,
  type AudioModelFile,
  type LoadedAudioModel,
} from './modelFile.js';

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

export function loadAudioModel(dir: string): LoadedAudioModel {
  return audioModelFromSaved(loadCheckpoint(dir), { config: join(dir, 'config.json'), weights: join(dir, 'weights.safetensors') });
}

