/**
 * `vqvae train`: trains a VQ-VAE on a data set and writes the model directory,
 * with checkpoints at least once a minute, on Ctrl-C and at the end.
 */
import { accessSync, constants, existsSync } from 'node:fs';
import { makeDirectory } from '../io/directory.js';
import { join } from 'node:path';
import type { BackendChoice } from '../backend/select.js';
import type { ImageDataset } from '../data/dataset.js';
import { UserError } from '../errors.js';
import { checkpointExists } from '../io/checkpoint.js';
import { loadModel, saveModel, type TrainingState } from '../model/checkpoint.js';
import { makeModelConfig, type ModelConfig } from '../model/config.js';
import { VqVae } from '../model/vqvae.js';
import { Adam } from '../train/adam.js';
import { pixelVariance } from '../train/batches.js';
import { evaluate } from '../train/evaluate.js';
import { train } from '../train/trainer.js';
import { takeSnapshot } from '../report/snapshot.js';
import { REPORT_FILE, TrainingReport } from '../report/trainingReport.js';
import { defineCommand } from './command.js';
import { backendFlag, checkDataFitsModel, checkDataFlag, DATA_HELP, defaultRunDir, info, limitFlag, loadData, parseResize, resizeFlag, useBackend } from './common.js';
import { jsonFlag, UsageError } from './flags.js';
import { decayFlag, MODEL_SIZE_FLAGS, modelSizeOverrides } from './modelFlags.js';

/** Training defaults of the reference configuration (DEFAULT_MODEL_CONFIG in src/model/config.ts). */
export const DEFAULTS = { steps: 2000, batch: 128, lr: 2e-4, seed: 0 } as const;

/** Flags that set the model; given with --resume they must match the saved model. */
const MODEL_FLAGS = {
  hidden: 'hidden',
  resHidden: 'res-hidden',
  resBlocks: 'res-blocks',
  codebookSize: 'codebook-size',
  codeDim: 'code-dim',
  downsamples: 'downsamples',
  beta: 'beta',
  decay: 'decay',
  likelihood: 'likelihood',
} as const;

