/**
 * The run engine: one resumable training run of any model, from an empty or
 * saved model directory to the summary line and the exit code. It owns what
 * every model's run shares, so a model only plugs in what is its own:
 *
 * - the directory rules: a new run refuses a directory that holds a model (or
 *   stray weights); `--resume` needs a saved model with a training state;
 * - the settings: --batch, --lr and --seed are the flags, else the saved
 *   run's, else the defaults; --steps likewise (or the plug-in's, e.g. from
 *   --epochs); a warning when the data order or the data differ from the run
 *   being resumed; Adam's moments and step count restored from the save;
 * - saving through the plug-in (atomically, by the io/ checkpoint code) at
 *   least every `checkpointEverySeconds`, on Ctrl-C and at the end, never
 *   after a step whose loss is not finite (the run then fails naming the last
 *   good checkpoint, which stays);
 * - progress, periodic evaluation, time (seconds, one clock: `clock`), the
 *   final line, the JSON summary, and the exit code (0, or 130 on Ctrl-C).
 *
 * The plug-in interface (the VQ-VAE's is train/vqvaeRun.ts, the prior's
 * prior/run.ts):
 *
 *   RunPlugin<S, Saved, C>                 what kind of model, before a run starts
 *     noun: 'model' | 'prior' ...          in "--resume: no prior to resume in DIR"
 *     unit, rateLabel                      'images', 'img/s': `images/s`, JSON `images_per_s`, progress field
 *     source                               this run's data (the "resuming on X" warning)
 *     sourceOf(state: S): string           the saved run's data
 *     load(dir): Saved                     reads and validates a saved directory ({training?, extra})
 *     open(ctx: RunContext<Saved>)         checks the saved model against the flags, loads
 *       -> { session, steps? }             the data, creates or restores the model
 *     formatLoss(loss): string             "0.01234", "2.0812 bits per code"
 *     lossFields?(loss | null)             extra summary fields of the final loss
 *
 *   RunSession<S, C> extends Stepper<C>    the model being trained (stepLoop.ts:
 *                                          computeGradients(step), applyGradients(c, optimizer))
 *     describe(settings): string           the line printed before the first step
 *     start?(totalSteps)                   after the run is known to go ahead (e.g. open a report)
 *     state(common: RunState): S           config.json's "training" object
 *     save(dir, state, optimizer)          writes the directory atomically
 *     progressFields(c): fields            progress bar fields of a step
 *     afterStep?(step, c)                  e.g. a report's curves
 *     evaluate?(step): string | undefined  the periodic evaluation's line
 *     finish?(result): fields | void       final evaluation and lines; extra summary fields
 *     dispose()
 *
 * A new model (hierarchical, audio) is a new RunPlugin with its Stepper. A
 * data-parallel run passes a `Communicator` (stepLoop.ts): gradients are
 * averaged between computeGradients and applyGradients, rank 0 alone saves
 * and prints, and `RunContext.communicator` lets a plug-in shard its batches
 * and its evaluation.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { accessSync, constants, existsSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { checkpointExists } from '../io/checkpoint.js';
import { makeDirectory } from '../io/directory.js';
import { Adam } from './adam.js';
import {
  ratePerSecond,
  runStepLoop,
  SINGLE_PROCESS,
  type Clock,
  type Communicator,
  type ComputedStep,
  type StepLoopResult,
  type Stepper,
} from './stepLoop.js';
import type { RunState } from '../io/savedModel.js';

/** The fields of config.json's "training" object that every model's run has (io/savedModel.ts). */
export type { RunState };

/** A saved directory as `RunPlugin.load` reads it. */
export interface SavedRun<S extends RunState> {
  training?: S;
  /** The optimizer's moments (`adam.m.<name>`, `adam.v.<name>`). */
  extra: Record<string, { shape: number[]; data: Float32Array }>;
}

export interface RunSettings {
  batch: number;
  learningRate: number;
  seed: number;
}

export interface RunProgress {
  update(done: number, fields?: Record<string, number>): void;
  log(line: string): void;
  stop(): void;
}

/** Where a run's lines go (the CLI's context, cli/common.ts's `runOutput`). */
export interface RunOutput {
  /** A line of information. */
  info(line: string): void;
  /** A warning (the CLI prefixes "vqvae: warning:"). */
  warn(line: string): void;
  progress(options: { total: number; label: string }): RunProgress;
  /** The one JSON summary line. */
  printJson(value: object): void;
  /** Called just before the first step: aborted on Ctrl-C, the run saves and stops at the next step boundary. */
  interruptSignal?(): AbortSignal;
}

export interface RunContext<Saved> {
  out: string;
  /** The saved run, with --resume. */
  saved?: Saved;
  settings: RunSettings;
  backend: string;
  output: RunOutput;
  communicator: Communicator;
}

