/**
 * The VQ-VAE's plug-in for the run engine (run.ts), as `vqvae train` uses it:
 * on resume, the model flags must match the saved model; the training and
 * test splits are loaded through the caller (so the CLI shows its progress),
 * the model is created (or restored), and saving writes the model directory
 * (model/checkpoint.ts) and its report.html (report/) with curves,
 * reconstructions and code usage, rewritten at each evaluation and save.
 */
import { join } from 'node:path';
import type { ImageDataset, Split } from '../data/dataset.js';
import { UserError } from '../errors.js';
import { loadModel, saveModel, type LoadedModel, type TrainingState } from '../model/checkpoint.js';
import { checkDataFitsModel, makeModelConfig, type ModelConfig } from '../model/config.js';
import { VqVae } from '../model/vqvae.js';
import { checkResumeQuantizer, describeQuantizer, withTrainDefaults } from '../quantize/recipe.js';
import { takeSnapshot } from '../report/snapshot.js';
import { REPORT_FILE, TrainingReport } from '../report/trainingReport.js';
import { BatchSampler, pixelVariance } from './batches.js';
import { evaluate, type EvalMetrics } from './evaluate.js';
import { checkBatchDivides, checkFlagsMatch, IMAGE_MODEL_RUN, type RunOutput, type RunPlugin, type RunSession, type RunSettings, type RunState } from './run.js';
import { vqvaeStepper, type VqVaeComputedStep } from './step.js';

/** Config fields set by flags of `vqvae train`, with those flags' names; given with --resume they must match. */
export const VQVAE_MODEL_FLAGS = {
  hidden: 'hidden',
  resHidden: 'res-hidden',
  resBlocks: 'res-blocks',
  codebookSize: 'codebook-size',
  codeDim: 'code-dim',
  downsamples: 'downsamples',
  beta: 'beta',
  decay: 'decay',
  likelihood: 'likelihood',
} as const satisfies Partial<Record<keyof ModelConfig, string>>;

export interface VqVaeRunOptions {
  /** The data SPEC (recorded in the training state). */
  data: string;
  /** Loads a split of it: `limit` images at most. */
  loadData(split: Split, limit: number | undefined): Promise<ImageDataset>;
  /** Training images to use (all if undefined). */
  limit?: number;
  /** Test images per evaluation. */
  evalLimit: number;
  resize?: [number, number];
  /** Train for this many passes over the data instead of a step count. */
  epochs?: number;
  /** Config fields given (undefined: the default, or the saved model's). */
  model: Partial<ModelConfig>;
  /** Quantizer fields given by flags; quantize/recipe.ts gives a new model the default recipe for the rest. */
  quantizer: Partial<ModelConfig>;
}

/** Steps of `epochs` passes: the sampler takes floor(count / batch) full batches per epoch. */
export function epochsToSteps(epochs: number, count: number, batch: number): number {
  return Math.max(1, Math.round(epochs * Math.floor(count / batch)));
}

/** ", restarted N dead codes ..." when the model restarts dead codes (quantize/restart.ts). */
function restartNote(model: VqVae): string {
  if (!(model.config.restartDead > 0)) return '';
  return `, restarted ${model.quantizer.takeRestarted?.() ?? 0} dead codes since the last evaluation`;
}

function metricsLine(m: EvalMetrics): string {
  return `mse ${m.mse.toFixed(5)}, psnr ${m.psnrDb.toFixed(2)} dB, perplexity ${m.perplexity.toFixed(1)}, codes used ${m.codesUsed}`;
}

/**
 * The training split, the test split (or a warning without one) and var(x)
 * of the training pixels (on resume the saved one): what every model's run
 * opens with.
 */
export async function openRunData(
  options: VqVaeRunOptions,
  output: RunOutput,
  saved: TrainingState | undefined,
): Promise<{ data: ImageDataset; testData?: ImageDataset; dataVariance: number }> {
  const data = await options.loadData('train', options.limit);
  let testData: ImageDataset | undefined;
  try {
    testData = await options.loadData('test', options.evalLimit);
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    output.warn(`no test split to evaluate on (${error.message})`);
  }
  let dataVariance = pixelVariance(data);
  if (!(dataVariance > 0)) {
    output.warn(`the training images have no variance (every pixel value is the same); the reconstruction loss is not scaled`);
    dataVariance = 1;
  }
  if (saved) dataVariance = saved.dataVariance;
  return { data, testData, dataVariance };
}

