/** `vqvae encode`: images → code indices, written as an int32 .npy of shape [N, h, w]. */
import * as tf from '@tensorflow/tfjs-core';
import { writeNpyFile } from '../io/npyFile.js';
import { sliceImages } from '../train/batches.js';
import { defineCommand } from './command.js';
import { backendFlag, DATA_HELP, info, limitFlag, modelFlag, openModelAndData, resizeFlag, splitFlag } from './common.js';

export const encodeCommand = defineCommand({
  name: 'encode',
  summary: 'turn images into grids of code indices (.npy)',
  description:
    'Encodes a data split with a trained model and writes the index of the nearest code at each ' +
    'position as a NumPy int32 array of shape [N, h, w] (7x7 for 28x28 images). --labels-out also ' +
    'writes the class labels as int32 [N], for a class-conditional prior.',
  usage: '--data SPEC [--model DIR] --out FILE.npy [flags]',
  flags: [
    modelFlag,
    { name: 'data', type: 'string', required: true, metavar: 'SPEC', help: DATA_HELP },
    { name: 'out', type: 'string', required: true, metavar: 'FILE.npy', help: 'where to write the codes' },
    { name: 'labels-out', type: 'string', metavar: 'FILE.npy', help: 'also write the labels here' },
    { ...splitFlag, default: 'train' },
    limitFlag,
    { name: 'batch', type: 'int', min: 1, default: 256, metavar: 'N', help: 'images per forward pass' },
    resizeFlag,
    backendFlag,
  ],
  examples: ['vqvae encode --model runs/mnist --data mnist --out codes.npy --labels-out labels.npy'],
  async run(flags, ctx) {
    const { loaded, data } = await openModelAndData(flags, ctx);
    const [h, w] = loaded.vqvae.codeGrid;
    const codes = new Int32Array(data.count * h * w);
    const progress = ctx.progress({ total: data.count, label: 'image' });
    for (let start = 0; start < data.count; start += flags.batch) {
      const end = Math.min(data.count, start + flags.batch);
      const x = sliceImages(data, start, end);
      const indices = loaded.vqvae.encodeIndices(x);
      codes.set(indices.dataSync() as Int32Array, start * h * w);
      tf.dispose([x, indices]);
      progress.update(end);
    }
    progress.stop();
    writeNpyFile(flags.out, codes, [data.count, h, w]);
    info(ctx, `wrote ${flags.out}: int32 [${data.count}, ${h}, ${w}]`);
    if (flags.labelsOut) {
      writeNpyFile(flags.labelsOut, Int32Array.from(data.labels), [data.count]);
      info(ctx, `wrote ${flags.labelsOut}: int32 [${data.count}]`);
    }
    loaded.vqvae.dispose();
  },
});
