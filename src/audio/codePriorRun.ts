/**
 * Training the prior over audio code sequences (codePrior.ts) with the run
 * engine (src/train/run.ts), as `vqvae prior train --codes codes.npy` does
 * when the codes are an audio model's [N, frames] (cli/audioPrior.ts maps
 * the flags): reading and checking the codes (and speaker labels), the
 * training windows, the held-out NLL, and the prior directory
 *
 *   config.json   { "format": "vqvae-audio-prior", "version": 1,
 *                   "prior": { ...CodePriorConfig }, "training": { "codes": ..., "step": ..., ... } }
 *   weights.safetensors   the variables by name, and Adam's moments for --resume.
 *
 * Step s trains on `batch` rows drawn with train.ts's batchRng(seed, s),
 * each a random window of `window` codes of the row (the whole row, padded
 * with -1, when it is shorter): a resumed run sees the batches an
 * uninterrupted one would.
 */
import '../engine.js';
import * as tf from '@tensorflow/tfjs-core';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { CONFIG_FILE, loadCheckpoint, saveCheckpoint, WEIGHTS_FILE } from '../io/checkpoint.js';
import { readNpyFile } from '../io/npyFile.js';
import { parseSaved, type RunState } from '../io/savedModel.js';
import { toNamed } from '../model/checkpoint.js';
import { checkFlagsMatch, codePriorRunFields, type RunPlugin, type RunSession, type SavedRun } from '../train/run.js';
import type { ComputedStep, Stepper } from '../train/stepLoop.js';
import { AUDIO_PRIOR_FORMAT, AUDIO_PRIOR_SAVED_FORMAT, CodePrior, DEFAULT_CODE_PRIOR, priorDilations, type CodePriorConfig } from './codePrior.js';
import { batchRng } from './train.js';

/** Code sequences as `vqvae encode` writes them for an audio model: [count, frames], -1 after each row's end. */
export interface CodeSequences {
  readonly source: string;
  readonly count: number;
  readonly frames: number;
  readonly codes: Int32Array;
  /** Codes before the first -1 of each row. */
  readonly lengths: Int32Array;
  /** Speaker of each row [count], for a conditional prior. */
  readonly labels?: Int32Array;
}

/** Whether `path` holds integer codes of rank 2 (an audio model's), not image code grids. */
export function isSequenceFile(path: string): boolean {
  const a = readNpyFile(path);
  return a.shape.length === 2;
}

/** Reads and checks [N, frames] codes (-1 only as padding at the end of a row) and labels [N]. */
export function readCodeSequences(path: string, labelsPath?: string, options: { codebookSize?: number; limit?: number } = {}): CodeSequences {
  const a = readNpyFile(path);
  if (!(a.data instanceof Int32Array)) throw new UserError(`${path}: codes must be integers (int32 or int64), found ${a.dtype}`);
  if (a.shape.length !== 2 || a.shape[0]! < 1 || a.shape[1]! < 1) {
    throw new UserError(`${path}: audio codes must have shape [N, frames] with N, frames >= 1 (as \`vqvae encode\` writes for an audio model), found [${a.shape.join(', ')}]`);
  }
  const [total, frames] = a.shape as [number, number];
  const count = Math.min(total, options.limit ?? total);
  const codes = a.data.subarray(0, count * frames);
  const lengths = new Int32Array(count);
  const k = options.codebookSize;
  for (let i = 0; i < count; i++) {
    let length = frames;
    for (let t = 0; t < frames; t++) {
      const v = codes[i * frames + t]!;
      if (v === -1 && length === frames) length = t;
      else if (v === -1) continue;
      else if (length < frames) throw new UserError(`${path}: row ${i} has code ${v} at frame ${t} after padding (-1) at frame ${length}`);
      else if (v < 0 || (k !== undefined && v >= k)) {
        throw new UserError(`${path}: code ${v} at row ${i}, frame ${t} is out of range: expected ${k !== undefined ? `0..${k - 1} (K = ${k})` : 'codes >= 0'}, or -1 as padding`);
      }
    }
    if (length === 0) throw new UserError(`${path}: row ${i} holds no codes`);
    lengths[i] = length;
  }
  let labels: Int32Array | undefined;
  if (labelsPath !== undefined) {
    const l = readNpyFile(labelsPath);
    if (!(l.data instanceof Int32Array)) throw new UserError(`${labelsPath}: labels must be integers (int32 or int64), found ${l.dtype}`);
    if (l.shape.length !== 1 || l.shape[0] !== total) throw new UserError(`${labelsPath}: labels must have shape [${total}], one per row of ${path}, found [${l.shape.join(', ')}]`);
    labels = l.data.subarray(0, count);
    const bad = labels.findIndex((v) => v < 0);
    if (bad >= 0) throw new UserError(`${labelsPath}: label ${labels[bad]} at row ${bad} is not a speaker`);
  }
  return { source: path, count, frames, codes, lengths, labels };
}

function maxCode(values: Int32Array): number {
  let max = 0;
  for (const v of values) if (v > max) max = v;
  return max;
}

