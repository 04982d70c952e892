/**
 * `vqvae prior train`: trains a Gated PixelCNN prior over the code grids
 * that `vqvae encode` writes, optionally conditioned on their labels, with
 * the checkpoints, Ctrl-C, --resume and bad-input behaviour of `vqvae train`:
 * the run engine (train/run.ts) with the prior's plug-in (prior/run.ts);
 * this file maps the flags. For a two-level model (`vqvae train --levels 2`)
 * a prior per level: --level top on the top codes, --level bottom on the
 * bottom codes conditioned on the top codes of the same images (--top-codes).
 */
import { readFileSync } from 'node:fs';
import { isAudioPriorRun, runAudioPriorTrain } from './audioPrior.js';
import { DEFAULT_PRIOR_CONFIG } from '../prior/config.js';
import { priorRun } from '../prior/run.js';
import { runTraining } from '../train/run.js';
import { defineCommand, defineGroup } from './command.js';
import { backendFlag, checkpointEveryFlag, resumeFlag, runOptions } from './common.js';
import { distributedFlag, distributedRun, openJob } from './distributed.js';
import { jsonFlag, UsageError } from './flags.js';

/** Training defaults of the prior. */
export const PRIOR_DEFAULTS = { steps: 2000, batch: 64, lr: 1e-3, seed: 0 } as const;
const p = DEFAULT_PRIOR_CONFIG;