export const trainCommand = defineCommand({
  name: 'train',
  summary: 'train a VQ-VAE on a data set',
  description:
    'Trains an encoder, a codebook and a decoder (van den Oord et al. 2017) with Adam on the ' +
    'reconstruction error divided by the data variance plus the VQ loss. Writes DIR/config.json and ' +
    'DIR/weights.safetensors at least once a minute, on Ctrl-C and at the end; --resume continues ' +
    'from the last of them. Evaluates on the test split every --eval-every steps.',
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
    { name: 'ema', type: 'boolean', help: 'learn the codebook by exponential moving averages instead of its loss' },
    decayFlag,
    { name: 'eval-every', type: 'int', min: 0, default: 500, metavar: 'N', help: 'evaluate on the test split every N steps (0: only at the end)' },
    { name: 'eval-limit', type: 'int', min: 1, default: 1000, metavar: 'N', help: 'test images per evaluation' },
    { name: 'checkpoint-every', type: 'number', min: 0, default: 60, metavar: 'SECONDS', help: 'save at least this often (0: only at the end and on Ctrl-C)' },
    { ...limitFlag, help: 'train on the first N images only' },
    resizeFlag,
    { name: 'resume', type: 'boolean', help: 'continue the run saved in --out from its last checkpoint' },
    backendFlag,
    jsonFlag,
  ],
  examples: [
    'vqvae train --data mnist --steps 600',
    'vqvae train --data fashion-mnist --out runs/fashion-ema --steps 5000 --ema',
    'vqvae train --data folder:../shared/datasets/cifar10-jpg --epochs 2',
    'vqvae train --data mnist --steps 1200 --resume',
  ],
  async run(flags, ctx) {
    checkDataFlag(flags.data);
    const out = flags.out ?? defaultRunDir(flags.data);
    if (flags.steps !== undefined && flags.epochs !== undefined) {
      throw new UsageError('give either --steps or --epochs, not both');
    }
    const resize = parseResize(flags.resize);
    const modelOverrides: Partial<ModelConfig> = { ...modelSizeOverrides(flags), likelihood: flags.likelihood };
    if (flags.resume && !checkpointExists(out)) {
      throw new UserError(`--resume: no model to resume in ${out} (config.json not found)`);
    }
    if (!flags.resume && checkpointExists(out)) {
      throw new UserError(`${out} already holds a model; pass --resume to continue it, or choose another --out`);
    }
    if (!flags.resume && existsSync(join(out, 'weights.safetensors'))) {
      throw new UserError(`${out} holds weights.safetensors but no config.json; choose another --out`);
    }

    const backend = await useBackend(flags.backend as BackendChoice, ctx);
    const saved = flags.resume ? loadModel(out) : undefined;
    const state = saved?.training;
    if (saved && !state) throw new UserError(`--resume: ${out} holds no training state to resume`);
    if (saved) {
      for (const [key, flag] of Object.entries(MODEL_FLAGS) as [keyof typeof MODEL_FLAGS, string][]) {
        const given = modelOverrides[key];
        if (given !== undefined && given !== saved.model[key]) {
          throw new UserError(`--${flag} ${given} does not match the model in ${out} (${flag} ${saved.model[key]}); leave it out to resume`);
        }
      }
      if (flags.ema && saved.model.quantizer !== 'ema') {
        throw new UserError(`--ema does not match the model in ${out}, whose quantizer is "${saved.model.quantizer}"`);
      }
    }
    const batch = flags.batch ?? state?.batch ?? DEFAULTS.batch;
    const lr = flags.lr ?? state?.learningRate ?? DEFAULTS.lr;
    const seed = flags.seed ?? state?.seed ?? DEFAULTS.seed;
    if (state && (batch !== state.batch || seed !== state.seed)) {
      ctx.warn(`resuming with --batch ${batch} --seed ${seed} (the run began with --batch ${state.batch} --seed ${state.seed}): the data order differs from an uninterrupted run`);
    }
    if (state && state.data !== flags.data) ctx.warn(`resuming on ${flags.data}; the run began on ${state.data}`);

    const data = await loadData(flags.data, { split: 'train', limit: flags.limit, resize }, ctx);
    let testData: ImageDataset | undefined;
    try {
      testData = await loadData(flags.data, { split: 'test', limit: flags.evalLimit, resize }, ctx);
    } catch (error) {
      if (!(error instanceof UserError)) throw error;
      ctx.warn(`no test split to evaluate on (${error.message})`);
    }

    let model: VqVae;
    const optimizer = new Adam({ learningRate: lr });
    let startStep = 0;
    let previousSeconds = 0;
    let dataVariance = pixelVariance(data);
    if (!(dataVariance > 0)) {
      ctx.warn(`the training images have no variance (every pixel value is the same); the reconstruction loss is not scaled`);
      dataVariance = 1;
    }
    let totalSteps: number;
    if (saved && state) {
      model = saved.vqvae;
      startStep = state.step;
      previousSeconds = state.trainingSeconds;
      dataVariance = state.dataVariance;
      optimizer.load(saved.extra, state.step);
      totalSteps = flags.steps ?? (flags.epochs !== undefined ? epochsToSteps(flags.epochs, data.count, batch) : state.totalSteps);
      info(ctx, `resuming ${out} from step ${startStep} (of ${totalSteps})`);
    } else {
      const config = makeModelConfig({
        ...modelOverrides,
        quantizer: flags.ema ? 'ema' : 'vq',
        inputChannels: data.channels,
        imageHeight: data.height,
        imageWidth: data.width,
      });
      model = new VqVae(config, seed);
      totalSteps = flags.steps ?? (flags.epochs !== undefined ? epochsToSteps(flags.epochs, data.count, batch) : DEFAULTS.steps);
    }
    checkDataFitsModel(data, model.config, out);
    if (testData) checkDataFitsModel(testData, model.config, out);

    const c = model.config;
    info(
      ctx,
      `data: ${data.spec}, ${data.count} images ${data.height}x${data.width}x${data.channels}; ` +
        `model: hidden ${c.hidden}, K ${c.codebookSize}, D ${c.codeDim}, ${c.quantizer === 'ema' ? 'EMA codebook' : 'VQ codebook'}, ` +
        `codes ${model.codeGrid.join('x')}; batch ${batch}, lr ${lr}`,
    );
    if (startStep >= totalSteps) {
      info(ctx, `${out} is already at step ${startStep} of ${totalSteps}; pass a larger --steps to train further`);
      ctx.printJson({ steps: startStep, images_per_s: 0, final_loss: null, backend });
      return 0;
    }

    let lastLoss: number | undefined;
    let runSeconds = 0;
    const trainingState = (step: number): TrainingState => ({
      data: flags.data,
      step,
      totalSteps,
      batch: batch,
      learningRate: lr,
      seed: seed,
      dataVariance,
      backend,
      trainingSeconds: previousSeconds + runSeconds,
      ...(resize ? { resize } : {}),
      ...(lastLoss !== undefined ? { loss: lastLoss } : {}),
    });
    // report.html: curves, reconstructions and code usage, rewritten at each evaluation and save.
    const report = TrainingReport.open(out, `vqvae train: ${out}`, {
      data: `${data.spec} (${data.count} training images, ${data.height}x${data.width}x${data.channels})`,
      model: `hidden ${c.hidden}, residual ${c.resBlocks}x${c.resHidden}, K ${c.codebookSize}, D ${c.codeDim}, ${c.quantizer.toUpperCase()}, codes ${model.codeGrid.join('x')}`,
      training: `batch ${batch}, lr ${lr}, seed ${seed}, ${totalSteps} steps, backend ${backend}`,
    }, flags.resume);
    let savedStep: number | undefined = flags.resume ? startStep : undefined;
    const save = (step: number) => {
      saveModel(out, model, trainingState(step), optimizer);
      savedStep = step;
      report.write(out);
    };

    // Fail on an unusable --out now, not at the first save a minute into training.
    makeDirectory(out);
    accessSync(out, constants.W_OK);

    const progress = ctx.progress({ total: totalSteps, label: 'step' });
    progress.update(startStep);
    const result = await train({
      model,
      optimizer,
      data,
      evalData: testData,
      evalLimit: flags.evalLimit,
      evalEvery: flags.evalEvery,
      batch: batch,
      totalSteps,
      startStep,
      seed: seed,
      dataVariance,
      checkpointEverySeconds: flags.checkpointEvery,
      save,
      signal: ctx.interruptSignal(),
      onStep(s) {
        lastLoss = s.loss;
        report.addStep({ step: s.step, loss: s.loss, recon: s.reconstructionLoss, perplexity: s.perplexity });
        runSeconds = ((s.step - startStep) * batch) / s.imagesPerSecond;
        progress.update(s.step, {
          loss: s.loss,
          recon: s.reconstructionLoss,
          ppl: s.perplexity,
          'img/s': Math.round(s.imagesPerSecond),
        });
      },
      onEval(step, m) {
        progress.log(
          `step ${step}: test mse ${m.mse.toFixed(5)}, psnr ${m.psnrDb.toFixed(2)} dB, perplexity ${m.perplexity.toFixed(1)}, codes used ${m.codesUsed}`,
        );
        if (testData) report.addSnapshot(takeSnapshot(model, testData, step, m));
        report.write(out);
      },
    });
    progress.stop();

    if (result.stopReason === 'not-finite') {
      const kept = savedStep !== undefined ? `the last good checkpoint (step ${savedStep}) is kept in ${out}` : 'no checkpoint was written';
      throw new UserError(`the loss became ${result.badLoss} at step ${result.badStep}; training stopped and ${kept}; try a lower --lr`);
    }
    if (testData && result.stopReason !== 'interrupted') {
      const m = evaluate(model, testData);
      info(ctx, `test (${m.images} images): mse ${m.mse.toFixed(5)}, psnr ${m.psnrDb.toFixed(2)} dB, perplexity ${m.perplexity.toFixed(1)}, codes used ${m.codesUsed}`);
      report.addSnapshot(takeSnapshot(model, testData, result.steps, m));
    }
    if (result.stepsRun > 0) {
      report.write(out);
      info(ctx, `report: ${join(out, REPORT_FILE)} (open it in a browser)`);
    }
    const rate = Math.round(result.imagesPerSecond);
    if (result.stopReason === 'interrupted') {
      info(ctx, `interrupted at step ${result.steps}: saved ${out}; continue with --resume`);
    } else {
      info(ctx, `trained to step ${result.steps} (${result.stepsRun} steps, ${rate} images/s); final loss ${result.finalLoss.toFixed(5)}; saved ${out}`);
    }
    ctx.printJson({
      steps: result.steps,
      images_per_s: result.imagesPerSecond,
      final_loss: Number.isFinite(result.finalLoss) ? result.finalLoss : null,
      backend,
    });
    model.dispose();
    optimizer.dispose();
    return result.stopReason === 'interrupted' ? 130 : 0;
  },
});

function epochsToSteps(epochs: number, count: number, batch: number): number {
  // The sampler takes floor(count / batch) full batches per epoch.
  return Math.max(1, Math.round(epochs * Math.floor(count / batch)));
}
