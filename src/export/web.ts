/**
 * What `vqvae export` writes for the web page: a model directory in the same
 * format as `vqvae train` writes (config.json + weights.safetensors), minus
 * the optimizer's state, for each kind of model the page runs: one-level
 * (format "vqvae", every quantizer), two-level ("vqvae2") and audio
 * ("vqvae-audio"); plus optionally
 *
 *   examples.safetensors   "images" U8 [N, H, W, C] and "labels" I32 [N], a batch of
 *                          test images the page counts code usage on; for an audio
 *                          model "audio" F32 [N, T] (zero-padded), "lengths" I32 [N]
 *                          and "speakers" I32 [N] (the model's speaker index), the
 *                          first test utterances, each cut to AUDIO_EXAMPLE_SECONDS,
 *                          that the page offers to decode;
 *   prior/                 a PixelCNN prior's config.json + weights.safetensors
 *                          (format "vqvae-prior"), also without optimizer state;
 *                          for one-level models with one code per cell.
 *
 * No second model format: the page reads these files with the library's own
 * safetensors and config code. Each file is written atomically.
 */
import fs from 'node:fs';
import { join, resolve } from 'node:path';
import type { ImageDataset } from '../data/dataset.js';
import { UserError } from '../errors.js';
import { loadCheckpoint, saveCheckpoint } from '../io/checkpoint.js';
import type { NamedTensor } from '../io/safetensors.js';
import { writeSafetensorsFile } from '../io/safetensorsFile.js';
import { toNamedTensors } from '../io/savedModel.js';
import { isAudioModelDir, loadAudioModel, saveAudioModel } from '../audio/checkpoint.js';
import { parseDataSpec } from '../data/spec.js';
import { loadWavFolder, type AudioUtterance } from '../data/wav.js';
import { loadModel, saveModel, type LoadedModel } from '../model/checkpoint.js';
import type { ModelConfig } from '../model/config.js';
import { loadHierarchicalModel, modelLevels, saveHierarchicalModel } from '../model/hierarchicalFile.js';
import { priorSources } from '../prior/checkpoint.js';
import { checkPriorFits, parsePriorData, PRIOR_FORMAT } from '../prior/priorFile.js';

export const EXAMPLES_FILE = 'examples.safetensors';
/** At most this many test utterances go with an audio model, each cut to AUDIO_EXAMPLE_SECONDS. */
export const AUDIO_EXAMPLES = 4;
export const AUDIO_EXAMPLE_SECONDS = 4;
export const PRIOR_SUBDIR = 'prior';

/** A model directory of any kind the page runs, loaded for export. */
export interface WebModel {
  kind: 'vqvae' | 'vqvae2' | 'audio';
  /** The one-level model, the only kind a prior goes with. */
  oneLevel?: LoadedModel;
  /** The image model's config (a two-level model's trunks and bottom level): what example images must fit. Absent for audio. */
  image?: ModelConfig;
  /** An audio model's rate and speaker names: what example utterances must fit. */
  audio?: { sampleRate: number; speakers: readonly string[] };
  training?: { data?: string; resize?: [number, number] };
  /** Writes the weights and config (no Adam state) into `out`. */
  save(out: string): void;
  dispose(): void;
}

/** Loads the model directory `dir`, whichever kind it is. */
export function loadWebModel(dir: string): WebModel {
  if (isAudioModelDir(dir)) {
    const loaded = loadAudioModel(dir);
    return {
      kind: 'audio',
      audio: { sampleRate: loaded.model.sampleRate, speakers: loaded.speakers },
      ...(loaded.training ? { training: loaded.training as { data?: string } } : {}),
      save: (out) => saveAudioModel(out, loaded.vqvae, loaded.speakers, loaded.training),
      dispose: () => loaded.vqvae.dispose(),
    };
  }
  if (modelLevels(dir) === 2) {
    const loaded = loadHierarchicalModel(dir);
    return {
      kind: 'vqvae2',
      image: loaded.model.model,
      ...(loaded.training ? { training: loaded.training } : {}),
      save: (out) => saveHierarchicalModel(out, loaded.vqvae, loaded.training),
      dispose: () => loaded.vqvae.dispose(),
    };
  }
  const loaded = loadModel(dir);
  return {
    kind: 'vqvae',
    oneLevel: loaded,
    image: loaded.model,
    ...(loaded.training ? { training: loaded.training } : {}),
    save: (out) => saveModel(out, loaded.vqvae, loaded.training),
    dispose: () => loaded.vqvae.dispose(),
  };
}

/** Writes the model's weights and config (no Adam state) into `out`. */
export function exportModelFiles(model: WebModel, out: string): void {
  model.save(out);
}

/** Writes the first `count` images of `data` (and their labels) as examples.safetensors. */
export function exportExamples(data: ImageDataset, count: number, out: string): number {
  const n = Math.min(count, data.count);
  const size = data.height * data.width * data.channels;
  writeSafetensorsFile(join(out, EXAMPLES_FILE), {
    images: { dtype: 'U8', shape: [n, data.height, data.width, data.channels], data: data.images.slice(0, n * size) },
    labels: { dtype: 'I32', shape: [n], data: data.labels.slice(0, n) },
  }, { source: `${data.spec} (${data.split})` });
  return n;
}

