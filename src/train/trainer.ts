/**
 * The training loop: Adam on reconstruction + VQ loss, with the Sonnet
 * convention of dividing the reconstruction MSE by the data variance:
 *
 *   loss = mean((x_hat - x)^2) / var(x) + codebook loss + beta * commitment
 *
 * or, for a model with the categorical likelihood (model/likelihood.ts), the
 * mean -log p(x|z) per pixel value in nats in place of the first term.
 *
 * One step takes a [batch, H, W, C] batch in the seeded order of
 * `BatchSampler`, so a resumed run sees the same batches as an uninterrupted
 * one. The loop (stepLoop.ts, shared with the prior's) saves through a callback (atomically, elsewhere) every
 * `checkpointEverySeconds`, on interrupt and at the end, and stops without
 * saving when the loss stops being finite, so the last good checkpoint stays.
 */
import type { ImageDataset } from '../data/dataset.js';
import type { VqVae } from '../model/vqvae.js';
import { Adam } from './adam.js';
import { initializeCodebook } from '../quantize/init.js';
import { BatchSampler } from './batches.js';
import { evaluate, type EvalMetrics } from './evaluate.js';
import { applyStep, disposeStep, stepGradients } from './step.js';
import { runStepLoop, type StopReason } from './stepLoop.js';

export interface StepInfo {
  /** Steps completed, counting those of earlier runs when resumed. */
  step: number;
  totalSteps: number;
  loss: number;
  reconstructionLoss: number;
  vqLoss: number;
  perplexity: number;
  codesUsed: number;
  /** Images per second over the steps of this run so far. */
  imagesPerSecond: number;
}

export type { StopReason };

export interface TrainOptions {
  model: VqVae;
  optimizer: Adam;
  data: ImageDataset;
  /** Held-out data for periodic evaluation. */
  evalData?: ImageDataset;
  /** Images of `evalData` used by each periodic evaluation. */
  evalLimit?: number;
  /** Evaluate every N steps (0: never). */
  evalEvery?: number;
  batch: number;
  /** Step to stop at (counting from 0 of the whole run). */
  totalSteps: number;
  /** Steps already done (resume). */
  startStep?: number;
  seed: number;
  /** var(x) of the training pixels in [0, 1]. */
  dataVariance: number;
  /** Save at least this often, in seconds of training (0: only at the end). */
  checkpointEverySeconds?: number;
  /** Writes a checkpoint of the current state at `step`. */
  save?: (step: number) => void | Promise<void>;
  onStep?: (info: StepInfo) => void;
  onEval?: (step: number, metrics: EvalMetrics) => void;
  /** Stop (and save) at the next step boundary when aborted. */
  signal?: AbortSignal;
}

export interface TrainResult {
  /** Steps completed in all, counting earlier runs. */
  steps: number;
  /** Steps run by this call. */
  stepsRun: number;
  imagesPerSecond: number;
  /** Loss of the last finite step (NaN if none ran). */
  finalLoss: number;
  last?: StepInfo;
  stopReason: StopReason;
  /** When stopReason is 'not-finite': the step whose loss was not finite. */
  badStep?: number;
  /** ... and that loss (NaN or +-Infinity). */
  badLoss?: number;
}

export async function train(options: TrainOptions): Promise<TrainResult> {
  const { model, optimizer, data, batch, totalSteps } = options;
  const sampler = new BatchSampler(data, batch, options.seed);
  const evalEvery = options.evalEvery ?? 0;
  let metrics = { reconstructionLoss: 0, vqLoss: 0, perplexity: 0, codesUsed: 0 };
  let last: StepInfo | undefined;

  const result = await runStepLoop({
    totalSteps,
    startStep: options.startStep,
    checkpointEverySeconds: options.checkpointEverySeconds,
    save: options.save,
    signal: options.signal,
    runStep(step) {
      if (step === 0) initializeCodebook(model, (i) => sampler.batchAt(i)); // --codebook-init kmeans
      const x = sampler.batchAt(step);
      const computed = stepGradients(model, x, options.dataVariance);
      const [loss, reconstructionLoss, vqLoss, perplexity, codesUsed] = [
        computed.loss, computed.reconstructionLoss, computed.vqLoss, computed.perplexity, computed.codesUsed,
      ].map((t) => t.dataSync()[0]!);
      if (Number.isFinite(loss)) applyStep(model, optimizer, computed);
      disposeStep(computed);
      x.dispose();
      metrics = { reconstructionLoss: reconstructionLoss!, vqLoss: vqLoss!, perplexity: perplexity!, codesUsed: codesUsed! };
      return loss!;
    },
    afterStep(step, loss, stepsRun, trainingMs) {
      last = { step, totalSteps, loss, ...metrics, imagesPerSecond: (stepsRun * batch) / (trainingMs / 1000) };
      options.onStep?.(last);
      if (options.evalData && evalEvery > 0 && step % evalEvery === 0 && step < totalSteps) {
        options.onEval?.(step, evaluate(model, options.evalData, { limit: options.evalLimit }));
      }
    },
  });
  return {
    steps: result.steps,
    stepsRun: result.stepsRun,
    imagesPerSecond: result.trainingMs > 0 ? (result.stepsRun * batch) / (result.trainingMs / 1000) : 0,
    finalLoss: result.finalLoss,
    last,
    stopReason: result.stopReason,
    badStep: result.badStep,
    badLoss: result.badLoss,
  };
}
