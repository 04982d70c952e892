/**
 * `vqvae train`: trains a VQ-VAE on a data set and writes the model directory,
 * with checkpoints at least once a minute, on Ctrl-C and at the end. The run
 * itself is the run engine (train/run.ts) with the VQ-VAE's plug-in
 * (train/vqvaeRun.ts); this file maps the flags.
 */
import { DEFAULT_MODEL_CONFIG, type ModelConfig } from '../model/config.js';
import type { ImageDataset } from '../data/dataset.js';
import { runTraining } from '../train/run.js';
import { modelLevels, savedLevelKinds } from '../model/hierarchicalFile.js';
import { hierarchicalRun } from '../train/hierarchicalRun.js';
import { vqvaeRun, type VqVaeRunOptions } from '../train/vqvaeRun.js';
import { defineCommand } from './command.js';
import { backendFlag, precisionFlag, checkDataFlag, DATA_HELP, defaultRunDir, limitFlag, loadData, parseResize, resizeFlag, checkpointEveryFlag, resumeFlag, runOptions } from './common.js';
import { distributedFlag, distributedRun, openJob } from './distributed.js';
import { jsonFlag, UsageError } from './flags.js';
import { MODEL_SIZE_FLAGS, modelSizeOverrides } from './modelFlags.js';
import { codeLevels, levelQuantizerSettings, QUANTIZER_FLAGS, quantizerSettings, TOP_QUANTIZER_FLAGS, TRAIN_DECAY_FLAG } from './quantizerFlags.js';
import { describeRecipe, TRAIN_QUANTIZER_DEFAULTS } from '../quantize/recipe.js';
import { AUDIO_TRAIN_FLAGS, checkDataKindFlags, runAudioTrain } from './audioTrain.js';

/** Training defaults of the reference configuration. */
export const DEFAULTS = { steps: 2000, batch: 128, lr: 2e-4, seed: 0 } as const;