/** Example utterances for an audio model: the first `count` (at most AUDIO_EXAMPLES) of the test split of wav:DIR `spec`, at the model's rate. */
export function loadAudioExamples(spec: string, audio: NonNullable<WebModel['audio']>, count: number): { utterances: AudioUtterance[]; speakers: number[] } {
  const parsed = parseDataSpec(spec);
  if (parsed.kind !== 'wav') throw new UserError(`--data ${spec}: an audio model's examples come from wav:DIR data`);
  const data = loadWavFolder(spec, parsed.dir, { split: 'test', limit: Math.min(count, AUDIO_EXAMPLES), sampleRate: audio.sampleRate });
  const speakers = data.utterances.map((u) => audio.speakers.indexOf(data.speakers[u.speaker]!));
  return { utterances: [...data.utterances], speakers };
}

/** Writes example utterances (each cut to AUDIO_EXAMPLE_SECONDS) as examples.safetensors; returns how many. */
export function exportAudioExamples(examples: ReturnType<typeof loadAudioExamples>, sampleRate: number, out: string): number {
  const { utterances, speakers } = examples;
  const lengths = utterances.map((u) => Math.min(u.samples.length, AUDIO_EXAMPLE_SECONDS * sampleRate));
  const t = Math.max(1, ...lengths);
  const audio = new Float32Array(utterances.length * t);
  utterances.forEach((u, i) => audio.set(u.samples.subarray(0, lengths[i]), i * t));
  writeSafetensorsFile(join(out, EXAMPLES_FILE), {
    audio: { dtype: 'F32', shape: [utterances.length, t], data: audio },
    lengths: { dtype: 'I32', shape: [utterances.length], data: Int32Array.from(lengths) },
    speakers: { dtype: 'I32', shape: [utterances.length], data: Int32Array.from(speakers) },
  }, { source: utterances.map((u) => u.file).join(', ') });
  return utterances.length;
}

/** A prior checked against the model it goes with, ready to write. */
export interface CheckedPrior {
  config: Record<string, unknown>;
  tensors: Record<string, NamedTensor>;
  numClasses: number;
}

/**
 * Reads the prior in `priorDir` once and checks that it is a prior for this
 * model (same K and code grid); drops its optimizer state.
 */
export function checkPrior(priorDir: string, model: WebModel): CheckedPrior {
  const loaded = model.oneLevel;
  if (!loaded || loaded.vqvae.codeDepth > 1) {
    const what = model.kind === 'audio' ? 'an audio model' : model.kind === 'vqvae2' ? 'a two-level model' : 'a residual VQ model (codes [h, w, depth])';
    throw new UserError(`--prior ${priorDir}: the page samples priors of one-level models with one code per cell; the model is ${what}`);
  }
  const checkpoint = loadCheckpoint(priorDir);
  const sources = priorSources(priorDir);
  const prior = parsePriorData(checkpoint, sources);
  checkPriorFits(prior.config, { codebookSize: loaded.model.codebookSize, grid: loaded.vqvae.codeGrid }, sources.config);
  return {
    config: checkpoint.config as Record<string, unknown>,
    tensors: toNamedTensors(prior.weights),
    numClasses: prior.config.numClasses,
  };
}

/** Writes a checked prior into `out/prior/`, crash-safe as every checkpoint. */
export function exportPrior(prior: CheckedPrior, out: string): void {
  saveCheckpoint(join(out, PRIOR_SUBDIR), prior.config, prior.tensors, { format: PRIOR_FORMAT });
}

/**
 * After a re-export into the same directory: removes the examples and the
 * prior an earlier export left there, if this one did not write them, so the
 * page does not show a prior that no longer belongs to the model.
 */
export function removeStale(out: string, written: { examples: boolean; prior: boolean }): void {
  if (!written.examples) fs.rmSync(join(out, EXAMPLES_FILE), { force: true });
  if (!written.prior) {
    for (const name of ['config.json', 'weights.safetensors']) fs.rmSync(join(out, PRIOR_SUBDIR, name), { force: true });
  }
}

/** Refuses to export a directory onto itself (that would drop its optimizer state in place). */
export function checkExportTarget(out: string, sources: readonly string[]): void {
  for (const dir of sources) {
    if (resolve(out) === resolve(dir)) throw new UserError(`--out ${out} is the directory being exported; pick another one`);
  }
  if (fs.existsSync(out) && !fs.statSync(out).isDirectory()) throw new UserError(`--out ${out} exists and is not a directory`);
}

/** Every file under `dir` with its size, relative paths sorted. */
export function listFiles(dir: string): { path: string; bytes: number }[] {
  const out: { path: string; bytes: number }[] = [];
  const walk = (sub: string): void => {
    for (const entry of fs.readdirSync(join(dir, sub), { withFileTypes: true })) {
      const rel = sub ? `${sub}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(rel);
      else out.push({ path: rel, bytes: fs.statSync(join(dir, rel)).size });
    }
  };
  walk('');
  return out.sort((a, b) => a.path.localeCompare(b.path));
}
