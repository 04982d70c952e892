/** `vqvae decode`: code indices (.npy) → images, as a PNG grid. */
import * as tf from '@tensorflow/tfjs-core';
import { writeFileSync } from 'node:fs';
import type { BackendChoice } from '../backend/select.js';
import { UserError } from '../errors.js';
import { readNpyFile } from '../io/npyFile.js';
import { encodeImageGrid } from '../io/pngGrid.js';
import { outputToPixels } from '../model/vqvae.js';
import type { CodeIndices } from '../quantize/types.js';
import { defineCommand } from './command.js';
import { backendFlag, info, modelFlag, useBackend } from './common.js';
import { loadModel } from '../model/checkpoint.js';
import { isAudioModelDir } from '../audio/checkpoint.js';
import { audioDecode } from './audioCommands.js';
import type { ModelConfig } from '../model/config.js';
import { modelLevels } from '../model/hierarchicalFile.js';
import { UsageError } from './flags.js';
import { decodeTwoLevels } from './twoLevels.js';

export const gridFlags = [
  { name: 'columns', type: 'int', min: 1, metavar: 'N', help: 'images per row (default: a near-square grid)' },
  { name: 'upscale', type: 'int', min: 1, max: 16, metavar: 'F', help: 'magnify each image F times (default 2 for images under 64 pixels)' },
] as const;

export function defaultUpscale(height: number, upscale: number | undefined): number {
  return upscale ?? (height < 64 ? 2 : 1);
}

export const decodeCommand = defineCommand({
  name: 'decode',
  summary: 'turn grids of code indices (.npy) into images (PNG)',
  description:
    'Reads code indices from a NumPy array [N, h, w] (int32 or int64, as `vqvae encode` writes; ' +
    '[N, h, w, depth] for a residual (rvq) model) and ' +
    'decodes them with a trained model into a PNG grid of N images. A two-level model (vqvae train --levels 2) ' +
    'takes both levels\' codes, as `vqvae encode` writes them: --codes F.bottom.npy [N, hb, wb] and --top-codes F.top.npy [N, ht, wt] (an rvq level [N, h, w, depth]).',
  usage: '--model DIR --codes FILE.npy --out FILE.png [flags]',
  flags: [
    { ...modelFlag, required: true, help: 'model directory written by `vqvae train`' },
    { name: 'codes', type: 'string', required: true, metavar: 'FILE.npy', help: 'code indices [N, h, w] ([N, h, w, depth] for rvq); of a two-level model, the bottom level\'s (codes.bottom.npy)' },
    { name: 'top-codes', type: 'string', metavar: 'FILE.npy', help: 'two-level models: the top level\'s code indices [N, ht, wt] ([N, ht, wt, depth] for an rvq top; codes.top.npy of vqvae encode)' },
    { name: 'out', type: 'string', required: true, metavar: 'FILE.png', help: 'where to write the image grid' },
    { name: 'batch', type: 'int', min: 1, default: 256, metavar: 'N', help: 'grids per forward pass' },
    ...gridFlags,
    { name: 'speaker', type: 'string', metavar: 'NAME', help: 'audio models: the voice to decode with (--out is then a .wav)' },
    { name: 'item', type: 'int', min: 0, default: 0, metavar: 'I', help: 'audio models: which row of the codes to decode' },
    { name: 'seed', type: 'int', min: 0, default: 0, help: 'audio models: seed of the sampling' },
    backendFlag,
  ],
  examples: [
    'vqvae decode --model runs/mnist --codes codes.npy --out decoded.png',
    'vqvae decode --model runs/cifar-2 --codes codes.bottom.npy --top-codes codes.top.npy --out decoded.png',
  ],
  async run(flags, ctx) {
    if (isAudioModelDir(flags.model)) return audioDecode(flags.model, flags, ctx);
    const twoLevels = modelLevels(flags.model) === 2;
    if (!twoLevels && flags.topCodes !== undefined) {
      throw new UsageError(`--top-codes is for two-level models (vqvae train --levels 2); the model in ${flags.model} has one level`);
    }
    if (twoLevels && flags.topCodes === undefined) {
      throw new UsageError(`the model in ${flags.model} has two levels: give the top level's codes as --top-codes (codes.top.npy of vqvae encode) and the bottom level's as --codes`);
    }
    await useBackend(flags.backend as BackendChoice, ctx);
    const decoded = twoLevels ? decodeTwoLevels(flags.model, flags.codes, flags.topCodes!, flags.batch) : decodeOneLevel(flags.model, flags.codes, flags.batch);
    const { imageHeight: H, imageWidth: W, inputChannels: C } = decoded.config;
    const png = encodeImageGrid(decoded.pixels, decoded.count, H, W, C, { columns: flags.columns, upscale: defaultUpscale(H, flags.upscale) });
    writeFileSync(flags.out, png);
    info(ctx, `wrote ${flags.out}: ${decoded.count} images`);
  },
});