export const priorTrainCommand = defineCommand({
  name: 'train',
  summary: 'train a PixelCNN prior over code grids',
  description:
    'Trains a Gated PixelCNN (van den Oord et al. 2016) by maximum likelihood on code grids written by ' +
    '`vqvae encode` (int32 [N, h, w]); with --labels it is conditioned on the class. K is --codebook-size, ' +
    'or the K of --model, or else the largest code + 1. Writes DIR/config.json and DIR/weights.safetensors ' +
    'at least once a minute, on Ctrl-C and at the end; --resume continues from the last of them. ' +
    'Losses are negative log-likelihoods in bits per code; a uniform prior costs log2(K). ' +
    'For a two-level --model (`vqvae train --levels 2`), --level says which level: --level top trains on the top codes ' +
    '(codes.top.npy of `vqvae encode`), --level bottom on the bottom codes (codes.bottom.npy) conditioned on the top codes of ' +
    'the same images (--top-codes); the prior records its level and the model, so `vqvae sample` refuses one of the other ' +
    'level or of another model.',
  usage: '--codes FILE.npy [--labels FILE.npy] --out DIR [--model M2 --level top|bottom [--top-codes FILE.npy]] [flags]',
  flags: [
    { name: 'codes', type: 'string', required: true, metavar: 'FILE.npy', help: 'training code grids [N, h, w] from `vqvae encode`, or an audio model\'s code sequences [N, frames] with --model that model (a 1-D prior)' },
    { name: 'labels', type: 'string', metavar: 'FILE.npy', help: 'class of each grid [N] (`vqvae encode --labels-out`): a class-conditional prior' },
    { name: 'out', type: 'string', required: true, metavar: 'DIR', help: 'prior directory to write' },
    { name: 'test-codes', type: 'string', metavar: 'FILE.npy', help: 'held-out code grids, scored every --eval-every steps and at the end' },
    { name: 'test-labels', type: 'string', metavar: 'FILE.npy', help: 'their labels (needed for a class-conditional prior)' },
    { name: 'model', type: 'string', metavar: 'DIR', help: 'the VQ-VAE the codes came from: takes its K and checks the grid size' },
    { name: 'level', type: 'choice', choices: ['top', 'bottom'], metavar: 'top|bottom', help: 'with a two-level --model (required there): the level the codes are of' },
    { name: 'top-codes', type: 'string', metavar: 'FILE.npy', help: 'with --level bottom: the top codes [N, ht, wt] of the same images (codes.top.npy)' },
    { name: 'test-top-codes', type: 'string', metavar: 'FILE.npy', help: 'with --level bottom and --test-codes: the top codes of the held-out images' },
    { name: 'steps', type: 'int', min: 1, metavar: 'N', help: `total training steps (default ${PRIOR_DEFAULTS.steps}, or the saved run's with --resume)` },
    { name: 'batch', type: 'int', min: 1, metavar: 'N', help: `grids per step (default ${PRIOR_DEFAULTS.batch}, or the saved run's)` },
    { name: 'lr', type: 'number', min: 0, exclusiveMin: true, help: `Adam learning rate (default ${PRIOR_DEFAULTS.lr}, or the saved run's)` },
    { name: 'seed', type: 'int', min: 0, help: `seed of weights and data order (default ${PRIOR_DEFAULTS.seed}, or the saved run's)` },
    { name: 'channels', type: 'int', min: 1, metavar: 'C', help: `feature width of the stacks (default ${p.channels})` },
    { name: 'layers', type: 'int', min: 0, metavar: 'N', help: `gated layers after the first, masked one (default ${p.layers})` },
    { name: 'kernel-size', type: 'int', min: 3, metavar: 'K', help: `odd kernel size k: vertical (k//2+1) x k, horizontal 1 x (k//2+1) (default ${p.kernelSize})` },
    { name: 'codebook-size', type: 'int', min: 2, metavar: 'K', help: 'number of code values K (default: the K of --model, else the largest code + 1)' },
    { name: 'classes', type: 'int', min: 1, metavar: 'N', help: 'number of classes with --labels (default: the largest label + 1)' },
    { name: 'limit', type: 'int', min: 1, metavar: 'N', help: 'train on the first N grids only' },
    { name: 'eval-every', type: 'int', min: 0, default: 500, metavar: 'N', help: 'score --test-codes every N steps (0: only at the end)' },
    checkpointEveryFlag,
    resumeFlag,
    backendFlag,
    distributedFlag,
    jsonFlag,
  ],
  examples: [
    'vqvae encode --model runs/fashion-ema --data fashion-mnist --out codes.npy --labels-out labels.npy',
    'vqvae prior train --codes codes.npy --labels labels.npy --model runs/fashion-ema --out runs/fashion-prior --steps 3000',
    'vqvae prior train --codes codes.npy --out runs/prior --steps 4000 --resume',
    'vqvae prior train --model runs/cifar-2 --level top --codes codes.top.npy --labels labels.npy --out runs/cifar-2-top',
    'vqvae prior train --model runs/cifar-2 --level bottom --codes codes.bottom.npy --top-codes codes.top.npy --labels labels.npy --out runs/cifar-2-bottom',
  ],
  async run(flags, ctx) {
    if (flags.testLabels !== undefined && flags.testCodes === undefined) throw new UsageError('--test-labels needs --test-codes');
    if (flags.kernelSize !== undefined && flags.kernelSize % 2 === 0) throw new UsageError(`--kernel-size must be odd, got "${flags.kernelSize}"`);
    if (flags.classes !== undefined && flags.labels === undefined) throw new UsageError('--classes needs --labels');
    if (flags.testCodes !== undefined && flags.labels !== undefined && flags.testLabels === undefined) {
      throw new UsageError('--test-labels is needed: the prior is class-conditional (--labels)');
    }
    if (flags.testLabels !== undefined && flags.labels === undefined) throw new UsageError('--test-labels without --labels: the prior is unconditional');
    // An audio model's codes [N, frames] (with --model that audio model): the 1-D prior (cli/audioPrior.ts).
    if (isAudioPriorRun(flags.codes, flags.model)) return runAudioPriorTrain(flags, PRIOR_DEFAULTS, ctx);
    if (flags.level !== undefined && flags.model === undefined && !flags.resume) throw new UsageError('--level needs --model: the two-level model the codes came from');
    if (flags.testTopCodes !== undefined && flags.testCodes === undefined) throw new UsageError('--test-top-codes needs --test-codes');
    if (flags.testCodes !== undefined && flags.topCodes !== undefined && flags.testTopCodes === undefined) {
      throw new UsageError('--test-top-codes is needed: the bottom prior scores --test-codes given their top codes');
    }
    const { codes, labels, testCodes, testLabels, model, limit, channels, layers, kernelSize, codebookSize, classes, level, topCodes, testTopCodes } = flags;
    const comm = openJob(flags);
    const options = { codes, labels, testCodes, testLabels, model, limit, channels, layers, kernelSize, codebookSize, classes, level, topCodes, testTopCodes };
    const job = distributedRun(comm, priorRun(options), () => [
      JSON.stringify(flags),
      ...[codes, labels, testCodes, testLabels, topCodes, testTopCodes].flatMap((file) => (file === undefined ? [] : [readFileSync(file)])),
    ]);
    return runTraining(job.plugin, { ...runOptions(flags, flags.out, PRIOR_DEFAULTS, ctx), communicator: job.communicator });
  },
});

export const priorCommand = defineGroup({
  name: 'prior',
  summary: 'train a PixelCNN prior over code grids',
  description: 'The prior p(z) over the VQ-VAE\'s code grids, from which `vqvae sample` draws new images.',
  subcommands: [priorTrainCommand],
  examples: ['vqvae prior train --codes codes.npy --labels labels.npy --model runs/fashion-ema --out runs/fashion-prior'],
});
