/**
 * End to end: `vqvae train`, `eval`, `encode`, `decode` and `reconstruct` on
 * one tiny MNIST model, trained once in `before` and shared. Outputs are
 * checked against independent computations: the .npy and PNG files are
 * parsed here from their specifications, and the numbers are recomputed in
 * float64 from the library's forward pass.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';

import { loadAddon } from '../../src/backend/native/addon.js';
import { selectBackend } from '../../src/backend/select.js';
import type { ImageDataset } from '../../src/data/dataset.js';
import { loadDataset } from '../../src/data/load.js';
import { loadModel } from '../../src/model/checkpoint.js';
import { TRAIN_QUANTIZER_DEFAULTS } from '../../src/quantize/recipe.js';
import { evaluate } from '../../src/train/evaluate.js';
import {
  assertDecodedEqualsReconstructed,
  assertOk,
  assertUnchanged,
  int32Npy,
  int32Values,
  lastJson,
  parseNpy,
  readCell,
  readConfig,
  readPng,
  snapshot,
  tempDir,
  TINY_K,
  trainTiny,
  vqvae,
  type CliResult,
} from './helpers.js';

/** What `--backend auto` gives here: native where the addon loads, else wasm. */
const AUTO_BACKEND = loadAddon().addon !== undefined ? 'native' : 'wasm';

const root = tempDir();
const modelDir = path.join(root, 'model');
let trained: CliResult;

/** 28x28 MNIST drawn at the default upscale of `vqvae decode`/`reconstruct` (2 below 64 pixels) with 2 pixels of padding. */
const SIDE = 28;
const UPSCALE = 2;
const PAD = 2;
const CELL = SIDE * UPSCALE + PAD;

before(async () => {
  await selectBackend('auto');
  trained = await trainTiny(modelDir, '--json');
});

/** Images in the model's input scale, x = pixels / 255 - 0.5, built here rather than with src helpers. */
function inputOf(data: ImageDataset): tf.Tensor4D {
  const x = Float32Array.from(data.images, (p) => p / 255 - 0.5);
  return tf.tensor4d(x, [data.count, data.height, data.width, data.channels]);
}

/** Model output in input scale to the bytes a PNG shows: clip to [0, 1], scale to 0..255, round. */
function toBytes(values: ArrayLike<number>): Uint8Array {
  return Uint8Array.from(values, (v) => Math.round(Math.min(1, Math.max(0, v + 0.5)) * 255));
}

/** Reconstructions and code indices of the model in `dir` for `data`, from the library. */
function forwardOf(dir: string, data: ImageDataset): { reconstruction: Float32Array; indices: Int32Array } {
  const { vqvae: model } = loadModel(dir);
  const x = inputOf(data);
  const out = model.forward(x);
  const result = { reconstruction: out.reconstruction.dataSync() as Float32Array, indices: out.indices.dataSync() as Int32Array };
  tf.dispose([x, ...Object.values(out)]);
  model.dispose();
  return result;
}

describe('vqvae train', () => {
  it('--json ends stdout with the summary: steps, images_per_s, final_loss, backend', () => {
    const summary = lastJson(trained);
    assert.deepEqual(Object.keys(summary).sort(), ['backend', 'final_loss', 'images_per_s', 'steps']);
    assert.equal(summary['steps'], 4);
    assert.equal(summary['backend'], AUTO_BACKEND);
    assert.equal(typeof summary['images_per_s'], 'number');
    assert.ok((summary['images_per_s'] as number) > 0 && Number.isFinite(summary['images_per_s']));
    assert.equal(typeof summary['final_loss'], 'number');
    assert.ok(Number.isFinite(summary['final_loss']));
    // The same loss is recorded in the checkpoint: two views of one number.
    assert.equal(readConfig(modelDir).training['loss'], summary['final_loss']);
    // Under --json, stdout is the JSON line only; information goes to stderr.
    assert.equal(trained.stdoutLines.length, 1, trained.stdout);
  });

  it('says which backend runs (stderr under --json, stdout without)', async () => {
    assert.match(trained.stderr, new RegExp(`^backend: ${AUTO_BACKEND}\\b`, 'm'));
    const plain = await vqvae('eval', '--model', modelDir, '--limit', '8');
    assertOk(plain);
    assert.match(plain.stdout, new RegExp(`^backend: ${AUTO_BACKEND}\\b`, 'm'));
  });

  it('writes config.json, weights.safetensors and report.html and nothing else (no temp files)', () => {
    assert.deepEqual(fs.readdirSync(modelDir).sort(), ['config.json', 'report.html', 'weights.safetensors']);
    const config = readConfig(modelDir);
    assert.equal(config.training.step, 4);
    assert.deepEqual(
      [config.model['hidden'], config.model['resHidden'], config.model['codebookSize'], config.model['codeDim'], config.model['quantizer']],
      [16, 8, TINY_K, 8, TRAIN_QUANTIZER_DEFAULTS.quantizer],
    );
    assert.equal(config.training['data'], 'mnist');
  });
});