export interface RunSession<S extends RunState, C extends ComputedStep> extends Stepper<C> {
  describe(settings: RunSettings): string;
  start?(totalSteps: number): void;
  state(common: RunState): S;
  save(dir: string, state: S, optimizer: Adam): void | Promise<void>;
  progressFields(computed: C): Record<string, number>;
  afterStep?(step: number, computed: C): void;
  evaluate?(step: number): string | undefined;
  finish?(result: StepLoopResult): Record<string, unknown> | void;
  /** The tensors that every process of a data-parallel run holds alike (the model's state), to check that they are. */
  replicaState?(): Record<string, tf.Tensor>;
  dispose(): void;
}

export interface RunPlugin<S extends RunState, Saved extends SavedRun<S>, C extends ComputedStep> {
  noun: string;
  unit: string;
  rateLabel: string;
  source: string;
  sourceOf(state: S): string;
  load(dir: string): Saved | Promise<Saved>;
  open(ctx: RunContext<Saved>): Promise<{ session: RunSession<S, C>; steps?: number }>;
  formatLoss(loss: number): string;
  lossFields?(loss: number | null): Record<string, number | null>;
}

/** What the runs of an image model (one level or two) say of themselves: images, img/s, the loss to 5 places. */
export const IMAGE_MODEL_RUN = {
  noun: 'model',
  unit: 'images',
  rateLabel: 'img/s',
  sourceOf: (state: RunState & { data: string }): string => state.data,
  formatLoss: (loss: number): string => loss.toFixed(5),
};

/** What a prior's run over a codes file says of itself: its unit (grids, sequences), the loss in bits per code. */
export function codePriorRunFields(unit: string, rateLabel: string) {
  return {
    noun: 'prior',
    unit,
    rateLabel,
    sourceOf: (state: RunState & { codes: string }): string => state.codes,
    formatLoss: (loss: number): string => `${(loss / Math.LN2).toFixed(4)} bits per code`,
    lossFields: (loss: number | null) => ({ final_bits_per_code: loss === null ? null : loss / Math.LN2 }),
  };
}

export interface RunOptions {
  out: string;
  resume: boolean;
  /** The flags; undefined where not given. */
  steps?: number;
  batch?: number;
  lr?: number;
  seed?: number;
  checkpointEverySeconds: number;
  evalEvery: number;
  defaults: { steps: number; batch: number; lr: number; seed: number };
  /** Readies the backend and returns its name (after the directory checks, before loading). */
  backend(): Promise<string>;
  output: RunOutput;
  clock?: Clock;
  communicator?: Communicator;
}

/** Refuses a directory that does not suit a new run or a resumed one. */
export function checkRunDir(out: string, resume: boolean, noun: string): void {
  if (resume && !checkpointExists(out)) throw new UserError(`--resume: no ${noun} to resume in ${out} (config.json not found)`);
  if (!resume && checkpointExists(out)) {
    throw new UserError(`${out} already holds a model; pass --resume to continue it, or choose another --out`);
  }
  if (!resume && existsSync(join(out, 'weights.safetensors'))) {
    throw new UserError(`${out} holds weights.safetensors but no config.json; choose another --out`);
  }
}

/**
 * Throws unless every given value equals the saved one: `flags` maps a config
 * key to its flag name; `describe` may word a given value its own way.
 */
export function checkFlagsMatch<T extends object>(
  given: Partial<T>,
  saved: T,
  flags: Partial<Record<keyof T, string>>,
  where: string,
  describe: (key: keyof T, value: unknown, flag: string) => string = (_key, value, flag) => `--${flag} ${value}`,
): void {
  for (const [key, flag] of Object.entries(flags) as [keyof T, string][]) {
    const value = given[key];
    if (value !== undefined && value !== saved[key]) {
      throw new UserError(`${describe(key, value, flag)} does not match the ${where} (${flag} ${saved[key]}); leave it out to resume`);
    }
  }
}

/** A data-parallel run splits every batch evenly among its processes (stepLoop.ts averages their gradients). */
export function checkBatchDivides(batch: number, processes: number): void {
  if (batch % processes !== 0) {
    throw new UserError(
      `--batch ${batch} does not divide among the ${processes} ranks of the MPI job: give a multiple of ${processes} (each rank takes batch / ${processes} images of every step)`,
    );
  }
}

