/**
 * `vqvae prior train`: trains a Gated PixelCNN prior over the code grids
 * that `vqvae encode` writes, optionally conditioned on their labels, with
 * the checkpoints, Ctrl-C, --resume and bad-input behaviour of `vqvae train`.
 */
import { accessSync, constants, existsSync } from 'node:fs';
import { makeDirectory } from '../io/directory.js';
import { join } from 'node:path';
import type { BackendChoice } from '../backend/select.js';
import { UserError } from '../errors.js';
import { checkpointExists } from '../io/checkpoint.js';
import { loadModel } from '../model/checkpoint.js';
import { codeGridSize } from '../model/config.js';
import { loadPriorDirectory, savePrior, type PriorTrainingState } from '../prior/checkpoint.js';
import type { CodeSet } from '../prior/codeSet.js';
import { maxOf, readCodeSet } from '../prior/codeFile.js';
import { DEFAULT_PRIOR_CONFIG, makePriorConfig, type PriorConfig } from '../prior/config.js';
import { priorNll } from '../prior/nll.js';
import { PixelCnn } from '../prior/pixelcnn.js';
import { trainPrior } from '../prior/train.js';
import { Adam } from '../train/adam.js';
import { defineCommand, defineGroup } from './command.js';
import { backendFlag, info, useBackend } from './common.js';
import { jsonFlag, UsageError } from './flags.js';

/** Training defaults of the prior. */
export const PRIOR_DEFAULTS = { steps: 2000, batch: 64, lr: 1e-3, seed: 0 } as const;
const p = DEFAULT_PRIOR_CONFIG;

/** Flags that set the prior's shape; with --resume they must match the saved prior. */
const PRIOR_FLAGS = { channels: 'channels', layers: 'layers', kernelSize: 'kernel-size', codebookSize: 'codebook-size', numClasses: 'classes' } as const;