describe('vqvae eval', () => {
  it('--json reports mse, psnr_db, perplexity, codes_used (with its fraction and the dead codes) and images, matching a recomputation', async () => {
    const result = await vqvae('eval', '--model', modelDir, '--data', 'mnist', '--limit', '48', '--json');
    assertOk(result);
    const m = lastJson(result);
    assert.deepEqual(Object.keys(m).sort(), ['codes_used', 'codes_used_fraction', 'dead_codes', 'images', 'mse', 'perplexity', 'psnr_db']);
    assert.equal(m['images'], 48);
    const mse = m['mse'] as number;
    assert.ok(mse > 0 && mse < 1, `mse ${mse}`);
    assert.ok(Math.abs((m['psnr_db'] as number) - 10 * Math.log10(1 / mse)) < 1e-9, `psnr_db ${m['psnr_db']} vs mse ${mse}`);

    // Recompute in float64 from the library's forward pass on the same 48 test digits.
    const data = await loadDataset('mnist', { split: 'test', limit: 48 });
    const { reconstruction, indices } = forwardOf(modelDir, data);
    let squared = 0;
    for (let i = 0; i < data.images.length; i++) {
      const shown = Math.min(1, Math.max(0, reconstruction[i]! + 0.5));
      squared += (shown - data.images[i]! / 255) ** 2;
    }
    const expectedMse = squared / data.images.length;
    // float32 sums per batch in eval vs float64 here: 1e-5 relative is ample for 37,632 terms.
    assert.ok(Math.abs(mse - expectedMse) <= 1e-5 * expectedMse, `mse ${mse}, recomputed ${expectedMse}`);
    const counts = new Map<number, number>();
    for (const k of indices) counts.set(k, (counts.get(k) ?? 0) + 1);
    let entropy = 0;
    for (const c of counts.values()) entropy -= (c / indices.length) * Math.log(c / indices.length);
    assert.equal(m['codes_used'], counts.size);
    assert.ok(Math.abs((m['perplexity'] as number) - Math.exp(entropy)) < 1e-9);
  });

  it('gives identical numbers twice and leaves the model files untouched', async () => {
    const before = snapshot(modelDir);
    const first = await vqvae('eval', '--model', modelDir, '--limit', '64', '--json');
    const second = await vqvae('eval', '--model', modelDir, '--limit', '64', '--json');
    assertOk(first);
    assertOk(second);
    assert.deepEqual(lastJson(second), lastJson(first));
    assert.equal(lastJson(first)['images'], 64);
    assertUnchanged(before, snapshot(modelDir));
  });

  it('leaves an --ema model, its EMA state included, untouched', async () => {
    const emaDir = path.join(root, 'ema');
    await trainTiny(emaDir, '--ema');
    assert.equal(readConfig(emaDir).model['quantizer'], 'ema');
    const before = snapshot(emaDir);
    const first = await vqvae('eval', '--model', emaDir, '--limit', '64', '--json');
    const second = await vqvae('eval', '--model', emaDir, '--limit', '64', '--json');
    assertOk(first);
    assertOk(second);
    assert.deepEqual(lastJson(second), lastJson(first));
    assertUnchanged(before, snapshot(emaDir));

    // In memory too: evaluating changes no variable, the EMA counts and sums included.
    const loaded = loadModel(emaDir);
    const state = loaded.vqvae.state();
    assert.ok(Object.keys(state).some((name) => /ema|count|sum/i.test(name)), `no EMA state among ${Object.keys(state).join(', ')}`);
    const values = Object.fromEntries(Object.entries(state).map(([name, v]) => [name, Array.from(v.dataSync())]));
    evaluate(loaded.vqvae, await loadDataset('mnist', { split: 'test', limit: 64 }));
    for (const [name, v] of Object.entries(loaded.vqvae.state())) assert.deepEqual(Array.from(v.dataSync()), values[name], name);
    loaded.vqvae.dispose();
  });
});

