/**
 * The VQ-VAE's training loop as a library function: Adam on reconstruction +
 * VQ loss, with the Sonnet convention of dividing the reconstruction MSE by
 * the data variance:
 *
 *   loss = mean((x_hat - x)^2) / var(x) + codebook loss + beta * commitment
 *
 * or, for a model with the categorical likelihood (model/likelihood.ts), the
 * mean -log p(x|z) per pixel value in nats in place of the first term (step.ts).
 *
 * One step takes a [batch, H, W, C] batch in the seeded order of
 * `BatchSampler`, so a resumed run sees the same batches as an uninterrupted
 * one. The loop (stepLoop.ts, shared with every model) saves through a
 * callback every `checkpointEverySeconds`, on interrupt and at the end, and
 * stops without saving when the loss stops being finite, so the last good
 * checkpoint stays. The whole resumable run of `vqvae train` (directories,
 * resume rules, summary) is run.ts with vqvaeRun.ts.
 */
import type { ImageDataset } from '../data/dataset.js';
import type { VqVae } from '../model/vqvae.js';
import type { Adam } from './adam.js';
import { BatchSampler } from './batches.js';
import { evaluate, type EvalMetrics } from './evaluate.js';
import { vqvaeStepper } from './step.js';
import { ratePerSecond, runStepLoop, type LoopOptions, type StopReason } from './stepLoop.js';

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

export interface TrainOptions extends LoopOptions {
  model: VqVae;
  optimizer: Adam;
  data: ImageDataset;
  /** Held-out data for periodic evaluation. */
  evalData?: ImageDataset;
  /** Images of `evalData` used by each periodic evaluation. */
  evalLimit?: number;
  batch: number;
  seed: number;
  /** var(x) of the training pixels in [0, 1]. */
  dataVariance: number;
  onStep?: (info: StepInfo) => void;
  onEval?: (step: number, metrics: EvalMetrics) => void;
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
  const { model, optimizer, data, batch, totalSteps, evalData } = options;
  let last: StepInfo | undefined;
  const result = await runStepLoop({
    ...options,
    stepper: vqvaeStepper(model, new BatchSampler(data, batch, options.seed), options.dataVariance),
    optimizer,
    afterStep(step, computed, stepsRun, seconds) {
      const m = computed.metrics;
      last = {
        step, totalSteps, loss: computed.loss,
        reconstructionLoss: m.reconstructionLoss!, vqLoss: m.vqLoss!, perplexity: m.perplexity!, codesUsed: m.codesUsed!,
        imagesPerSecond: ratePerSecond(stepsRun, batch, seconds),
      };
      options.onStep?.(last);
    },
    evaluate: evalData ? (step) => options.onEval?.(step, evaluate(model, evalData, { limit: options.evalLimit })) : undefined,
  });
  const { trainingSeconds, ...rest } = result;
  return { ...rest, imagesPerSecond: ratePerSecond(result.stepsRun, batch, trainingSeconds), last };
}