/** Rows at `rows`, each a window of `window` codes starting at `starts[i]` (-1 past the row's end). */
export function gatherWindows(set: CodeSequences, rows: ArrayLike<number>, starts: ArrayLike<number>, window: number): Int32Array {
  const out = new Int32Array(rows.length * window).fill(-1);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    const from = r * set.frames + starts[i]!;
    const n = Math.min(window, set.lengths[r]! - starts[i]!);
    out.set(set.codes.subarray(from, from + n), i * window);
  }
  return out;
}

/** Step `step`'s rows and window starts. */
export function windowBatch(set: CodeSequences, batch: number, window: number, seed: number, step: number): { rows: Int32Array; starts: Int32Array } {
  const rng = batchRng(seed, step);
  const rows = Int32Array.from({ length: batch }, () => Math.floor(rng() * set.count));
  const starts = Int32Array.from(rows, (r) => Math.floor(rng() * Math.max(1, set.lengths[r]! - window + 1)));
  return { rows, starts };
}

/** Mean -log2 p per code of every (whole, unpadded) row, in batches. */
export function sequenceBitsPerCode(prior: CodePrior, set: CodeSequences, batch = 16): number {
  let nats = 0;
  let count = 0;
  for (let start = 0; start < set.count; start += batch) {
    const end = Math.min(set.count, start + batch);
    const [a, c] = tf.tidy(() => {
      const codes = tf.tensor2d(set.codes.subarray(start * set.frames, end * set.frames), [end - start, set.frames], 'int32');
      const speakers = prior.config.speakers > 0 ? tf.tensor1d(set.labels!.subarray(start, end), 'int32') : undefined;
      const { nats: n, count: k } = prior.nll(codes, speakers);
      return [n.dataSync()[0]!, k.dataSync()[0]!];
    });
    nats += a;
    count += c;
  }
  return nats / Math.max(1, count) / Math.LN2;
}

export interface CodePriorTrainingState extends RunState {
  codes: string;
  labels?: string;
}

export interface LoadedCodePrior extends SavedRun<CodePriorTrainingState> {
  config: CodePriorConfig;
  prior: CodePrior;
}

export function saveCodePrior(dir: string, prior: CodePrior, training?: CodePriorTrainingState, optimizerState?: Record<string, tf.Tensor>): void {
  const tensors = { ...toNamed(prior.variables()), ...(optimizerState ? toNamed(optimizerState) : {}) };
  saveCheckpoint(dir, { format: AUDIO_PRIOR_FORMAT, version: AUDIO_PRIOR_SAVED_FORMAT.version, prior: prior.config, ...(training ? { training } : {}) }, tensors, { format: AUDIO_PRIOR_FORMAT });
}

/** Whether the directory `dir` holds an audio code prior (its config.json says so). */
export function isCodePriorDir(dir: string): boolean {
  try {
    return (loadCheckpoint(dir).config as { format?: unknown }).format === AUDIO_PRIOR_FORMAT;
  } catch {
    return false;
  }
}

export function loadCodePrior(dir: string): LoadedCodePrior {
  const sources = { config: join(dir, CONFIG_FILE), weights: join(dir, WEIGHTS_FILE) };
  const data = parseSaved<CodePriorConfig, CodePriorTrainingState>(AUDIO_PRIOR_SAVED_FORMAT, loadCheckpoint(dir), sources);
  const prior = new CodePrior(data.config);
  try {
    prior.load(data.weights, sources.weights);
  } catch (error) {
    prior.dispose();
    throw error;
  }
  return { config: data.config, prior, training: data.training, extra: data.optimizer };
}

/** Config fields that flags of `vqvae prior train` set, with the flags' names; with --resume they must match. */
const FLAGS = { codebookSize: 'codebook-size', channels: 'channels', window: 'window' } as const;

export interface CodePriorRunOptions {
  codes: string;
  labels?: string;
  testCodes?: string;
  testLabels?: string;
  /** K of the audio model the codes came from, when given. */
  modelCodebookSize?: number;
  /** Speakers of that model (the label range), when given. */
  modelSpeakers?: number;
  limit?: number;
  codebookSize?: number;
  channels?: number;
  layers?: number;
  window?: number;
  classes?: number;
}

function stepper(prior: CodePrior, data: CodeSequences, batch: number, seed: number): Stepper {
  const window = prior.config.window;
  const params = prior.variables();
  const names = new Map(Object.entries(params).map(([name, v]) => [v.name, name]));
  return {
    computeGradients(step): ComputedStep {
      const { rows, starts } = windowBatch(data, batch, window, seed, step);
      const codes = tf.tensor2d(gatherWindows(data, rows, starts, window), [batch, window], 'int32');
      const speakers = prior.config.speakers > 0 ? tf.tensor1d(Int32Array.from(rows, (r) => data.labels![r]!), 'int32') : undefined;
      const { value, grads } = tf.variableGrads(() => prior.loss(codes, speakers), Object.values(params));
      const loss = value.dataSync()[0]!;
      tf.dispose([codes, value, ...(speakers ? [speakers] : [])]);
      const byName = Object.fromEntries(Object.entries(grads).map(([k, g]) => [names.get(k)!, g]));
      return { loss, metrics: { bitsPerCode: loss / Math.LN2 }, grads: byName, dispose: () => tf.dispose(Object.values(byName)) };
    },
    applyGradients: (computed, optimizer) => optimizer.apply(params, computed.grads),
  };
}

