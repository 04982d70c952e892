/** `vqvae eval`: reconstruction error and codebook use of a trained model on a data split; with --prior, the prior's NLL. */
import type { ImageDataset } from '../data/dataset.js';
import { UserError } from '../errors.js';
import { loadPrior } from '../prior/checkpoint.js';
import { residualModelError } from '../prior/codeFile.js';
import type { CodeSet } from '../prior/codeSet.js';
import { priorNll } from '../prior/nll.js';
import { evaluate } from '../train/evaluate.js';
import { defineCommand } from './command.js';
import { backendFlag, DATA_HELP, info, limitFlag, modelDirFor, modelFlag, openModelAndData, resizeFlag, splitFlag } from './common.js';
import { jsonFlag, UsageError } from './flags.js';
import { writeNpyFile } from '../io/npyFile.js';
import { codebookUsage, countCodes } from '../quantize/usage.js';
import { existsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { isAudioModelDir } from '../audio/checkpoint.js';
import { audioEval } from './audioCommands.js';
import { modelLevels } from '../model/hierarchicalFile.js';
import { evalTwoLevels } from './twoLevels.js';

export const evalCommand = defineCommand({
  name: 'eval',
  summary: 'measure reconstruction error and codebook use',
  description:
    'Reconstructs a data split through a trained model and reports the mean squared error per pixel ' +
    '(pixels scaled to [0, 1], reconstructions clipped to that range), the PSNR, the perplexity of ' +
    'code usage and how many codes are used (codes_used, codes_used_fraction of K, dead_codes), all counted over ' +
    'every image of the split: perplexity grows with the number of vectors it is counted over, so a figure over a few ' +
    'batches is lower. --usage-out writes how often each code occurs. With --prior, also the prior\'s negative log-likelihood of ' +
    'the split\'s codes in bits per code (a uniform prior costs log2 K). Changes nothing in the model.\n\n' +
    'A two-level model (vqvae train --levels 2) reports mse, psnr_db and images as one level does, and each level\'s ' +
    'codebook_size, codes_used, codes_used_fraction, dead_codes and perplexity under levels.top and levels.bottom of the JSON; ' +
    '--usage-out F.npy then writes F.top.npy and F.bottom.npy.',
  usage: '[--model DIR] [--data SPEC] [flags]',
  flags: [
    modelFlag,
    { name: 'data', type: 'string', metavar: 'SPEC', help: `${DATA_HELP} (default: the data the model was trained on)` },
    { name: 'prior', type: 'string', metavar: 'DIR', help: 'a prior directory (`vqvae prior train`) to score on the codes of the split' },
    splitFlag,
    limitFlag,
    { name: 'batch', type: 'int', min: 1, default: 256, metavar: 'N', help: 'images per forward pass' },
    { name: 'usage-out', type: 'string', metavar: 'F.npy', help: 'write the usage histogram: how often each of the K codes occurs on the split, int32 [K]' },
    resizeFlag,
    { name: 'conversions', type: 'int', min: 0, default: 0, metavar: 'N', help: 'audio models: convert N test utterances to another speaker and score them with an MFCC speaker classifier' },
    backendFlag,
    jsonFlag,
  ],
  examples: [
    'vqvae eval --model runs/fashion --data fashion-mnist --json',
    'vqvae eval --model runs/mnist --split train --limit 1000',
    'vqvae eval --model runs/fashion-ema --prior runs/fashion-prior --data fashion-mnist --json',
  ],
  async run(flags, ctx) {
    if (flags.usageOut !== undefined) checkOutputFile(flags.usageOut, '--usage-out');
    const dir = modelDirFor(flags.model, flags.data);
    if (isAudioModelDir(dir)) return audioEval(dir, flags, ctx);
    if (modelLevels(dir) === 2) {
      if (flags.prior !== undefined) throw new UsageError(`--prior with a two-level model (${dir}) is not supported yet`);
      return evalTwoLevels(flags, ctx);
    }
    const { modelDir, loaded, data } = await openModelAndData(flags, ctx);
    try {
      const prior = flags.prior !== undefined ? await loadPrior(flags.prior) : undefined;
      try {
        if (prior && loaded.vqvae.codeDepth > 1) throw residualModelError(modelDir, loaded.model.depth);
        const [h, w] = loaded.vqvae.codeGrid;
        if (prior && (prior.config.height !== h || prior.config.width !== w)) {
          throw new UserError(`the prior in ${flags.prior} models ${prior.config.height}x${prior.config.width} code grids but the model makes ${h}x${w}`);
        }
        if (prior && prior.config.numClasses > 0) {
          // Before the slow part: a class-conditional prior needs a label in range for every image.
          const bad = data.labels.findIndex((v) => v < 0 || v >= prior.config.numClasses);
          if (bad >= 0) {
            const label = data.labels[bad]!;
            throw new UserError(
              label < 0
                ? `the prior in ${flags.prior} is class-conditional but ${data.spec} has no label for image ${bad}`
                : `${data.spec}: label ${label} of image ${bad} is out of range for the prior in ${flags.prior} (${prior.config.numClasses} classes)`,
            );
          }
        }
        const progress = ctx.progress({ total: data.count, label: 'image' });
        const K = loaded.model.codebookSize;
        const counts = new Float64Array(K);
        // Keep the codes for the prior: one pass of the encoder serves both.
        const grids = prior ? new Int32Array(data.count * h * w) : undefined;
        const m = evaluate(loaded.vqvae, data, {
          batch: flags.batch,
          onProgress: (done) => progress.update(done),
          onIndices: (start, indices) => {
            grids?.set(indices, start * h * w);
            countCodes(indices, K, counts);
          },
        });
        const usage = codebookUsage(counts);
        progress.stop();
        info(ctx, `${data.spec} (${flags.split}, ${m.images} images)`);
        info(ctx, `  mse         ${m.mse.toFixed(6)}`);
        info(ctx, `  psnr        ${m.psnrDb.toFixed(2)} dB`);
        info(ctx, `  perplexity  ${usage.perplexity.toFixed(1)} of ${K} codes (over all ${m.images} images)`);
        info(ctx, `  codes used  ${usage.codesUsed} of ${K} (${(100 * usage.codesUsedFraction).toFixed(1)}%), ${usage.deadCodes} dead`);
        const summary: Record<string, number> = {
          mse: m.mse, psnr_db: m.psnrDb, perplexity: usage.perplexity, codes_used: usage.codesUsed,
          codes_used_fraction: usage.codesUsedFraction, dead_codes: usage.deadCodes, images: m.images,
        };
        if (flags.usageOut !== undefined) {
          writeNpyFile(flags.usageOut, Int32Array.from(counts), [K]);
          info(ctx, `  wrote ${flags.usageOut}: int32 [${K}], how often each code occurs`);
        }
        if (m.reconstructionNats !== undefined) {
          info(ctx, `  -log p(x|z) ${(m.reconstructionNats / Math.LN2).toFixed(4)} bits per dimension`);
          summary['reconstruction_bits_per_dim'] = m.reconstructionNats / Math.LN2;
        }
        if (prior && flags.prior !== undefined) {
          const codes = codeSetOf(data, grids!, h, w, prior.config.numClasses > 0);
          const K = prior.config.codebookSize;
          const outside = codes.codes.findIndex((v) => v >= K);
          if (outside >= 0) {
            throw new UserError(`the model gives code ${codes.codes[outside]} but the prior in ${flags.prior} knows only ${K} values (0..${K - 1}); train it with --model`);
          }
          const scoring = ctx.progress({ total: codes.count, label: 'grid' });
          const nll = priorNll(prior, codes, { onProgress: (done) => scoring.update(done) });
          scoring.stop();
          info(ctx, `  prior NLL   ${nll.bitsPerCode.toFixed(4)} bits per code (uniform: log2 ${K} = ${Math.log2(K).toFixed(3)})`);
          summary['prior_bits_per_code'] = nll.bitsPerCode;
          summary['uniform_bits_per_code'] = Math.log2(K);
          if (m.reconstructionNats !== undefined) {
            // The bound of the paper: (-log p(x|z) - log p(z)) / (pixel values x ln 2), per image, averaged.
            const dims = data.height * data.width * data.channels;
            const bitsPerDim = (m.reconstructionNats * dims + nll.natsPerCode * codes.height * codes.width) / (dims * Math.LN2);
            info(ctx, `  bound       ${bitsPerDim.toFixed(4)} bits per dimension (-log p(x|z) - log p(z))`);
            summary['bits_per_dim'] = bitsPerDim;
          }
        }
        ctx.printJson(summary);
      } finally {
        prior?.dispose();
      }
    } finally {
      loaded.vqvae.dispose();
    }
  },
});

/** Refuses, before any work, an output path that cannot be written: not .npy, a directory, or in a missing folder. */
function checkOutputFile(path: string, flag: string): void {
  if (!path.endsWith('.npy')) throw new UsageError(`${flag} ${path}: the file name must end in .npy`);
  if (existsSync(path) && statSync(path).isDirectory()) throw new UsageError(`${flag} ${path}: is a directory`);
  const parent = dirname(path);
  if (!existsSync(parent) || !statSync(parent).isDirectory()) throw new UsageError(`${flag} ${path}: folder ${parent} does not exist`);
}

/** The split's code grids (and labels, for a class-conditional prior). */
function codeSetOf(data: ImageDataset, codes: Int32Array, h: number, w: number, withLabels: boolean): CodeSet {
  return { source: data.spec, count: data.count, height: h, width: w, codes, labels: withLabels ? data.labels : undefined };
}
