/**
 * Training the PixelCNN prior by maximum likelihood: Adam on the mean
 * cross-entropy of each code given those before it (nats per code), over
 * batches of code grids in the seeded order of train/batches.ts's EpochOrder,
 * so a resumed run sees the batches an uninterrupted one would. Saving,
 * Ctrl-C and a loss that stops being finite behave as in the VQ-VAE's trainer
 * (the shared train/stepLoop.ts).
 */
import '../engine.js';
import * as tf from '@tensorflow/tfjs-core';
import type { Adam } from '../train/adam.js';
import { EpochOrder } from '../train/batches.js';
import { runStepLoop, type StopReason } from '../train/stepLoop.js';
import { gatherCodes, type CodeSet } from './codeSet.js';
import { codeNllMean, priorNll, type NllResult } from './nll.js';
import type { PixelCnn } from './pixelcnn.js';

export interface PriorStepInfo {
  /** Steps completed, counting earlier runs. */
  step: number;
  totalSteps: number;
  /** Mean -log p per code of the batch, in nats. */
  loss: number;
  /** The same in bits. */
  bitsPerCode: number;
  /** Grids per second over this run's steps. */
  gridsPerSecond: number;
}

export interface PriorTrainOptions {
  prior: PixelCnn;
  optimizer: Adam;
  data: CodeSet;
  /** Held-out grids for periodic evaluation. */
  evalData?: CodeSet;
  /** Evaluate every N steps (0: never). */
  evalEvery?: number;
  batch: number;
  totalSteps: number;
  startStep?: number;
  seed: number;
  checkpointEverySeconds?: number;
  save?: (step: number) => void | Promise<void>;
  onStep?: (info: PriorStepInfo) => void;
  onEval?: (step: number, result: NllResult) => void;
  signal?: AbortSignal;
}

export interface PriorTrainResult {
  steps: number;
  stepsRun: number;
  gridsPerSecond: number;
  /** Loss (nats per code) of the last finite step; NaN if none ran. */
  finalLoss: number;
  stopReason: StopReason;
  badStep?: number;
  badLoss?: number;
}

export async function trainPrior(options: PriorTrainOptions): Promise<PriorTrainResult> {
  const { prior, optimizer, data, batch, totalSteps } = options;
  const order = new EpochOrder(data.count, batch, options.seed);
  const params = Object.fromEntries(prior.variables);
  const names = new Map(Object.entries(params).map(([name, v]) => [v.name, name]));
  const varList = Object.values(params);
  const evalEvery = options.evalEvery ?? 0;

  const result = await runStepLoop({
    totalSteps,
    startStep: options.startStep,
    checkpointEverySeconds: options.checkpointEverySeconds,
    save: options.save,
    signal: options.signal,
    runStep(step) {
      const { codes, labels, top } = gatherCodes(data, order.indicesAt(step));
      const { value, grads } = tf.variableGrads(() => codeNllMean(prior, codes, labels, top), varList);
      const loss = value.dataSync()[0]!;
      if (Number.isFinite(loss)) {
        optimizer.apply(params, Object.fromEntries(Object.entries(grads).map(([k, g]) => [names.get(k)!, g])));
      }
      tf.dispose([codes, value, ...Object.values(grads), ...(labels ? [labels] : []), ...(top ? [top] : [])]);
      return loss;
    },
    afterStep(step, loss, stepsRun, trainingMs) {
      options.onStep?.({ step, totalSteps, loss, bitsPerCode: loss / Math.LN2, gridsPerSecond: (stepsRun * batch) / (trainingMs / 1000) });
      if (options.evalData && evalEvery > 0 && step % evalEvery === 0 && step < totalSteps) {
        options.onEval?.(step, priorNll(prior, options.evalData));
      }
    },
  });
  return {
    steps: result.steps,
    stepsRun: result.stepsRun,
    gridsPerSecond: result.trainingMs > 0 ? (result.stepsRun * batch) / (result.trainingMs / 1000) : 0,
    finalLoss: result.finalLoss,
    stopReason: result.stopReason,
    badStep: result.badStep,
    badLoss: result.badLoss,
  };
}
