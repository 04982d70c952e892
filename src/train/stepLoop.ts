/**
 * The part of a training loop that does not depend on the model, shared by
 * every model (the VQ-VAE's trainer.ts, the prior's prior/train.ts, and the
 * whole resumable run of run.ts): count steps from `startStep` to
 * `totalSteps`; at each step let the model compute its loss and gradients,
 * average them over the processes (`Communicator`, one process by default),
 * and only then, when the loss is finite, apply them; stop at the next step
 * boundary once `signal` is aborted; stop without applying or saving when a
 * step's loss is not finite, so the last good checkpoint stays; evaluate every
 * `evalEvery` steps; save through a callback at least every
 * `checkpointEverySeconds` and once at the end; and let signal handlers
 * (Ctrl-C) run between steps.
 *
 * Time is kept in seconds, from `clock` (performance.now() by default; a test
 * can inject its own). Only the time spent computing and applying steps counts
 * as training time, so rates derived from `trainingSeconds` leave out
 * evaluation and saving.
 *
 * A model plugs in as a `Stepper`:
 *
 *   computeGradients(step) -> { loss, metrics, grads, dispose }   changes nothing
 *   applyGradients(computed, optimizer)                            Adam, then the model's own updates (EMA)
 */
import * as tf from '@tensorflow/tfjs-core';

export type StopReason = 'done' | 'interrupted' | 'not-finite';

/** What one step computed, before anything changed. */
export interface ComputedStep {
  /** The batch's loss: the loop stops when it is not finite. */
  loss: number;
  /** Other numbers of the step by name (e.g. reconstructionLoss, perplexity), for progress and reports. */
  metrics: Record<string, number>;
  /** d loss / d variable, by the names of the stepper's parameters. */
  grads: Record<string, tf.Tensor>;
  /** Frees every tensor the step holds (the gradients included). */
  dispose(): void;
}

/** Anything that updates named parameters from their gradients (train/adam.ts's Adam). */
export interface Optimizer {
  apply(params: Record<string, tf.Variable>, grads: Record<string, tf.Tensor>): void;
}

/** A model as the loop trains it. */
export interface Stepper<C extends ComputedStep = ComputedStep> {
  /** Loss, metrics and gradients of the step with 0-based index `step` (its batch); changes nothing. */
  computeGradients(step: number): C;
  /**
   * Applies `computed.grads` (averaged over the processes when there are
   * several) with the optimizer, then any update of the model's own.
   */
  applyGradients(computed: C, optimizer: Optimizer): void;
}

/**
 * How processes of a data-parallel run talk (an MPI communicator, say). Each
 * process computes gradients on its share of the batch; the loop averages
 * them before applying, so every process applies the same update. Rank 0
 * alone saves and prints (run.ts). `SINGLE_PROCESS` is the default.
 */
export interface Communicator {
  readonly rank: number;
  readonly size: number;
  /** The element-wise mean of `values` over all processes. */
  allReduceMean(values: number[]): number[];
  /** The mean of each gradient over all processes, as new tensors (the caller disposes them). */
  averageGradients(grads: Record<string, tf.Tensor>): Record<string, tf.Tensor>;
  /** The element-wise sum of `values` over all processes (an evaluation's sums and counts). */
  allReduceSum(values: number[]): number[];
  /** Every process's `part` ([counts[r]] elements) in rank order, on every process (the whole batch's rows, for the EMA codebook). */
  allGather<T extends Float32Array | Int32Array>(part: T, counts: readonly number[]): T;
}

export const SINGLE_PROCESS: Communicator = {
  rank: 0,
  size: 1,
  allReduceMean: (values) => values,
  averageGradients: (grads) => grads,
  allReduceSum: (values) => values,
  allGather: (part) => part,
};

/** Seconds from an arbitrary origin. */
export type Clock = () => number;
export const defaultClock: Clock = () => performance.now() / 1000;

