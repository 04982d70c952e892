/**
 * The part of a training loop that does not depend on the model, shared by
 * the VQ-VAE's trainer and the PixelCNN prior's: count steps from `startStep`
 * to `totalSteps`; stop at the next step boundary once `signal` is aborted;
 * stop without saving when a step's loss is not finite (the step must then
 * leave the model as it was), so the last good checkpoint stays; save through
 * a callback at least every `checkpointEverySeconds` and once at the end; and
 * let signal handlers (Ctrl-C) run between steps.
 *
 * Only the time inside `runStep` counts as training time, so the rates a
 * caller derives from `trainingMs` leave out evaluation and saving.
 */

export type StopReason = 'done' | 'interrupted' | 'not-finite';

export interface StepLoopOptions {
  /** Step to stop at (counting from 0 of the whole run). */
  totalSteps: number;
  /** Steps already done (resume). */
  startStep?: number;
  /** Save at least this often, in seconds (0: only at the end). Default 60. */
  checkpointEverySeconds?: number;
  /** Writes a checkpoint of the current state at `step` (steps done). */
  save?: (step: number) => void | Promise<void>;
  /** Stop (and save) at the next step boundary when aborted. */
  signal?: AbortSignal;
  /**
   * Runs the step with 0-based index `step` and returns its loss. When the
   * loss is not finite it must not have changed the model or the optimizer.
   */
  runStep: (step: number) => number;
  /**
   * After each finite step, before any save: `step` counts the steps done,
   * `stepsRun` those of this call, `trainingMs` the time inside `runStep` so far.
   */
  afterStep?: (step: number, loss: number, stepsRun: number, trainingMs: number) => void;
}

export interface StepLoopResult {
  /** Steps completed in all, counting earlier runs. */
  steps: number;
  /** Steps run by this call. */
  stepsRun: number;
  /** Milliseconds spent inside `runStep` by this call. */
  trainingMs: number;
  /** Loss of the last finite step (NaN if none ran). */
  finalLoss: number;
  stopReason: StopReason;
  /** When stopReason is 'not-finite': the step (1-based) whose loss was not finite, and that loss. */
  badStep?: number;
  badLoss?: number;
}

export async function runStepLoop(options: StepLoopOptions): Promise<StepLoopResult> {
  const { totalSteps } = options;
  const checkpointMs = (options.checkpointEverySeconds ?? 60) * 1000;
  let step = options.startStep ?? 0;
  let stepsRun = 0;
  let trainingMs = 0;
  let finalLoss = Number.NaN;
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
    const loss = options.runStep(step);
    if (!Number.isFinite(loss)) {
      stopReason = 'not-finite';
      badStep = step + 1;
      badLoss = loss;
      break;
    }
    step += 1;
    stepsRun += 1;
    trainingMs += performance.now() - started;
    finalLoss = loss;
    options.afterStep?.(step, loss, stepsRun, trainingMs);
    if (options.save && checkpointMs > 0 && performance.now() - lastSave >= checkpointMs && step < totalSteps) {
      await options.save(step);
      lastSave = performance.now();
    }
    // Let signal handlers (Ctrl-C) run between steps.
    await new Promise((resolve) => setImmediate(resolve));
  }
  if (stopReason !== 'not-finite' && stepsRun > 0 && options.save) await options.save(step);
  return { steps: step, stepsRun, trainingMs, finalLoss, stopReason, badStep, badLoss };
}
