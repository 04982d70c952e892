/**
 * Flags and steps that several commands share: where the data comes from,
 * which backend runs, loading a model directory and checking that data fits it.
 */
import { basename, join, resolve } from 'node:path';
import { BACKEND_CHOICES, selectBackend, type BackendChoice } from '../backend/select.js';
import { setNativePrecision, type Precision } from '../backend/native/backend.js';
import type { ImageDataset, Split } from '../data/dataset.js';
import { loadDataset } from '../data/load.js';
import { parseDataSpec } from '../data/spec.js';
import { UserError } from '../errors.js';
import { checkDataFitsModel, type ModelConfig } from '../model/config.js';
import { loadModel, type LoadedModel, type TrainingState } from '../model/checkpoint.js';
import type { RunOptions, RunOutput } from '../train/run.js';
import type { CommandContext } from './command.js';
import type { Progress } from './progress.js';
import { UsageError, type BooleanFlag, type ChoiceFlag, type IntFlag, type NumberFlag, type StringFlag } from './flags.js';

export const backendFlag = {
  name: 'backend',
  type: 'choice',
  choices: BACKEND_CHOICES,
  default: 'auto',
  help: 'tensor backend: auto picks the fastest that loads (native, then wasm, then cpu)',
} as const satisfies ChoiceFlag;

export const precisionFlag = {
  name: 'precision',
  type: 'choice',
  choices: ['fp32', 'bf16'],
  default: 'fp32',
  help: 'native backend: bf16 runs the convolutions in bfloat16 (weights, optimizer and code distances stay fp32); needs a CPU with AVX-512 bf16 or AMX',
} as const satisfies ChoiceFlag;

export const splitFlag = {
  name: 'split',
  type: 'choice',
  choices: ['train', 'test'],
  default: 'test',
  help: 'which split of the data to use',
} as const satisfies ChoiceFlag;

export const limitFlag = {
  name: 'limit',
  type: 'int',
  min: 1,
  metavar: 'N',
  help: 'use only the first N images, in the data set\'s own order',
} as const satisfies IntFlag;

export const resizeFlag = {
  name: 'resize',
  type: 'string',
  metavar: 'HxW',
  help: 'folder data: resize every image to H x W pixels (default: all images must share one size)',
} as const satisfies StringFlag;

export const modelFlag = {
  name: 'model',
  type: 'string',
  metavar: 'DIR',
  help: 'model directory written by `vqvae train` (default: runs/NAME for --data NAME, as train writes it)',
} as const satisfies StringFlag;

/**
 * Where `train` writes when --out is left out, and where the other commands
 * look when --model is: runs/mnist, runs/fashion-mnist, runs/cifar10, or
 * runs/<folder name> for folder:DIR. So `vqvae train --data fashion-mnist`
 * followed by `vqvae eval --data fashion-mnist` needs no paths.
 */
export function defaultRunDir(spec: string): string {
  const parsed = parseDataSpec(spec);
  const name = parsed.kind === 'folder' || parsed.kind === 'wav' ? basename(resolve(parsed.dir)).replace(/[^A-Za-z0-9._-]/g, '_') || 'folder' : parsed.kind;
  return join('runs', name);
}

/** Checks a data SPEC from the command line before anything slow starts: a bad one is a usage error. */
export function checkDataFlag(spec: string | undefined): void {
  if (spec === undefined) return;
  try {
    parseDataSpec(spec);
  } catch (error) {
    if (error instanceof UserError) throw new UsageError(`--data: ${error.message}`);
    throw error;
  }
}

/** --model if given, else the default run directory of --data. */
export function modelDirFor(model: string | undefined, data: string | undefined): string {
  checkDataFlag(data);
  if (model !== undefined) return model;
  if (data === undefined) throw new UsageError('missing required flag --model (or --data, to use the model in runs/NAME)');
  return defaultRunDir(data);
}

export const DATA_HELP = 'data: mnist, fashion-mnist[:DIR], cifar10:DIR, folder:DIR or wav:DIR (speech)';

/** `--resize 32x32` → [32, 32]. */
export function parseResize(value: string | undefined): [number, number] | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d+)x(\d+)$/.exec(value);
  const size = match ? ([Number(match[1]), Number(match[2])] as [number, number]) : undefined;
  if (!size || size[0] < 1 || size[1] < 1) {
    throw new UsageError(`--resize must be HxW with positive integers, e.g. 32x32, got "${value}"`);
  }
  return size;
}