export function codePriorRun(options: CodePriorRunOptions): RunPlugin<CodePriorTrainingState, LoadedCodePrior, ComputedStep> {
  return {
    ...codePriorRunFields('sequences', 'seq/s'),
    source: options.codes,
    load: loadCodePrior,
    async open({ out, saved, settings, output }) {
      if (options.codebookSize !== undefined && options.modelCodebookSize !== undefined && options.codebookSize !== options.modelCodebookSize) {
        throw new UserError(`--codebook-size ${options.codebookSize} does not match the audio model (K ${options.modelCodebookSize})`);
      }
      const kGiven = options.codebookSize ?? options.modelCodebookSize ?? saved?.config.codebookSize;
      const data = readCodeSequences(options.codes, options.labels, { codebookSize: kGiven, limit: options.limit });
      const k = kGiven ?? Math.max(2, maxCode(data.codes) + 1);
      if (kGiven === undefined) output.info(`K = ${k}: the largest code in ${options.codes} + 1 (give --model or --codebook-size to set it)`);
      const speakers = data.labels ? (options.classes ?? options.modelSpeakers ?? saved?.config.speakers ?? maxCode(data.labels) + 1) : 0;
      const checkLabels = (labels: Int32Array | undefined, file: string | undefined) => {
        if (labels && maxCode(labels) >= speakers) throw new UserError(`${file}: speaker ${maxCode(labels)} is out of range for ${speakers} speakers (0..${speakers - 1})`);
      };
      checkLabels(data.labels, options.labels);
      const longest = data.lengths.reduce((a, b) => Math.max(a, b), 0);
      const requested: Partial<CodePriorConfig> = { codebookSize: kGiven, channels: options.channels, window: options.window };
      if (saved) {
        checkFlagsMatch(requested, saved.config, FLAGS, `prior in ${out}`);
        if (options.layers !== undefined && options.layers !== saved.config.dilations.length) {
          throw new UserError(`--layers ${options.layers} does not match the prior in ${out} (layers ${saved.config.dilations.length}); leave it out to resume`);
        }
        if (speakers !== saved.config.speakers) {
          const say = (s: number) => (s === 0 ? 'no --labels' : `--labels with ${s} speakers`);
          throw new UserError(`${say(speakers)} does not match the prior in ${out} (${say(saved.config.speakers)}); leave it out to resume`);
        }
      }
      let test: CodeSequences | undefined;
      if (options.testCodes !== undefined) {
        test = readCodeSequences(options.testCodes, options.testLabels, { codebookSize: k });
        checkLabels(test.labels, options.testLabels);
      }
      const prior = saved?.prior ?? new CodePrior({
        codebookSize: k,
        channels: options.channels ?? DEFAULT_CODE_PRIOR.channels,
        dilations: priorDilations(options.layers ?? DEFAULT_CODE_PRIOR.layers),
        speakers,
        window: options.window ?? Math.min(DEFAULT_CODE_PRIOR.window, longest),
      }, settings.seed);
      const c = prior.config;
      const labels = options.labels ?? saved?.training?.labels;
      const uniform = Math.log2(c.codebookSize).toFixed(3);
      const session: RunSession<CodePriorTrainingState, ComputedStep> = {
        ...stepper(prior, data, settings.batch, settings.seed),
        describe: ({ batch, learningRate }) =>
          `codes: ${options.codes}, ${data.count} sequences of up to ${data.frames} codes, K ${c.codebookSize} (uniform: ${uniform} bits per code)` +
          `${c.speakers > 0 ? `, ${c.speakers} speakers` : ''}; prior: 1-D gated stack, channels ${c.channels}, ${c.dilations.length} layers ` +
          `(dilations up to ${Math.max(...c.dilations)}, ${prior.receptiveField} codes seen); batch ${batch} x ${c.window} codes, lr ${learningRate}`,
        state: (s) => ({ codes: options.codes, ...(labels !== undefined ? { labels } : {}), ...s }),
        save: (dir, state, optimizer) => saveCodePrior(dir, prior, state, optimizer.state()),
        progressFields: ({ metrics }) => ({ bits: metrics['bitsPerCode']! }),
        evaluate: (step) => (test ? `step ${step}: test NLL ${sequenceBitsPerCode(prior, test).toFixed(4)} bits per code` : undefined),
        finish(result) {
          if (!test || result.stopReason === 'interrupted') return;
          const bits = sequenceBitsPerCode(prior, test);
          output.info(`test (${test.count} sequences): NLL ${bits.toFixed(4)} bits per code (uniform: ${uniform})`);
          return { test_bits_per_code: bits };
        },
        dispose: () => prior.dispose(),
      };
      return { session };
    },
  };
}