/** Runs (or resumes) a training run to its end; returns the exit code. */
export async function runTraining<S extends RunState, Saved extends SavedRun<S>, C extends ComputedStep>(
  plugin: RunPlugin<S, Saved, C>,
  options: RunOptions,
): Promise<number> {
  const { out, defaults } = options;
  const communicator = options.communicator ?? SINGLE_PROCESS;
  const root = communicator.rank === 0;
  const output: RunOutput = root ? options.output : { info() {}, warn() {}, printJson() {}, progress: () => ({ update() {}, log() {}, stop() {} }) };
  checkRunDir(out, options.resume, plugin.noun);
  const backend = await options.backend();
  const saved = options.resume ? await plugin.load(out) : undefined;
  const state = saved?.training;
  if (saved && !state) throw new UserError(`--resume: ${out} holds no training state to resume`);
  const settings: RunSettings = {
    batch: options.batch ?? state?.batch ?? defaults.batch,
    learningRate: options.lr ?? state?.learningRate ?? defaults.lr,
    seed: options.seed ?? state?.seed ?? defaults.seed,
  };
  if (state && (settings.batch !== state.batch || settings.seed !== state.seed)) {
    output.warn(
      `resuming with --batch ${settings.batch} --seed ${settings.seed} (the run began with --batch ${state.batch} --seed ${state.seed}): ` +
        'the data order differs from an uninterrupted run',
    );
  }
  if (state && plugin.sourceOf(state) !== plugin.source) output.warn(`resuming on ${plugin.source}; the run began on ${plugin.sourceOf(state)}`);

  const { session, steps } = await plugin.open({ out, saved, settings, backend, output, communicator });
  const optimizer = new Adam({ learningRate: settings.learningRate });
  const startStep = state?.step ?? 0;
  const previousSeconds = state?.trainingSeconds ?? 0;
  const totalSteps = options.steps ?? steps ?? state?.totalSteps ?? defaults.steps;
  if (saved && state) {
    optimizer.load(saved.extra, state.step);
    output.info(`resuming ${out} from step ${startStep} (of ${totalSteps})`);
  }
  output.info(session.describe(settings));
  const rateKey = `${plugin.unit}_per_s`;
  if (startStep >= totalSteps) {
    output.info(`${out} is already at step ${startStep} of ${totalSteps}; pass a larger --steps to train further`);
    output.printJson({ steps: startStep, [rateKey]: 0, final_loss: null, ...plugin.lossFields?.(null), backend });
    session.dispose();
    optimizer.dispose();
    return 0;
  }
  session.start?.(totalSteps);

  let lastLoss: number | undefined;
  let runSeconds = 0;
  let savedStep: number | undefined = options.resume ? startStep : undefined;
  const save = async (step: number) => {
    const common: RunState = {
      step,
      totalSteps,
      ...settings,
      backend,
      trainingSeconds: previousSeconds + runSeconds,
      ...(lastLoss !== undefined ? { loss: lastLoss } : {}),
    };
    if (root) await session.save(out, session.state(common), optimizer);
    savedStep = step;
  };
  // Fail on an unusable --out now, not at the first save a minute into training.
  if (root) {
    makeDirectory(out);
    accessSync(out, constants.W_OK);
  }

  const progress = output.progress({ total: totalSteps, label: 'step' });
  progress.update(startStep);
  const result = await runStepLoop({
    totalSteps,
    startStep,
    checkpointEverySeconds: options.checkpointEverySeconds,
    evalEvery: options.evalEvery,
    save,
    signal: options.output.interruptSignal?.(),
    clock: options.clock,
    communicator,
    stepper: session,
    optimizer,
    afterStep(step, computed, stepsRun, seconds) {
      lastLoss = computed.loss;
      runSeconds = seconds;
      session.afterStep?.(step, computed);
      progress.update(step, { ...session.progressFields(computed), [plugin.rateLabel]: Math.round(ratePerSecond(stepsRun, settings.batch, seconds)) });
    },
    evaluate(step) {
      const line = session.evaluate?.(step);
      if (line !== undefined) progress.log(line);
    },
  });
  progress.stop();

  if (result.stopReason === 'not-finite') {
    const kept = savedStep !== undefined ? `the last good checkpoint (step ${savedStep}) is kept in ${out}` : 'no checkpoint was written';
    throw new UserError(`the loss became ${result.badLoss} at step ${result.badStep}; training stopped and ${kept}; try a lower --lr`);
  }
  const extra = session.finish?.(result) ?? {};
  const rate = ratePerSecond(result.stepsRun, settings.batch, result.trainingSeconds);
  if (result.stopReason === 'interrupted') {
    output.info(`interrupted at step ${result.steps}: saved ${out}; continue with --resume`);
  } else {
    output.info(
      `trained to step ${result.steps} (${result.stepsRun} steps, ${Math.round(rate)} ${plugin.unit}/s); ` +
        `final loss ${plugin.formatLoss(result.finalLoss)}; saved ${out}`,
    );
  }
  const finalLoss = Number.isFinite(result.finalLoss) ? result.finalLoss : null;
  output.printJson({ steps: result.steps, [rateKey]: rate, final_loss: finalLoss, ...plugin.lossFields?.(finalLoss), ...extra, backend });
  session.dispose();
  optimizer.dispose();
  return result.stopReason === 'interrupted' ? 130 : 0;
}
