/**
 * The training loop: Adam on reconstruction + VQ loss, with the Sonnet
 * convention of dividing the reconstruction MSE by the data variance:
 *
 *   loss = mean((x_hat - x)^2) / var(x) + codebook loss + beta * commitment
 *
 * One step takes a [batch, H, W, C] batch in the seeded order of
 * `BatchSampler`, so a resumed run sees the same batches as an uninterrupted
 * one. The loop saves through a callback (atomically, elsewhere) every
 * `checkpointEverySeconds`, on interrupt and at the end, and stops without
 * saving when the loss stops being finite, so the last good checkpoint stays.
 */
import type { ImageDataset } from '../data/dataset.js';
import type { VqVae } from '../model/vqvae.js';
import { Adam } from './adam.js';
import { BatchSampler } from './batches.js';
import { evaluate, type EvalMetrics } from './evaluate.js';
import { applyStep, disposeStep, stepGradients } from './step.js';

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

export type StopReason = 'done' | 'interrupted' | 'not-finite';

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
  const checkpointMs = (options.checkpointEverySeconds ?? 60) * 1000;
  const evalEvery = options.evalEvery ?? 0;

  let step = options.startStep ?? 0;
  let stepsRun = 0;
  let last: StepInfo | undefined;
  let trainingMs = 0;
  let lastSave = performance.now();
  let stopReason: StopReason = 'done';
  let badStep: number | undefined;
  let badLoss: number | undefined;

  while (step < totalSteps) {
    if (options.signal?.aborted) {
      stopReason = 'interrupted';
      break;
    }
    const started = performance.now();
    const x = sampler.batchAt(step);
    const computed = stepGradients(model, x, options.dataVariance);
    const [loss, reconstructionLoss, vqLoss, perplexity, codesUsed] = [
      computed.loss, computed.reconstructionLoss, computed.vqLoss, computed.perplexity, computed.codesUsed,
    ].map((t) => t.dataSync()[0]!);
    if (Number.isFinite(loss)) applyStep(model, optimizer, computed);
    disposeStep(computed);
    x.dispose();
    if (!Number.isFinite(loss)) {
      stopReason = 'not-finite';
      badStep = step + 1;
      badLoss = loss;
      break;
    }
    step += 1;
    stepsRun += 1;
    trainingMs += performance.now() - started;
    last = {
      step,
      totalSteps,
      loss,
      reconstructionLoss: reconstructionLoss!,
      vqLoss: vqLoss!,
      perplexity: perplexity!,
      codesUsed: codesUsed!,
      imagesPerSecond: (stepsRun * batch) / (trainingMs / 1000),
    };
    options.onStep?.(last);
    if (options.evalData && evalEvery > 0 && step % evalEvery === 0 && step < totalSteps) {
      options.onEval?.(step, evaluate(model, options.evalData, { limit: options.evalLimit }));
    }
    if (options.save && checkpointMs > 0 && performance.now() - lastSave >= checkpointMs && step < totalSteps) {
      await options.save(step);
      lastSave = performance.now();
    }
    // Let signal handlers (Ctrl-C) run between steps.
    await new Promise((resolve) => setImmediate(resolve));
  }
  if (stopReason !== 'not-finite' && stepsRun > 0 && options.save) await options.save(step);
  return {
    steps: step,
    stepsRun,
    imagesPerSecond: trainingMs > 0 ? (stepsRun * batch) / (trainingMs / 1000) : 0,
    finalLoss: last?.loss ?? Number.NaN,
    last,
    stopReason,
    badStep,
    badLoss,
  };
}