export const trainCommand = defineCommand({
  name: 'train',
  summary: 'train a VQ-VAE on a data set',
  description:
    'Trains an encoder, a codebook and a decoder (van den Oord et al. 2017) with Adam on the ' +
    'reconstruction error divided by the data variance plus the VQ loss. Writes DIR/config.json and ' +
    'DIR/weights.safetensors at least once a minute, on Ctrl-C and at the end; --resume continues ' +
    'from the last of them. Evaluates on the test split every --eval-every steps. ' +
    `Without --quantizer the recipe is ${describeRecipe(TRAIN_QUANTIZER_DEFAULTS)} (chosen by npm run bench:codebook; other quantizer flags change it); ` +
    "with --quantizer (or --ema) it is that quantizer with the paper's settings plus the options given: the paper's recipe is --quantizer vq.",
  usage: '--data SPEC [--out DIR] [flags]',
  flags: [
    { name: 'data', type: 'string', required: true, metavar: 'SPEC', help: DATA_HELP },
    { name: 'out', type: 'string', metavar: 'DIR', help: 'model directory to write (default: runs/NAME, e.g. runs/mnist)' },
    { name: 'steps', type: 'int', min: 1, metavar: 'N', help: `total training steps (default ${DEFAULTS.steps}, or the saved run's with --resume)` },
    { name: 'epochs', type: 'number', min: 0, exclusiveMin: true, metavar: 'E', help: 'train for E passes over the data instead of --steps' },
    { name: 'batch', type: 'int', min: 1, metavar: 'N', help: `images per step (default ${DEFAULTS.batch}, or the saved run's with --resume)` },
    { name: 'lr', type: 'number', min: 0, exclusiveMin: true, help: `Adam learning rate (default ${DEFAULTS.lr}, or the saved run's)` },
    { name: 'seed', type: 'int', min: 0, help: `seed of weights and data order: the same seed repeats a run on one backend (default ${DEFAULTS.seed}, or the saved run's)` },
    ...MODEL_SIZE_FLAGS,
    { name: 'likelihood', type: 'choice', choices: ['mse', 'categorical'], help: "decoder output: mse (squared error, the default) or categorical (256-way softmax per pixel value, for bits per dimension)" },
    ...QUANTIZER_FLAGS,
    { name: 'top-codebook-size', type: 'int', min: 1, metavar: 'K', help: 'with --levels 2: the top level\'s number of codes (default: --codebook-size)' },
    { name: 'top-code-dim', type: 'int', min: 1, metavar: 'D', help: 'with --levels 2: the top level\'s code dimension (default: --code-dim)' },
    ...TOP_QUANTIZER_FLAGS,
    TRAIN_DECAY_FLAG,
    ...AUDIO_TRAIN_FLAGS,
    { name: 'eval-every', type: 'int', min: 0, default: 500, metavar: 'N', help: 'evaluate on the test split every N steps (0: only at the end)' },
    { name: 'eval-limit', type: 'int', min: 1, default: 1000, metavar: 'N', help: 'test images per evaluation' },
    checkpointEveryFlag,
    { ...limitFlag, help: 'train on the first N images only' },
    resizeFlag,
    resumeFlag,
    backendFlag,
    precisionFlag,
    distributedFlag,
    jsonFlag,
  ],
  examples: [
    'vqvae train --data mnist --steps 600',
    'mpirun -np 2 vqvae train --data fashion-mnist --distributed',
    'vqvae train --data fashion-mnist --out runs/fashion-ema --steps 5000 --ema',
    'vqvae train --data folder:../shared/datasets/cifar10-jpg --epochs 2',
    'vqvae train --data mnist --steps 1200 --resume',
    'vqvae train --data folder:../shared/datasets/cifar10-jpg --levels 2 --codebook-size 256 --top-codebook-size 64 --ema',
    'vqvae train --data fashion-mnist --levels 2 --quantizer ema --top-quantizer fsq --top-fsq-levels 8,5,5',
    'vqvae train --data fashion-mnist --levels 2 --quantizer rvq --depth 4 --top-quantizer rvq --top-depth 2',
    'vqvae train --data wav:/tmp/speech --out runs/speech --steps 2000',
  ],
  async run(flags, ctx) {
    checkDataFlag(flags.data);
    if (flags.steps !== undefined && flags.epochs !== undefined) {
      throw new UsageError('give either --steps or --epochs, not both');
    }
    if (checkDataKindFlags(flags)) return runAudioTrain(flags, flags.out ?? defaultRunDir(flags.data), ctx);
    const resize = parseResize(flags.resize);
    const model: Partial<ModelConfig> = { ...modelSizeOverrides(flags), likelihood: flags.likelihood };
    const out = flags.out ?? defaultRunDir(flags.data);
    // Resuming without --levels continues whatever the directory holds.
    const given = codeLevels(flags);
    const quantizerFlags = given.quantizerFlags;
    const levels = given.levels ?? (flags.resume ? modelLevels(out) : 1);
    const topOnly = (['topCodebookSize', 'topCodeDim', 'topQuantizer', 'topFsqLevels', 'topLookupDim', 'topDepth'] as const).find((k) => flags[k] !== undefined);
    if (levels === 1 && topOnly) throw new UsageError(`--${topOnly.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} needs --levels 2`);
    if (levels === 2 && flags.distributed) throw new UsageError('--levels 2 does not run distributed (--distributed): train it in one process');
    const comm = openJob(flags);
    if (levels === 2 && comm.size > 1) throw new UsageError(`--levels 2 does not run distributed (${comm.size} MPI ranks): train it in one process`);
    const codeDim = flags.codeDim ?? DEFAULT_MODEL_CONFIG.codeDim;
    const loaded: ImageDataset[] = [];
    const common: VqVaeRunOptions = {
      data: flags.data,
      async loadData(split, limit) {
        const data = await loadData(flags.data, { split, limit, resize }, ctx);
        loaded.push(data);
        return data;
      },
      limit: flags.limit,
      evalLimit: flags.evalLimit,
      resize,
      epochs: flags.epochs,
      model,
      quantizer: levels === 2 ? {} : quantizerSettings(quantizerFlags, codeDim),
    };
    if (levels === 2) {
      const perLevel = levelQuantizerSettings(quantizerFlags, { bottom: codeDim, top: flags.topCodeDim ?? codeDim }, flags.resume ? savedLevelKinds(out) : undefined);
      const topLevels = perLevel.top.levels;
      if (topLevels !== undefined && flags.topCodebookSize !== undefined && flags.topCodebookSize !== topLevels.reduce((a, b) => a * b, 1)) {
        throw new UsageError(`--top-codebook-size ${flags.topCodebookSize} is not the product of the top level's FSQ levels ${topLevels.join(',')}: leave it out`);
      }
      const options = runOptions(flags, out, DEFAULTS, ctx);
      return runTraining(hierarchicalRun({
        ...common,
        quantizer: perLevel.bottom,
        top: { codebookSize: flags.topCodebookSize, codeDim: flags.topCodeDim },
        topQuantizer: perLevel.top,
        topQuantizerFlags: perLevel.topFlags,
      }), options);
    }
    const options = runOptions(flags, out, DEFAULTS, ctx);
    // Every rank must run the same flags on the same images.
    const job = distributedRun(comm, vqvaeRun(common), () => [JSON.stringify(flags), ...loaded.flatMap((d) => [d.images, d.labels])]);
    return runTraining(job.plugin, { ...options, communicator: job.communicator });
  },
});
