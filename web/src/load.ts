/**
 * Where the page's model comes from: a folder on the server (the bundled demo
 * model, or the one `vqvae serve --model DIR` serves), or files the user picks.
 * Either way it is a model directory as `vqvae train` or `vqvae export` writes
 * it: config.json and weights.safetensors, optionally examples.safetensors (a
 * batch of images for the codebook's usage) and prior/ (a PixelCNN prior, its
 * own config.json and weights.safetensors). The bytes go through the library's
 * own checks (modelFromBytes), so a wrong file gives the CLI's message.
 */
import {
  AUDIO_MODEL_FORMAT,
  HIERARCHICAL_FORMAT,
  UserError,
  audioModelFromBytes,
  decodeSafetensors,
  hierarchicalFromBytes,
  modelFromBytes,
  type LoadedAudioModel,
  type ModelConfig,
} from 'vqvae';
import type { ImageModel } from './session.js';

/** A config.json and its weights, as bytes, with names for messages. */
export interface PartBytes {
  configText: string;
  weights: Uint8Array;
  configSource: string;
  weightsSource: string;
}

export interface Bundle {
  /** Where it came from, in words ('' for the page's own model). */
  label: string;
  model: PartBytes;
  prior?: PartBytes;
  examples?: { bytes: Uint8Array; source: string };
}

/** A batch of images [count, H, W, C] (bytes), to count code usage on. */
export interface Examples {
  images: Uint8Array;
  count: number;
  labels?: Int32Array;
}

export interface OpenedModel {
  kind: 'image';
  label: string;
  /** The model (one- or two-level) and its one-level config (a two-level model's trunks and bottom level). */
  image: ImageModel;
  config: ModelConfig;
  /** A two-level model's top codebook. */
  top?: { codebookSize: number; codeDim: number };
  training?: { step: number; data: string };
  examples?: Examples;
  prior?: PartBytes;
}

/** An audio model (format "vqvae-audio"): speech in, codes, speech out in each speaker's voice. */
export interface OpenedAudio {
  kind: 'audio';
  label: string;
  audio: LoadedAudioModel;
  examples: AudioExample[];
}

/** A test utterance that came with an audio model (`vqvae export`), at the model's rate. */
export interface AudioExample {
  samples: Float32Array;
  /** The model's index of its speaker, or -1. */
  speaker: number;
}

function openAudioExamples(bytes: Uint8Array, source: string): AudioExample[] {
  const { tensors } = decodeSafetensors(bytes, source);
  const { audio, lengths, speakers } = tensors;
  const n = audio?.shape[0];
  if (!audio || audio.dtype !== 'F32' || audio.shape.length !== 2 || !(lengths?.data instanceof Int32Array) || !(speakers?.data instanceof Int32Array) ||
      lengths.data.length !== n || speakers.data.length !== n) {
    throw new UserError(`${source}: expected "audio" F32 [N, T], "lengths" I32 [N] and "speakers" I32 [N] for an audio model`);
  }
  const t = audio.shape[1]!;
  const data = audio.data as Float32Array;
  return Array.from({ length: n! }, (_, i) => ({
    samples: data.slice(i * t, i * t + Math.min(t, Math.max(0, Number(lengths.data[i])))),
    speaker: Number(speakers.data[i]),
  }));
}

/** The `format` values of the model directories the page opens (a prior's is "vqvae-prior"). */
const MODEL_FORMATS: readonly unknown[] = ['vqvae', HIERARCHICAL_FORMAT, AUDIO_MODEL_FORMAT];

async function fetchOptional(url: string): Promise<Response | undefined> {
  const response = await fetch(url);
  if (response.status === 404) return undefined;
  if (!response.ok) throw new UserError(`${url}: the server answered ${response.status} ${response.statusText}`);
  return response;
}

async function fetchPart(base: string): Promise<PartBytes | undefined> {
  const config = await fetchOptional(`${base}config.json`);
  if (!config) return undefined;
  const weights = await fetchOptional(`${base}weights.safetensors`);
  if (!weights) throw new UserError(`${base}weights.safetensors: not found next to ${base}config.json`);
  return {
    configText: await config.text(),
    weights: new Uint8Array(await weights.arrayBuffer()),
    configSource: `${base}config.json`,
    weightsSource: `${base}weights.safetensors`,
  };
}

/** The model directory at URL `base` (ending in '/'); undefined when it has no config.json. */
export async function fetchBundle(base: string): Promise<Bundle | undefined> {
  const model = await fetchPart(base);
  if (!model) return undefined;
  const prior = await fetchPart(`${base}prior/`);
  const examples = await fetchOptional(`${base}examples.safetensors`);
  return {
    label: '',
    model,
    ...(prior ? { prior } : {}),
    ...(examples ? { examples: { bytes: new Uint8Array(await examples.arrayBuffer()), source: `${base}examples.safetensors` } } : {}),
  };
}

function pathOf(file: File): string {
  return file.webkitRelativePath || file.name;
}

function dirOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '' : path.slice(0, slash + 1);
}