/** Decoded images: uint8 pixels [count, H, W, C] of a model of `config`'s image size. */
export interface DecodedImages {
  pixels: Uint8Array;
  count: number;
  config: ModelConfig;
}

function decodeOneLevel(modelDir: string, codesFile: string, batch: number): DecodedImages {
  const { vqvae } = loadModel(modelDir);
  try {
    const shape = vqvae.codeShape;
    const codes = readCodeFile(codesFile, shape, vqvae.config.codebookSize, `the model in ${modelDir}`);
    const pixels = decodeInBatches(codes.count, batch, vqvae.config, (start, end) => {
      const perImage = codes.values.length / codes.count;
      const indices = tf.tensor(codes.values.subarray(start * perImage, end * perImage), [end - start, ...shape] as [number, number, number], 'int32') as CodeIndices;
      const images = vqvae.decodeIndices(indices);
      indices.dispose();
      return images;
    });
    return { pixels, count: codes.count, config: vqvae.config };
  } finally {
    vqvae.dispose();
  }
}

/** The images of `count` code grids, `batch` at a time: `decodeBatch(start, end)` gives images [end - start, H, W, C] in model scale. */
export function decodeInBatches(count: number, batch: number, config: ModelConfig, decodeBatch: (start: number, end: number) => tf.Tensor4D): Uint8Array {
  const { imageHeight: H, imageWidth: W, inputChannels: C } = config;
  const pixels = new Uint8Array(count * H * W * C);
  for (let start = 0; start < count; start += batch) {
    const end = Math.min(count, start + batch);
    const images = decodeBatch(start, end);
    pixels.set(outputToPixels(images), start * H * W * C);
    images.dispose();
  }
  return pixels;
}

/** A codes file's values as int32, checked: integers, shape [N >= 1, ...shape], every value in 0..K-1. */
export interface CodeFile {
  values: Int32Array;
  count: number;
  shape: number[];
}

/**
 * Reads code indices (.npy, int32 or int64) and checks them against `shape`
 * (one image's codes) and K, naming the file; `forWhat` ends the shape
 * message ("the model in DIR"), `hint` may add why the shape differs.
 */
export function readCodeFile(file: string, shape: readonly number[], K: number, forWhat: string, hint?: (found: readonly number[]) => string): CodeFile {
  const codes = readNpyFile(file);
  if (codes.dtype !== 'int32' && codes.dtype !== 'int64') {
    throw new UserError(`${file}: codes must be integers (int32 or int64), found ${codes.dtype}`);
  }
  if (codes.shape.length !== shape.length + 1 || shape.some((n, i) => codes.shape[i + 1] !== n) || codes.shape[0]! < 1) {
    throw new UserError(`${file}: codes must have shape [N, ${shape.join(', ')}] for ${forWhat}, found [${codes.shape.join(', ')}]${hint?.(codes.shape) ?? ''}`);
  }
  const values = codes.data as Int32Array;
  const perImage = shape.reduce((a, b) => a * b, 1);
  for (let i = 0; i < values.length; i++) {
    if (values[i]! < 0 || values[i]! >= K) {
      const n = Math.floor(i / perImage);
      throw new UserError(`${file}: index ${values[i]} at item ${n} is out of range: ${forWhat} has ${K} codes (0..${K - 1})`);
    }
  }
  return { values, count: codes.shape[0]!, shape: codes.shape };
}