/** The options of a step loop that every trainer takes, declared here only. */
export interface LoopOptions {
  /** Step to stop at (counting from 0 of the whole run). */
  totalSteps: number;
  /** Steps already done (resume). */
  startStep?: number;
  /** Save at least this often, in seconds (0: only at the end). Default 60. */
  checkpointEverySeconds?: number;
  /** Evaluate every N steps (0: never), but not at the last step. */
  evalEvery?: number;
  /** Writes a checkpoint of the current state at `step` (steps done). */
  save?: (step: number) => void | Promise<void>;
  /** Stop (and save) at the next step boundary when aborted. */
  signal?: AbortSignal;
  /** Time in seconds; default performance.now() / 1000. */
  clock?: Clock;
  /** The processes of a data-parallel run; default one. */
  communicator?: Communicator;
}

export interface StepLoopOptions<C extends ComputedStep> extends LoopOptions {
  stepper: Stepper<C>;
  optimizer: Optimizer;
  /**
   * After each finite step, before any evaluation or save: `step` counts the
   * steps done, `stepsRun` those of this call, `trainingSeconds` the time of
   * this call's steps so far.
   */
  afterStep?: (step: number, computed: C, stepsRun: number, trainingSeconds: number) => void;
  /** The periodic evaluation (see `evalEvery`). */
  evaluate?: (step: number) => void;
}

export interface StepLoopResult {
  /** Steps completed in all, counting earlier runs. */
  steps: number;
  /** Steps run by this call. */
  stepsRun: number;
  /** Seconds spent computing and applying this call's steps. */
  trainingSeconds: number;
  /** Loss of the last finite step (NaN if none ran). */
  finalLoss: number;
  stopReason: StopReason;
  /** When stopReason is 'not-finite': the step (1-based) whose loss was not finite, and that loss. */
  badStep?: number;
  badLoss?: number;
}

/** Items per second: `stepsRun` steps of `batch` items in `seconds` (0 when no time passed). */
export function ratePerSecond(stepsRun: number, batch: number, seconds: number): number {
  return seconds > 0 ? (stepsRun * batch) / seconds : 0;
}

export async function runStepLoop<C extends ComputedStep>(options: StepLoopOptions<C>): Promise<StepLoopResult> {
  const { totalSteps, stepper, optimizer } = options;
  const clock = options.clock ?? defaultClock;
  const comm = options.communicator ?? SINGLE_PROCESS;
  const checkpointSeconds = options.checkpointEverySeconds ?? 60;
  const evalEvery = options.evalEvery ?? 0;
  let step = options.startStep ?? 0;
  let stepsRun = 0;
  let trainingSeconds = 0;
  let finalLoss = Number.NaN;
  let lastSave = clock();
  let stopReason: StopReason = 'done';
  let badStep: number | undefined;
  let badLoss: number | undefined;

  while (step < totalSteps) {
    if (options.signal?.aborted) {
      stopReason = 'interrupted';
      break;
    }
    const started = clock();
    const computed = stepper.computeGradients(step);
    if (comm.size > 1) {
      const names = Object.keys(computed.metrics);
      const [loss, ...metrics] = comm.allReduceMean([computed.loss, ...names.map((name) => computed.metrics[name]!)]);
      computed.loss = loss!;
      names.forEach((name, i) => (computed.metrics[name] = metrics[i]!));
    }
    const loss = computed.loss;
    if (!Number.isFinite(loss)) {
      computed.dispose();
      stopReason = 'not-finite';
      badStep = step + 1;
      badLoss = loss;
      break;
    }
    const grads = comm.averageGradients(computed.grads);
    stepper.applyGradients(grads === computed.grads ? computed : { ...computed, grads }, optimizer);
    if (grads !== computed.grads) tf.dispose(Object.values(grads));
    computed.dispose();
    step += 1;
    stepsRun += 1;
    trainingSeconds += clock() - started;
    finalLoss = loss;
    options.afterStep?.(step, computed, stepsRun, trainingSeconds);
    if (options.evaluate && evalEvery > 0 && step % evalEvery === 0 && step < totalSteps) options.evaluate(step);
    if (options.save && checkpointSeconds > 0 && clock() - lastSave >= checkpointSeconds && step < totalSteps) {
      await options.save(step);
      lastSave = clock();
    }
    // Let signal handlers (Ctrl-C) run between steps.
    await new Promise((resolve) => setImmediate(resolve));
  }
  if (stopReason !== 'not-finite' && stepsRun > 0 && options.save) await options.save(step);
  return { steps: step, stepsRun, trainingSeconds, finalLoss, stopReason, badStep, badLoss };
}