/** The training state a model directory records, from the engine's common state. */
/** report.html of an image run (carrying on the saved curve and snapshots when resumed); the one- and two-level runs share it. */
export function openRunReport(
  title: string, out: string, data: ImageDataset, modelLine: string, settings: RunSettings, totalSteps: number, backend: string, resumed: boolean,
): TrainingReport {
  return TrainingReport.open(out, title, {
    data: `${data.spec} (${data.count} training images, ${data.height}x${data.width}x${data.channels})`,
    model: modelLine,
    training: `batch ${settings.batch}, lr ${settings.learningRate}, seed ${settings.seed}, ${totalSteps} steps, backend ${backend}`,
  }, resumed);
}

export function trainingState(options: VqVaeRunOptions, s: RunState, dataVariance: number): TrainingState {
  return {
    data: options.data,
    step: s.step,
    totalSteps: s.totalSteps,
    batch: s.batch,
    learningRate: s.learningRate,
    seed: s.seed,
    dataVariance,
    backend: s.backend,
    trainingSeconds: s.trainingSeconds,
    ...(options.resize ? { resize: options.resize } : {}),
    ...(s.loss !== undefined ? { loss: s.loss } : {}),
  };
}

export function vqvaeRun(options: VqVaeRunOptions): RunPlugin<TrainingState, LoadedModel, VqVaeComputedStep> {
  return {
    ...IMAGE_MODEL_RUN,
    source: options.data,
    load: loadModel,
    async open({ out, saved, settings, backend, output, communicator }) {
      if (saved) {
        checkFlagsMatch(options.model, saved.model, VQVAE_MODEL_FLAGS, `model in ${out}`);
        checkResumeQuantizer(options.quantizer, saved.model, out);
      }
      const { data, testData, dataVariance } = await openRunData(options, output, saved?.training);
      const model =
        saved?.vqvae ??
        new VqVae(
          makeModelConfig({
            ...options.model,
            ...withTrainDefaults({ ...options.quantizer, decay: options.model.decay }),
            inputChannels: data.channels,
            imageHeight: data.height,
            imageWidth: data.width,
          }),
          settings.seed,
        );
      checkDataFitsModel(data, model.config, out);
      if (testData) checkDataFitsModel(testData, model.config, out);
      checkBatchDivides(settings.batch, communicator.size);
      const steps = options.epochs !== undefined ? epochsToSteps(options.epochs, data.count, settings.batch) : undefined;

      const c = model.config;
      const modelLine = `hidden ${c.hidden}, residual ${c.resBlocks}x${c.resHidden}, K ${c.codebookSize}, D ${c.codeDim}, ${describeQuantizer(c)}, codes ${model.codeGrid.join('x')}`;
      let report: TrainingReport | undefined;
      const session: RunSession<TrainingState, VqVaeComputedStep> = {
        ...vqvaeStepper(model, new BatchSampler(data, settings.batch, settings.seed, [communicator.rank, communicator.size]), dataVariance, communicator),
        describe: ({ batch, learningRate }) =>
          `data: ${data.spec}, ${data.count} images ${data.height}x${data.width}x${data.channels}; ` +
          `model: hidden ${c.hidden}, K ${c.codebookSize}, D ${c.codeDim}, ${describeQuantizer(c)}, ` +
          `codes ${model.codeGrid.join('x')}; batch ${batch}, lr ${learningRate}`,
        start(totalSteps) {
          if (communicator.rank !== 0) return; // rank 0 alone writes
          report = openRunReport(`vqvae train: ${out}`, out, data, modelLine, settings, totalSteps, backend, saved !== undefined);
        },
        state: (s) => trainingState(options, s, dataVariance),
        save(dir, state, optimizer) {
          saveModel(dir, model, state, optimizer.state());
          report?.write(dir);
        },
        progressFields: ({ loss, metrics: m }) => ({ loss, recon: m.reconstructionLoss!, ppl: m.perplexity! }),
        afterStep(step, { loss, metrics: m }) {
          report?.addStep({ step, loss, recon: m.reconstructionLoss!, perplexity: m.perplexity!, codesUsed: m.codesUsed! });
        },
        evaluate(step) {
          if (!testData) return undefined;
          const m = evaluate(model, testData, { limit: options.evalLimit, communicator });
          report?.addSnapshot(takeSnapshot(model, testData, step, m));
          report?.write(out);
          return `step ${step}: test ${metricsLine(m)}${restartNote(model)}`;
        },
        finish(result) {
          if (testData && result.stopReason !== 'interrupted') {
            const m = evaluate(model, testData, { communicator });
            output.info(`test (${m.images} images): ${metricsLine(m)}`);
            report?.addSnapshot(takeSnapshot(model, testData, result.steps, m));
          }
          if (result.stepsRun > 0) {
            report?.write(out);
            output.info(`report: ${join(out, REPORT_FILE)} (open it in a browser)`);
          }
        },
        replicaState: () => model.state(),
        dispose: () => model.dispose(),
      };
      return { session, steps };
    },
  };
}
