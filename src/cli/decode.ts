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
    'decodes them with a trained model into a PNG grid of N images.',
  usage: '--model DIR --codes FILE.npy --out FILE.png [flags]',
  flags: [
    { ...modelFlag, required: true, help: 'model directory written by `vqvae train`' },
    { name: 'codes', type: 'string', required: true, metavar: 'FILE.npy', help: 'code indices [N, h, w] ([N, h, w, depth] for rvq)' },
    { name: 'out', type: 'string', required: true, metavar: 'FILE.png', help: 'where to write the image grid' },
    { name: 'batch', type: 'int', min: 1, default: 256, metavar: 'N', help: 'grids per forward pass' },
    ...gridFlags,
    { name: 'speaker', type: 'string', metavar: 'NAME', help: 'audio models: the voice to decode with (--out is then a .wav)' },
    { name: 'item', type: 'int', min: 0, default: 0, metavar: 'I', help: 'audio models: which row of the codes to decode' },
    { name: 'seed', type: 'int', min: 0, default: 0, help: 'audio models: seed of the sampling' },
    backendFlag,
  ],
  examples: ['vqvae decode --model runs/mnist --codes codes.npy --out decoded.png'],
  async run(flags, ctx) {
    if (isAudioModelDir(flags.model)) return audioDecode(flags.model, flags, ctx);
    await useBackend(flags.backend as BackendChoice, ctx);
    const loaded = loadModel(flags.model);
    const { vqvae } = loaded;
    const shape = vqvae.codeShape;
    const perImage = shape.reduce((a, b) => a * b, 1);
    const K = vqvae.config.codebookSize;
    const codes = readNpyFile(flags.codes);
    if (codes.dtype !== 'int32' && codes.dtype !== 'int64') {
      throw new UserError(`${flags.codes}: codes must be integers (int32 or int64), found ${codes.dtype}`);
    }
    if (codes.shape.length !== shape.length + 1 || shape.some((n, i) => codes.shape[i + 1] !== n) || codes.shape[0]! < 1) {
      throw new UserError(`${flags.codes}: codes must have shape [N, ${shape.join(', ')}] for the model in ${flags.model}, found [${codes.shape.join(', ')}]`);
    }
    const values = codes.data as Int32Array;
    for (let i = 0; i < values.length; i++) {
      if (values[i]! < 0 || values[i]! >= K) {
        const n = Math.floor(i / perImage);
        throw new UserError(`${flags.codes}: index ${values[i]} at item ${n} is out of range: the model has ${K} codes (0..${K - 1})`);
      }
    }
    const n = codes.shape[0]!;
    const { imageHeight: H, imageWidth: W, inputChannels: C } = vqvae.config;
    const pixels = new Uint8Array(n * H * W * C);
    for (let start = 0; start < n; start += flags.batch) {
      const end = Math.min(n, start + flags.batch);
      const indices = tf.tensor(values.subarray(start * perImage, end * perImage), [end - start, ...shape] as [number, number, number], 'int32') as CodeIndices;
      const images = vqvae.decodeIndices(indices);
      pixels.set(outputToPixels(images), start * H * W * C);
      tf.dispose([indices, images]);
    }
    const png = encodeImageGrid(pixels, n, H, W, C, { columns: flags.columns, upscale: defaultUpscale(H, flags.upscale) });
    writeFileSync(flags.out, png);
    info(ctx, `wrote ${flags.out}: ${n} images`);
    vqvae.dispose();
  },
});