export const priorTrainCommand = defineCommand({
  name: 'train',
  summary: 'train a PixelCNN prior over code grids',
  description:
    'Trains a Gated PixelCNN (van den Oord et al. 2016) by maximum likelihood on code grids written by ' +
    '`vqvae encode` (int32 [N, h, w]); with --labels it is conditioned on the class. K is --codebook-size, ' +
    'or the K of --model, or else the largest code + 1. Writes DIR/config.json and DIR/weights.safetensors ' +
    'at least once a minute, on Ctrl-C and at the end; --resume continues from the last of them. ' +
    'Losses are negative log-likelihoods in bits per code; a uniform prior costs log2(K).',
  usage: '--codes FILE.npy [--labels FILE.npy] --out DIR [flags]',
  flags: [
    { name: 'codes', type: 'string', required: true, metavar: 'FILE.npy', help: 'training code grids [N, h, w] from `vqvae encode`' },
    { name: 'labels', type: 'string', metavar: 'FILE.npy', help: 'class of each grid [N] (`vqvae encode --labels-out`): a class-conditional prior' },
    { name: 'out', type: 'string', required: true, metavar: 'DIR', help: 'prior directory to write' },
    { name: 'test-codes', type: 'string', metavar: 'FILE.npy', help: 'held-out code grids, scored every --eval-every steps and at the end' },
    { name: 'test-labels', type: 'string', metavar: 'FILE.npy', help: 'their labels (needed for a class-conditional prior)' },
    { name: 'model', type: 'string', metavar: 'DIR', help: 'the VQ-VAE the codes came from: takes its K and checks the grid size' },
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
    { name: 'checkpoint-every', type: 'number', min: 0, default: 60, metavar: 'SECONDS', help: 'save at least this often (0: only at the end and on Ctrl-C)' },
    { name: 'resume', type: 'boolean', help: 'continue the run saved in --out from its last checkpoint' },
    backendFlag,
    jsonFlag,
  ],
  examples: [
    'vqvae encode --model runs/fashion-ema --data fashion-mnist --out codes.npy --labels-out labels.npy',
    'vqvae prior train --codes codes.npy --labels labels.npy --model runs/fashion-ema --out runs/fashion-prior --steps 3000',
    'vqvae prior train --codes codes.npy --out runs/prior --steps 4000 --resume',
  ],
  async run(flags, ctx) {
    const out = flags.out;
    if (flags.testLabels !== undefined && flags.testCodes === undefined) throw new UsageError('--test-labels needs --test-codes');
    if (flags.kernelSize !== undefined && flags.kernelSize % 2 === 0) throw new UsageError(`--kernel-size must be odd, got "${flags.kernelSize}"`);
    if (flags.classes !== undefined && flags.labels === undefined) throw new UsageError('--classes needs --labels');
    if (flags.resume && !checkpointExists(out)) throw new UserError(`--resume: no prior to resume in ${out} (config.json not found)`);
    if (!flags.resume && checkpointExists(out)) {
      throw new UserError(`${out} already holds a model; pass --resume to continue it, or choose another --out`);
    }
    if (!flags.resume && existsSync(join(out, 'weights.safetensors'))) {
      throw new UserError(`${out} holds weights.safetensors but no config.json; choose another --out`);
    }

    const backend = await useBackend(flags.backend as BackendChoice, ctx);
    // The VQ-VAE's K and grid, if given.
    let modelK: number | undefined;
    let modelGrid: [number, number] | undefined;
    if (flags.model !== undefined) {
      const model = loadModel(flags.model);
      modelK = model.model.codebookSize;
      modelGrid = codeGridSize(model.model);
      model.vqvae.dispose();
    }
    if (flags.codebookSize !== undefined && modelK !== undefined && flags.codebookSize !== modelK) {
      throw new UserError(`--codebook-size ${flags.codebookSize} does not match the model in ${flags.model} (K ${modelK})`);
    }

    const saved = flags.resume ? await loadPriorDirectory(out) : undefined;
    const state = saved?.training;
    if (saved && !state) throw new UserError(`--resume: ${out} holds no training state to resume`);
    const kGiven = flags.codebookSize ?? modelK ?? saved?.prior.codebookSize;
    const data = readCodeSet(flags.codes, flags.labels, { codebookSize: kGiven, limit: flags.limit });
    if (modelGrid && (modelGrid[0] !== data.height || modelGrid[1] !== data.width)) {
      throw new UserError(`${flags.codes}: grids are ${data.height}x${data.width} but the model in ${flags.model} makes ${modelGrid.join('x')} codes`);
    }
    const K = kGiven ?? Math.max(2, maxOf(data.codes) + 1);
    if (kGiven === undefined) info(ctx, `K = ${K}: the largest code in ${flags.codes} + 1 (give --model or --codebook-size to set it)`);
    const numClasses = data.labels ? (flags.classes ?? saved?.prior.numClasses ?? maxOf(data.labels) + 1) : 0;
    if (data.labels && maxOf(data.labels) >= numClasses) {
      throw new UserError(`${flags.labels}: label ${maxOf(data.labels)} is out of range for ${numClasses} classes (0..${numClasses - 1})`);
    }
    const requested: Partial<PriorConfig> = {
      channels: flags.channels,
      layers: flags.layers,
      kernelSize: flags.kernelSize,
      codebookSize: kGiven,
      numClasses: flags.labels !== undefined ? numClasses : 0,
    };
    if (saved) {
      for (const [key, flag] of Object.entries(PRIOR_FLAGS) as [keyof typeof PRIOR_FLAGS, string][]) {
        const given = requested[key];
        if (given !== undefined && given !== saved.prior[key]) {
          const what = key === 'numClasses' ? (given === 0 ? 'no --labels' : `--labels with ${given} classes`) : `--${flag} ${given}`;
          throw new UserError(`${what} does not match the prior in ${out} (${flag} ${saved.prior[key]}); leave it out to resume`);
        }
      }
      if (saved.prior.height !== data.height || saved.prior.width !== data.width) {
        throw new UserError(`${flags.codes}: grids are ${data.height}x${data.width} but the prior in ${out} models ${saved.prior.height}x${saved.prior.width}`);
      }
    }
    let testData: CodeSet | undefined;
    if (flags.testCodes !== undefined) {
      testData = readCodeSet(flags.testCodes, flags.testLabels, { codebookSize: K });
      if (testData.height !== data.height || testData.width !== data.width) {
        throw new UserError(`${flags.testCodes}: grids are ${testData.height}x${testData.width}, the training grids ${data.height}x${data.width}`);
      }
      if (numClasses > 0 && !testData.labels) throw new UsageError('--test-labels is needed: the prior is class-conditional (--labels)');
      if (numClasses === 0 && testData.labels) throw new UsageError('--test-labels without --labels: the prior is unconditional');
      if (testData.labels && maxOf(testData.labels) >= numClasses) {
        throw new UserError(`${flags.testLabels}: label ${maxOf(testData.labels)} is out of range for ${numClasses} classes (0..${numClasses - 1})`);
      }
    }

    const batch = flags.batch ?? state?.batch ?? PRIOR_DEFAULTS.batch;
    const lr = flags.lr ?? state?.learningRate ?? PRIOR_DEFAULTS.lr;
    const seed = flags.seed ?? state?.seed ?? PRIOR_DEFAULTS.seed;
    if (state && (batch !== state.batch || seed !== state.seed)) {
      ctx.warn(`resuming with --batch ${batch} --seed ${seed} (the run began with --batch ${state.batch} --seed ${state.seed}): the data order differs from an uninterrupted run`);
    }
    if (state && state.codes !== flags.codes) ctx.warn(`resuming on ${flags.codes}; the run began on ${state.codes}`);
    if (batch > data.count) throw new UserError(`--batch ${batch} is larger than the data: ${flags.codes} has ${data.count} grids`);

    let prior: PixelCnn;
    const optimizer = new Adam({ learningRate: lr });
    let startStep = 0;
    let previousSeconds = 0;
    let totalSteps: number;
    if (saved && state) {
      prior = saved.pixelCnn;
      startStep = state.step;
      previousSeconds = state.trainingSeconds;
      optimizer.load(saved.extra, state.step);
      totalSteps = flags.steps ?? state.totalSteps;
      info(ctx, `resuming ${out} from step ${startStep} (of ${totalSteps})`);
    } else {
      prior = new PixelCnn(makePriorConfig({ ...requested, codebookSize: K, height: data.height, width: data.width }), seed);
      totalSteps = flags.steps ?? PRIOR_DEFAULTS.steps;
    }
    const c = prior.config;
    info(
      ctx,
      `codes: ${flags.codes}, ${data.count} grids ${data.height}x${data.width}, K ${c.codebookSize} (uniform: ${Math.log2(c.codebookSize).toFixed(3)} bits per code)` +
        `${c.numClasses > 0 ? `, ${c.numClasses} classes` : ''}; prior: channels ${c.channels}, ${c.layers + 1} gated layers, kernel ${c.kernelSize}; batch ${batch}, lr ${lr}`,
    );
    if (startStep >= totalSteps) {
      info(ctx, `${out} is already at step ${startStep} of ${totalSteps}; pass a larger --steps to train further`);
      ctx.printJson({ steps: startStep, grids_per_s: 0, final_loss: null, final_bits_per_code: null, backend });
      prior.dispose();
      return 0;
    }

    let lastLoss: number | undefined;
    let runSeconds = 0;
    const trainingState = (step: number): PriorTrainingState => ({
      codes: flags.codes,
      ...(flags.labels !== undefined ? { labels: flags.labels } : state?.labels !== undefined ? { labels: state.labels } : {}),
      step,
      totalSteps,
      batch,
      learningRate: lr,
      seed,
      backend,
      trainingSeconds: previousSeconds + runSeconds,
      ...(lastLoss !== undefined ? { loss: lastLoss } : {}),
    });
    let savedStep: number | undefined = flags.resume ? startStep : undefined;
    const save = async (step: number) => {
      await savePrior(out, prior, trainingState(step), optimizer);
      savedStep = step;
    };
    makeDirectory(out);
    accessSync(out, constants.W_OK);

    const progress = ctx.progress({ total: totalSteps, label: 'step' });
    progress.update(startStep);
    const result = await trainPrior({
      prior,
      optimizer,
      data,
      evalData: testData,
      evalEvery: flags.evalEvery,
      batch,
      totalSteps,
      startStep,
      seed,
      checkpointEverySeconds: flags.checkpointEvery,
      save,
      signal: ctx.interruptSignal(),
      onStep(s) {
        lastLoss = s.loss;
        runSeconds = ((s.step - startStep) * batch) / s.gridsPerSecond;
        progress.update(s.step, { bits: s.bitsPerCode, 'grids/s': Math.round(s.gridsPerSecond) });
      },
      onEval(step, m) {
        progress.log(`step ${step}: test NLL ${m.bitsPerCode.toFixed(4)} bits per code`);
      },
    });
    progress.stop();

    if (result.stopReason === 'not-finite') {
      const kept = savedStep !== undefined ? `the last good checkpoint (step ${savedStep}) is kept in ${out}` : 'no checkpoint was written';
      throw new UserError(`the loss became ${result.badLoss} at step ${result.badStep}; training stopped and ${kept}; try a lower --lr`);
    }
    let testBits: number | undefined;
    if (testData && result.stopReason !== 'interrupted') {
      const m = priorNll(prior, testData);
      testBits = m.bitsPerCode;
      info(ctx, `test (${m.grids} grids): NLL ${m.bitsPerCode.toFixed(4)} bits per code (uniform: ${Math.log2(c.codebookSize).toFixed(3)})`);
    }
    const rate = Math.round(result.gridsPerSecond);
    if (result.stopReason === 'interrupted') {
      info(ctx, `interrupted at step ${result.steps}: saved ${out}; continue with --resume`);
    } else {
      info(ctx, `trained to step ${result.steps} (${result.stepsRun} steps, ${rate} grids/s); final loss ${(result.finalLoss / Math.LN2).toFixed(4)} bits per code; saved ${out}`);
    }
    const finite = Number.isFinite(result.finalLoss);
    ctx.printJson({
      steps: result.steps,
      grids_per_s: result.gridsPerSecond,
      final_loss: finite ? result.finalLoss : null,
      final_bits_per_code: finite ? result.finalLoss / Math.LN2 : null,
      ...(testBits !== undefined ? { test_bits_per_code: testBits } : {}),
      backend,
    });
    prior.dispose();
    optimizer.dispose();
    return result.stopReason === 'interrupted' ? 130 : 0;
  },
});

export const priorCommand = defineGroup({
  name: 'prior',
  summary: 'train a PixelCNN prior over code grids',
  description: 'The prior p(z) over the VQ-VAE\'s code grids, from which `vqvae sample` draws new images.',
  subcommands: [priorTrainCommand],
  examples: ['vqvae prior train --codes codes.npy --labels labels.npy --model runs/fashion-ema --out runs/fashion-prior'],
});
