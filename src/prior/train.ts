/**
 * Training the PixelCNN prior by maximum likelihood: Adam on the mean
 * cross-entropy of each code given those before it (nats per code), over
 * batches of code grids in the seeded order of train/batches.ts's EpochOrder,
 * so a resumed run sees the batches an uninterrupted one would. Saving,
 * Ctrl-C and a loss that stops being finite behave as in the VQ-VAE's trainer
 * (the shared train/stepLoop.ts); `priorStepper` is the prior's plug-in for
 * that loop. The whole resumable run of `vqvae prior train` is
 * train/run.ts with prior/run.ts.
 */
import '../engine.js';
import * as tf from '@tensorflow/tfjs-core';
import type { Adam } from '../train/adam.js';
import { EpochOrder } from '../train/batches.js';
import { ratePerSecond, runStepLoop, type ComputedStep, type LoopOptions, type StopReason, type Stepper } from '../train/stepLoop.js';
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

export interface PriorTrainOptions extends LoopOptions {
  prior: PixelCnn;
  optimizer: Adam;
  data: CodeSet;
  /** Held-out grids for periodic evaluation. */
  evalData?: CodeSet;
  batch: number;
  seed: number;
  onStep?: (info: PriorStepInfo) => void;
  onEval?: (step: number, result: NllResult) => void;
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

/** The prior as the step loop's plug-in: step i trains on the grids `EpochOrder(count, batch, seed).indicesAt(i)`. */
/** The prior as the step loop's plug-in; `share` [rank, ranks]: a data-parallel process's part of each batch. */
export function priorStepper(prior: PixelCnn, data: CodeSet, batch: number, seed: number, share: readonly [number, number] = [0, 1]): Stepper {
  const order = new EpochOrder(data.count, batch, seed, share);
  const params = Object.fromEntries(prior.variables);
  const names = new Map(Object.entries(params).map(([name, v]) => [v.name, name]));
  const varList = Object.values(params);
  return {
    computeGradients(step): ComputedStep {
      const { codes, labels, top } = gatherCodes(data, order.indicesAt(step));
      const { value, grads } = tf.variableGrads(() => codeNllMean(prior, codes, labels, top), varList);
      const loss = value.dataSync()[0]!;
      tf.dispose([codes, value, ...(labels ? [labels] : []), ...(top ? [top] : [])]);
      const byName = Object.fromEntries(Object.entries(grads).map(([k, g]) => [names.get(k)!, g]));
      return { loss, metrics: { bitsPerCode: loss / Math.LN2 }, grads: byName, dispose: () => tf.dispose(Object.values(byName)) };
    },
    applyGradients: (computed, optimizer) => optimizer.apply(params, computed.grads),
  };
}

export async function trainPrior(options: PriorTrainOptions): Promise<PriorTrainResult> {
  const { prior, data, batch, totalSteps, evalData } = options;
  const result = await runStepLoop({
    ...options,
    stepper: priorStepper(prior, data, batch, options.seed),
    afterStep(step, computed, stepsRun, seconds) {
      const loss = computed.loss;
      options.onStep?.({ step, totalSteps, loss, bitsPerCode: loss / Math.LN2, gridsPerSecond: ratePerSecond(stepsRun, batch, seconds) });
    },
    evaluate: evalData ? (step) => options.onEval?.(step, priorNll(prior, evalData)) : undefined,
  });
  const { trainingSeconds, ...rest } = result;
  return { ...rest, gridsPerSecond: ratePerSecond(result.stepsRun, batch, trainingSeconds) };
}
