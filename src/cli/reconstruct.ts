/** `vqvae reconstruct`: a PNG grid of originals with their reconstructions below them. */
import * as tf from '@tensorflow/tfjs-core';
import { writeFileSync } from 'node:fs';
import { encodeComparisonGrid } from '../io/pngGrid.js';
import { outputToPixels } from '../model/vqvae.js';
import { sliceImages } from '../train/batches.js';
import { defineCommand } from './command.js';
import { backendFlag, DATA_HELP, info, modelDirFor, modelFlag, openModelAndData, resizeFlag, splitFlag, type ModelDataFlags } from './common.js';
import type { CommandContext } from './command.js';
import type { ImageDataset } from '../data/dataset.js';
import { modelLevels } from '../model/hierarchicalFile.js';
import { reconstructTwoLevels } from './twoLevels.js';
import { defaultUpscale, gridFlags } from './decode.js';

export const reconstructCommand = defineCommand({
  name: 'reconstruct',
  summary: 'draw originals above their reconstructions (PNG)',
  description:
    'Passes the first images of a data split through encoder, quantizer and decoder and writes a PNG ' +
    'grid: each row of originals has the row of their reconstructions below it. A two-level model (vqvae train --levels 2) ' +
    'reconstructs through both levels, as vqvae decode of its two code files does.',
  usage: '--data SPEC [--model DIR] --out FILE.png [flags]',
  flags: [
    modelFlag,
    { name: 'data', type: 'string', required: true, metavar: 'SPEC', help: DATA_HELP },
    { name: 'out', type: 'string', required: true, metavar: 'FILE.png', help: 'where to write the image grid' },
    splitFlag,
    { name: 'limit', type: 'int', min: 1, max: 1024, default: 32, metavar: 'N', help: 'how many images to show' },
    ...gridFlags,
    resizeFlag,
    backendFlag,
  ],
  examples: ['vqvae reconstruct --model runs/mnist --data mnist --out reconstruction.png'],
  async run(flags, ctx) {
    const dir = modelDirFor(flags.model, flags.data);
    const { data, pixels } = modelLevels(dir) === 2 ? await reconstructTwoLevels(flags, ctx) : await reconstructOneLevel(flags, ctx);
    const { count, height, width, channels } = data;
    const columns = flags.columns ?? Math.min(count, 8);
    const png = encodeComparisonGrid(data.images.subarray(0, count * height * width * channels), pixels, count, height, width, channels, {
      columns,
      upscale: defaultUpscale(height, flags.upscale),
    });
    writeFileSync(flags.out, png);
    info(ctx, `wrote ${flags.out}: ${count} originals (odd rows) above their reconstructions (even rows)`);
  },
});

async function reconstructOneLevel(flags: ModelDataFlags, ctx: CommandContext): Promise<{ data: ImageDataset; pixels: Uint8Array }> {
  const { loaded, data } = await openModelAndData(flags, ctx);
  try {
    const x = sliceImages(data, 0, data.count);
    const out = loaded.vqvae.forward(x);
    const pixels = outputToPixels(out.reconstruction);
    tf.dispose([x, ...Object.values(out)]);
    return { data, pixels };
  } finally {
    loaded.vqvae.dispose();
  }
}
