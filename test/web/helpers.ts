/// <reference lib="dom" />
/**
 * Shared by the web tests: small models with seeded random weights written as
 * `vqvae train` writes them, a random PixelCNN prior written as `vqvae prior
 * train` does (format "vqvae-prior", Adam state included), and headless
 * Chromium for the page tests.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import type * as tf from '@tensorflow/tfjs-core';
import { saveCheckpoint } from '../../src/io/checkpoint.js';
import type { NamedTensor } from '../../src/io/safetensors.js';
import { saveModel } from '../../src/model/checkpoint.js';
import { makeModelConfig, type ModelConfig } from '../../src/model/config.js';
import { VqVae } from '../../src/model/vqvae.js';
import { makePriorConfig, type PriorConfig } from '../../src/prior/config.js';
import { PixelCnn } from '../../src/prior/pixelcnn.js';
import { makeTempDir } from '../shared/tempDirs.js';

export { literal } from '../shared/assertions.js';

/** A fresh directory under the OS temp dir, removed when the process exits. */
export function tempDir(prefix = 'vqvae-web-'): string {
  return makeTempDir(prefix);
}

export const SMALL: Partial<ModelConfig> = { hidden: 16, resHidden: 8, codebookSize: 16, codeDim: 8 };

/** Saves a seeded random model with `overrides` into `dir`; returns its config. */
export function writeRandomModel(dir: string, overrides: Partial<ModelConfig> = SMALL, seed = 1): ModelConfig {
  const model = new VqVae(makeModelConfig(overrides), seed);
  saveModel(dir, model);
  const config = model.config;
  model.dispose();
  return config;
}

function named(variables: ReadonlyMap<string, tf.Variable>): Record<string, NamedTensor> {
  const out: Record<string, NamedTensor> = {};
  for (const [name, v] of variables) out[name] = { dtype: 'F32', shape: v.shape.slice(), data: v.dataSync() as Float32Array };
  return out;
}

/** Saves a seeded random prior for grids of `codebookSize` codes, with fake Adam moments as a trained one has. */
export function writeRandomPrior(
  dir: string,
  config: Pick<PriorConfig, 'codebookSize' | 'height' | 'width'> & Partial<PriorConfig>,
  seed = 2,
): PriorConfig {
  const prior = new PixelCnn(makePriorConfig({ channels: 16, layers: 2, ...config }), seed);
  const tensors = named(prior.variables);
  const first = Object.keys(tensors)[0]!;
  tensors[`adam.m.${first}`] = { ...tensors[first]!, data: new Float32Array(tensors[first]!.data.length).fill(0.5) };
  const training = { codes: 'codes.npy', step: 0, totalSteps: 0, batch: 32, learningRate: 1e-3, seed, backend: 'cpu', trainingSeconds: 0 };
  saveCheckpoint(dir, { format: 'vqvae-prior', version: 1, prior: prior.config, training }, tensors, { format: 'vqvae-prior' });
  const result = prior.config;
  prior.dispose();
  return result;
}

/**
 * Debian's chromium (`apt-get install chromium`; .ci/run installs it), or
 * CHROMIUM_PATH. Missing, the page tests fail saying so rather than skip.
 */
export function chromiumPath(): string {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter((p): p is string => !!p);
  const found = candidates.find((p) => fs.existsSync(p));
  assert.ok(
    found,
    `the browser tests need Chromium and found none at ${candidates.join(', ')}: install it (apt-get install chromium; .ci/run does) or set CHROMIUM_PATH`,
  );
  return found;
}

/** Headless Chromium; `args` are extra command-line switches (e.g. a fake microphone). */
export async function launchChromium(args: string[] = []): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), headless: true, args });
}

/** test-output/web under the repository root (gitignored), for screenshots. */
export function screenshotDir(): string {
  const dir = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../../test-output/web');
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** A 28x28 image's canvas (drawn scaled up) read back at the centre of each image pixel: grey bytes [28 * 28]. */
export function canvasPixels(page: Page, id: string): Promise<number[]> {
  return page.evaluate((canvasId) => {
    const canvas = document.getElementById(canvasId) as HTMLCanvasElement;
    const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    const out: number[] = [];
    const step = canvas.width / 28;
    for (let y = 0; y < 28; y++) {
      for (let x = 0; x < 28; x++) out.push(data[4 * (Math.floor((y + 0.5) * step) * canvas.width + Math.floor((x + 0.5) * step))]!);
    }
    return out;
  }, id);
}
