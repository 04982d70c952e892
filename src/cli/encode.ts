/** `vqvae encode`: images → code indices, written as an int32 .npy of shape [N, h, w] ([N, h, w, depth] for RVQ). */
import * as tf from '@tensorflow/tfjs-core';
import { tensorsDigest } from '../distributed/consistency.js';
import { shareCounts, shareOf } from '../distributed/shard.js';
import { writeNpyFile } from '../io/npyFile.js';
import { sliceImages } from '../train/batches.js';
import { defineCommand } from './command.js';
import { isAudioModelDir } from '../audio/checkpoint.js';
import { audioEncode } from './audioCommands.js';
import { modelLevels } from '../model/hierarchicalFile.js';
import { encodeTwoLevels } from './twoLevels.js';
import { backendFlag, DATA_HELP, info, limitFlag, modelDirFor, modelFlag, openModelAndData, resizeFlag, splitFlag } from './common.js';
import { agree, checkSameJob, distributedFlag, openJob, parseShard, shardFlag } from './distributed.js';
import { UsageError } from './flags.js';

export const encodeCommand = defineCommand({
  name: 'encode',
  summary: 'turn images into grids of code indices (.npy)',
  description:
    'Encodes a data split with a trained model and writes the index of the nearest code at each ' +
    'position as a NumPy int32 array of shape [N, h, w] (7x7 for 28x28 images); a residual (rvq) model ' +
    'writes one index per codebook, [N, h, w, depth]. --labels-out also ' +
    'writes the class labels as int32 [N], for a class-conditional prior. --shard I/N encodes only ' +
    'the I-th of N even, contiguous parts of the split (their files, in order, make the whole); under ' +
    'mpirun the ranks share the images and rank 0 writes the one file.\n\n' +
    'A two-level model (vqvae train --levels 2) writes one file per level, the --out name with its .npy replaced: ' +
    '--out codes.npy writes codes.top.npy int32 [N, ht, wt] and codes.bottom.npy int32 [N, hb, wb] ' +
    '(4x4 and 8x8 for 32x32 images, 4x4 and 7x7 for 28x28; an rvq level [N, h, w, depth]), and not codes.npy; --shard and --distributed are not supported for it yet.',
  usage: '--data SPEC [--model DIR] --out FILE.npy [flags]',
  flags: [
    modelFlag,
    { name: 'data', type: 'string', required: true, metavar: 'SPEC', help: DATA_HELP },
    { name: 'out', type: 'string', required: true, metavar: 'FILE.npy', help: 'where to write the codes (two-level models: FILE.top.npy and FILE.bottom.npy)' },
    { name: 'labels-out', type: 'string', metavar: 'FILE.npy', help: 'also write the labels here' },
    { ...splitFlag, default: 'train' },
    limitFlag,
    { name: 'batch', type: 'int', min: 1, default: 256, metavar: 'N', help: 'images per forward pass' },
    resizeFlag,
    backendFlag,
    shardFlag,
    distributedFlag,
  ],
  examples: [
    'vqvae encode --model runs/mnist --data mnist --out codes.npy --labels-out labels.npy',
    'vqvae encode --model runs/mnist --data mnist --shard 0/4 --out codes-0.npy',
    'mpirun -np 4 vqvae encode --model runs/mnist --data mnist --out codes.npy',
  ],
  async run(flags, ctx) {
    const shard = parseShard(flags.shard);
    const dir = modelDirFor(flags.model, flags.data);
    if (isAudioModelDir(dir)) {
      if (shard || flags.distributed) throw new UsageError(`--${shard ? 'shard' : 'distributed'} is not supported for audio models yet (${dir})`);
      return audioEncode(dir, flags, ctx);
    }
    if (modelLevels(dir) === 2) return encodeTwoLevels(dir, flags, ctx);
    const comm = openJob(flags);
    const { loaded, data } = await agree(comm, () => openModelAndData(flags, ctx));
    checkSameJob(comm, () => [JSON.stringify(flags), data.images, data.labels, tensorsDigest(loaded.vqvae.state())]);
    // One image's codes: [h, w], or [h, w, depth] for RVQ.
    const shape = loaded.vqvae.codeShape;
    const perImage = shape.reduce((a, b) => a * b, 1);
    // This job's images (its shard, or all), split among the ranks; each rank encodes its part.
    const [first, last] = shard ? shareOf(data.count, shard.index, shard.count) : [0, data.count];
    const count = last - first;
    const [mineStart, mineEnd] = shareOf(count, comm.rank, comm.size).map((i) => first + i) as [number, number];
    const mine = new Int32Array((mineEnd - mineStart) * perImage);
    const progress = ctx.progress({ total: mineEnd - mineStart, label: 'image' });
    for (let start = mineStart; start < mineEnd; start += flags.batch) {
      const end = Math.min(mineEnd, start + flags.batch);
      const x = sliceImages(data, start, end);
      const indices = loaded.vqvae.encodeIndices(x);
      mine.set(indices.dataSync() as Int32Array, (start - mineStart) * perImage);
      tf.dispose([x, indices]);
      progress.update(end - mineStart);
    }
    progress.stop();
    loaded.vqvae.dispose();
    const codes = comm.gather(mine, shareCounts(count, comm.size, perImage));
    if (codes === undefined) return;
    writeNpyFile(flags.out, codes, [count, ...shape]);
    info(ctx, `wrote ${flags.out}: int32 [${[count, ...shape].join(', ')}]`);
    if (flags.labelsOut) {
      writeNpyFile(flags.labelsOut, data.labels.slice(first, last), [count]);
      info(ctx, `wrote ${flags.labelsOut}: int32 [${count}]`);
    }
  },
});
