/**
 * Flags and steps that several commands share: where the data comes from,
 * which backend runs, loading a model directory and checking that data fits it.
 */
import * as tf from '@tensorflow/tfjs-core';
import { BACKEND_CHOICES, selectBackend, type BackendChoice } from '../backend/select.js';
import type { ImageDataset, Split } from '../data/dataset.js';
import { loadDataset } from '../data/load.js';
import { UserError } from '../errors.js';
import type { ModelConfig } from '../model/config.js';
import { loadModel, type LoadedModel } from '../model/checkpoint.js';
import type { CommandContext } from './command.js';
import { UsageError, type ChoiceFlag, type IntFlag, type StringFlag } from './flags.js';

export const backendFlag = {
  name: 'backend',
  type: 'choice',
  choices: BACKEND_CHOICES,
  default: 'auto',
  help: 'tensor backend: auto picks the fastest that loads (native, then wasm, then cpu)',
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
  required: true,
  metavar: 'DIR',
  help: 'model directory written by `vqvae train` (config.json + weights.safetensors)',
} as const satisfies StringFlag;

export const DATA_HELP = 'data: mnist, fashion-mnist[:DIR], cifar10:DIR or folder:DIR';

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
export async function useBackend(choice: BackendChoice, ctx: CommandContext): Promise<string> {
  // PROD mode drops tfjs's debug checks and its advice to install tfjs-node.
  tf.env().set('PROD', true);
  const selected = await selectBackend(choice);
  info(ctx, `backend: ${selected.reason}`);
  return selected.name;
}

/** A line of information: stdout normally, stderr when stdout carries JSON. */
export function info(ctx: CommandContext, line: string): void {
  if (ctx.json) ctx.stderr.write(`${line}\n`);
  else ctx.print(line);
}

export async function loadData(
  spec: string,
  options: { split: Split; limit?: number; resize?: [number, number] },
): Promise<ImageDataset> {
  return loadDataset(spec, options);
}

export function openModel(dir: string): LoadedModel {
  return loadModel(dir);
}

/** Throws unless the data's images have the size and channels the model expects. */
export function checkDataFitsModel(data: ImageDataset, config: ModelConfig, modelDir: string): void {
  const want = `${config.imageHeight}x${config.imageWidth}x${config.inputChannels}`;
  const found = `${data.height}x${data.width}x${data.channels}`;
  if (want !== found) {
    throw new UserError(
      `${data.spec} has ${found} images (height x width x channels) but the model in ${modelDir} expects ${want}` +
        (data.channels === config.inputChannels ? '; for a folder, --resize can make them fit' : ''),
    );
  }
}