/** Readies the backend and says which one runs. */
export async function useBackend(choice: BackendChoice, ctx: CommandContext, precision: Precision = 'fp32'): Promise<string> {
  const selected = await selectBackend(choice);
  if (precision === 'bf16' && selected.name !== 'native') {
    throw new UserError(`--precision bf16 needs the native backend (this run uses ${selected.name})`);
  }
  if (selected.name === 'native') {
    const why = setNativePrecision(precision);
    if (why !== undefined) throw new UserError(`--precision ${precision}: ${why}`);
  }
  info(ctx, `backend: ${selected.reason}${precision === 'bf16' ? ', bf16 convolutions' : ''}`);
  return selected.name;
}

/** A line of information: stdout normally, stderr when stdout carries JSON. */
export function info(ctx: CommandContext, line: string): void {
  if (ctx.json) ctx.stderr.write(`${line}\n`);
  else ctx.print(line);
}

/** Loads a data set, with a progress display while a folder's images are decoded. */
export async function loadData(
  spec: string,
  options: { split: Split; limit?: number; resize?: readonly [number, number] },
  ctx: CommandContext,
): Promise<ImageDataset> {
  let progress: Progress | undefined;
  try {
    return await loadDataset(spec, {
      ...options,
      onProgress(done, total) {
        progress ??= ctx.progress({ total, label: `${options.split} image` });
        progress.update(done);
      },
    });
  } finally {
    progress?.stop();
  }
}

/** The flags of a command that runs a trained model over a data split. */
export interface ModelDataFlags {
  model: string | undefined;
  data: string | undefined;
  split: Split;
  limit: number | undefined;
  resize: string | undefined;
  backend: string;
}

/**
 * The common start of eval, encode and reconstruct: checks the flags, readies
 * the backend, loads the model (from --model, or runs/NAME of --data) and the
 * data (--data, or what the model was trained on), and checks that they fit.
 */
export async function openModelAndData(
  flags: ModelDataFlags,
  ctx: CommandContext,
): Promise<{ modelDir: string; loaded: LoadedModel; data: ImageDataset }> {
  return openModelDirAndData(flags, ctx, loadModel, (loaded) => loaded.model);
}

/**
 * openModelAndData for any image model: `load` reads the directory and
 * `configOf` gives the ModelConfig the data must fit (a two-level model's
 * trunk config, say).
 */
export async function openModelDirAndData<L extends { training?: TrainingState }>(
  flags: ModelDataFlags,
  ctx: CommandContext,
  load: (dir: string) => L,
  configOf: (loaded: L) => ModelConfig,
): Promise<{ modelDir: string; loaded: L; data: ImageDataset }> {
  const modelDir = modelDirFor(flags.model, flags.data);
  const resizeFlag = parseResize(flags.resize);
  await useBackend(flags.backend as BackendChoice, ctx);
  const loaded = load(modelDir);
  const spec = flags.data ?? loaded.training?.data;
  if (!spec) throw new UserError(`--data is needed: ${modelDir} does not record the data it was trained on`);
  const data = await loadData(spec, { split: flags.split, limit: flags.limit, resize: resizeFlag ?? loaded.training?.resize }, ctx);
  checkDataFitsModel(data, configOf(loaded), modelDir);
  return { modelDir, loaded, data };
}

export { checkDataFitsModel };

/** The command's output as the run engine (train/run.ts) writes to it. */
export function runOutput(ctx: CommandContext): RunOutput {
  return {
    info: (line) => info(ctx, line),
    warn: (line) => ctx.warn(line),
    progress: (options) => ctx.progress(options),
    printJson: (value) => ctx.printJson(value),
    interruptSignal: () => ctx.interruptSignal(),
  };
}

export const checkpointEveryFlag = {
  name: 'checkpoint-every', type: 'number', min: 0, default: 60, metavar: 'SECONDS', help: 'save at least this often (0: only at the end and on Ctrl-C)',
} as const satisfies NumberFlag;

export const resumeFlag = { name: 'resume', type: 'boolean', help: 'continue the run saved in --out from its last checkpoint' } as const satisfies BooleanFlag;

/** The flags of a training command that the run engine takes. */
export interface RunFlagValues {
  resume: boolean;
  steps?: number;
  batch?: number;
  lr?: number;
  seed?: number;
  checkpointEvery: number;
  evalEvery: number;
  backend: string;
  /** --precision, where the command has it (train). */
  precision?: string;
}

/** The run engine's options (train/run.ts) from a training command's flags. */
export function runOptions(flags: RunFlagValues, out: string, defaults: RunOptions['defaults'], ctx: CommandContext): RunOptions {
  const { resume, steps, batch, lr, seed, evalEvery } = flags;
  return {
    out, resume, steps, batch, lr, seed, evalEvery, defaults,
    checkpointEverySeconds: flags.checkpointEvery,
    backend: () => useBackend(flags.backend as BackendChoice, ctx, (flags.precision ?? 'fp32') as Precision),
    output: runOutput(ctx),
  };
}