function formatOf(text: string): unknown {
  try {
    const value = JSON.parse(text) as unknown;
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>).format : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Files the user picked (a model folder, or its config.json and
 * weights.safetensors; a prior's pair may come along in prior/).
 */
export async function filesBundle(files: readonly File[]): Promise<Bundle> {
  const byPath = new Map(files.map((f) => [pathOf(f), f]));
  const configs = files.filter((f) => f.name === 'config.json');
  const jsons = files.filter((f) => f.name.endsWith('.json'));
  const names = files.map(pathOf).slice(0, 6).join(', ') + (files.length > 6 ? ', …' : '');
  if (configs.length === 0) {
    if (jsons.length === 1 && files.length === 2 && files.some((f) => f.name.endsWith('.safetensors'))) {
      configs.push(jsons[0]!);
    } else {
      throw new UserError(`pick a model's config.json and weights.safetensors, or its folder; found ${names || 'no files'}`);
    }
  }
  let model: PartBytes | undefined;
  let prior: PartBytes | undefined;
  let modelDir = '';
  for (const config of configs) {
    const dir = dirOf(pathOf(config));
    const weights = byPath.get(`${dir}weights.safetensors`) ?? (configs.length === 1 ? files.find((f) => f.name.endsWith('.safetensors')) : undefined);
    const text = await config.text();
    const format = formatOf(text);
    if (format === 'vqvae-prior') {
      if (!weights) throw new UserError(`${pathOf(config)}: a prior's config, but no weights.safetensors next to it`);
      prior = { configText: text, weights: new Uint8Array(await weights.arrayBuffer()), configSource: pathOf(config), weightsSource: pathOf(weights) };
    } else if (!model || MODEL_FORMATS.includes(format)) {
      if (!weights) throw new UserError(`${pathOf(config)}: no weights.safetensors was picked with it`);
      model = { configText: text, weights: new Uint8Array(await weights.arrayBuffer()), configSource: pathOf(config), weightsSource: pathOf(weights) };
      modelDir = dir;
    }
  }
  if (!model) throw new UserError(`no VQ-VAE model among ${names}: the config.json found is a prior's; pick the model's folder`);
  const examples = byPath.get(`${modelDir}examples.safetensors`);
  return {
    label: modelDir ? modelDir.replace(/\/$/, '') : model.configSource,
    model,
    ...(prior ? { prior } : {}),
    ...(examples ? { examples: { bytes: new Uint8Array(await examples.arrayBuffer()), source: pathOf(examples) } } : {}),
  };
}

function openExamples(bytes: Uint8Array, source: string, config: ModelConfig): Examples {
  const { tensors } = decodeSafetensors(bytes, source);
  const images = tensors.images;
  const { imageHeight: h, imageWidth: w, inputChannels: c } = config;
  if (!images || images.dtype !== 'U8' || images.shape.length !== 4 || images.shape[1] !== h || images.shape[2] !== w || images.shape[3] !== c) {
    const found = images ? `${images.dtype} [${images.shape.join(', ')}]` : 'no tensor "images"';
    throw new UserError(`${source}: expected "images" U8 [N, ${h}, ${w}, ${c}] for this model, found ${found}`);
  }
  const labels = tensors.labels?.data;
  return {
    images: images.data as Uint8Array,
    count: images.shape[0]!,
    ...(labels instanceof Int32Array ? { labels } : {}),
  };
}

/** The model of config.json's format: one-level or two-level. */
function openImageModel(part: PartBytes): Omit<OpenedModel, 'label' | 'kind'> {
  const sources = { config: part.configSource, weights: part.weightsSource };
  if (formatOf(part.configText) === HIERARCHICAL_FORMAT) {
    const loaded = hierarchicalFromBytes(part.configText, part.weights, sources);
    return {
      image: { kind: 'vqvae2', vqvae: loaded.vqvae },
      config: loaded.model.model,
      top: loaded.model.top,
      ...(loaded.training ? { training: loaded.training } : {}),
    };
  }
  const loaded = modelFromBytes(part.configText, part.weights, sources);
  return { image: { kind: 'vqvae', vqvae: loaded.vqvae }, config: loaded.model, ...(loaded.training ? { training: loaded.training } : {}) };
}

/** Builds the model (and checks the examples) from a bundle; throws a UserError naming the file at fault. */
export function openBundle(bundle: Bundle): OpenedModel | OpenedAudio {
  const { model } = bundle;
  if (formatOf(model.configText) === AUDIO_MODEL_FORMAT) {
    const audio = audioModelFromBytes(model.configText, model.weights, { config: model.configSource, weights: model.weightsSource });
    try {
      const examples = bundle.examples ? openAudioExamples(bundle.examples.bytes, bundle.examples.source) : [];
      return { kind: 'audio', label: bundle.label, audio, examples };
    } catch (error) {
      audio.vqvae.dispose();
      throw error;
    }
  }
  const opened = openImageModel(model);
  try {
    const examples = bundle.examples ? openExamples(bundle.examples.bytes, bundle.examples.source, opened.config) : undefined;
    return { kind: 'image', label: bundle.label, ...opened, ...(examples ? { examples } : {}), ...(bundle.prior ? { prior: bundle.prior } : {}) };
  } catch (error) {
    opened.image.vqvae.dispose();
    throw error;
  }
}