describe('vqvae encode / decode / reconstruct', () => {
  const N = 40;
  let codesFile: string;
  let labelsFile: string;

  before(async () => {
    codesFile = path.join(root, 'codes.npy');
    labelsFile = path.join(root, 'labels.npy');
    const result = await vqvae('encode', '--model', modelDir, '--data', 'mnist', '--split', 'test', '--limit', String(N), '--out', codesFile, '--labels-out', labelsFile);
    assertOk(result);
  });

  it('encode writes int32 codes [N, 7, 7] in 0..K-1, the nearest codes of the library', async () => {
    const npy = parseNpy(fs.readFileSync(codesFile));
    assert.equal(npy.descr, '<i4');
    assert.equal(npy.fortranOrder, false);
    assert.deepEqual(npy.shape, [N, 7, 7]);
    const values = int32Values(npy);
    assert.equal(values.length, N * 7 * 7);
    for (const v of values) assert.ok(Number.isInteger(v) && v >= 0 && v < TINY_K, `code ${v}`);
    const data = await loadDataset('mnist', { split: 'test', limit: N });
    assert.deepEqual(values, Array.from(forwardOf(modelDir, data).indices));
  });

  it('--labels-out writes int32 [N], the data set\'s labels', async () => {
    const npy = parseNpy(fs.readFileSync(labelsFile));
    assert.equal(npy.descr, '<i4');
    assert.deepEqual(npy.shape, [N]);
    const data = await loadDataset('mnist', { split: 'test', limit: N });
    assert.deepEqual(int32Values(npy), Array.from(data.labels));
    assert.ok(new Set(int32Values(npy)).size > 1, 'the first 40 test digits have more than one class');
  });

  it('decode draws one cell per code grid, in a near-square grid', async () => {
    const out = path.join(root, 'decoded.png');
    assertOk(await vqvae('decode', '--model', modelDir, '--codes', codesFile, '--out', out));
    const png = readPng(out);
    const columns = Math.ceil(Math.sqrt(N)); // 7
    const rows = Math.ceil(N / columns); // 6
    assert.equal(png.width, PAD + columns * CELL);
    assert.equal(png.height, PAD + rows * CELL);
    // Cells after the last image are background.
    const empty = readCell(png, PAD + (N % columns) * CELL, PAD + (rows - 1) * CELL, SIDE, SIDE, UPSCALE);
    assert.ok(empty.every((v) => v === 255));
  });

  it('decode(encode(x)) equals the reconstructions that reconstruct draws', async () => {
    const decodedFile = path.join(root, 'decoded-8.png');
    const reconstructedFile = path.join(root, 'reconstructed-40.png');
    assertOk(await vqvae('decode', '--model', modelDir, '--codes', codesFile, '--out', decodedFile, '--columns', '8'));
    assertOk(await vqvae('reconstruct', '--model', modelDir, '--data', 'mnist', '--limit', String(N), '--out', reconstructedFile, '--columns', '8'));
    assertDecodedEqualsReconstructed(decodedFile, reconstructedFile, N, 8);
  });

  it('decode of hand-written codes using many entries matches the library\'s decodeIndices', async () => {
    // The tiny model uses one code for everything, so write codes that use all K.
    const n = 3;
    const values = Array.from({ length: n * 49 }, (_, i) => (i * 7 + Math.floor(i / 49)) % TINY_K);
    const file = path.join(root, 'hand.npy');
    fs.writeFileSync(file, int32Npy([n, 7, 7], values));
    const out = path.join(root, 'hand.png');
    assertOk(await vqvae('decode', '--model', modelDir, '--codes', file, '--out', out, '--columns', '3'));
    const png = readPng(out);
    assert.equal(png.width, PAD + 3 * CELL);
    assert.equal(png.height, PAD + CELL);

    const { vqvae: model } = loadModel(modelDir);
    const indices = tf.tensor3d(values, [n, 7, 7], 'int32');
    const images = model.decodeIndices(indices);
    const expected = toBytes(images.dataSync());
    tf.dispose([indices, images]);
    model.dispose();
    for (let i = 0; i < n; i++) {
      const cell = readCell(png, PAD + i * CELL, PAD, SIDE, SIDE, UPSCALE);
      assert.deepEqual(cell, expected.subarray(i * SIDE * SIDE, (i + 1) * SIDE * SIDE), `image ${i}`);
    }
    // Different codes give different images: the check above is not comparing constants.
    assert.notDeepEqual(expected.subarray(0, SIDE * SIDE), expected.subarray(SIDE * SIDE, 2 * SIDE * SIDE));
  });

  it('reconstruct draws originals above reconstructions, top-left cell = first test digit at 2x', async () => {
    const out = path.join(root, 'reconstruction.png');
    const result = await vqvae('reconstruct', '--model', modelDir, '--data', 'mnist', '--out', out);
    assertOk(result);
    const png = readPng(out);
    // Defaults: 32 test images, 8 per row → 4 bands of 2 rows, 3 * PAD between bands.
    assert.equal(png.width, PAD + 8 * CELL);
    assert.equal(png.height, PAD + 8 * CELL + 3 * (3 * PAD));
    const data = await loadDataset('mnist', { split: 'test', limit: 32 });
    assert.deepEqual(readCell(png, PAD, PAD, SIDE, SIDE, UPSCALE), data.images.subarray(0, SIDE * SIDE));
    // The last original (index 31) at band 3, column 7.
    assert.deepEqual(readCell(png, PAD + 7 * CELL, PAD + 6 * CELL + 3 * 3 * PAD, SIDE, SIDE, UPSCALE), data.images.subarray(31 * SIDE * SIDE));
    // Below the first original: its reconstruction, as the library computes it.
    const { reconstruction } = forwardOf(modelDir, data);
    assert.deepEqual(readCell(png, PAD, PAD + CELL, SIDE, SIDE, UPSCALE), toBytes(reconstruction.subarray(0, SIDE * SIDE)));
  });
});
