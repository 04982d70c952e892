/**
 * End to end: `vqvae encode --labels-out` → `vqvae prior train` → `vqvae
 * sample` and `vqvae eval --prior`, on the tiny MNIST model; exact resume;
 * Ctrl-C; and the one-line errors for bad input. Numbers are recomputed here
 * independently (a float64 softmax over the prior's logits), files parsed
 * with the test helpers' own .npy and PNG readers.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';

import { selectBackend } from '../../src/backend/select.js';
import { loadDataset } from '../../src/data/load.js';
import { loadModel } from '../../src/model/checkpoint.js';
import { loadPrior } from '../../src/prior/checkpoint.js';
import {
  assertFails,
  assertSamePriorWeights,
  bitsPerCodeOf,
  assertOk,
  assertUnchanged,
  int32Npy,
  int32Values,
  lastJson,
  literal,
  npyBytes,
  parseNpy,
  readConfig,
  readPng,
  sleep,
  snapshot,
  spawnVqvae,
  tempDir,
  TINY_K,
  trainTiny,
  vqvae,
} from './helpers.js';

const root = tempDir();
const modelDir = path.join(root, 'model');
const codes = path.join(root, 'codes.npy');
const labels = path.join(root, 'labels.npy');
const priorDir = path.join(root, 'prior');
/** A prior small enough to train a few steps in about a second. */
const TINY_PRIOR = ['--channels', '8', '--layers', '1', '--batch', '16'] as const;
let trained: Record<string, unknown>;

function priorTrain(out: string, ...extra: string[]) {
  return vqvae('prior', 'train', '--codes', codes, '--labels', labels, '--model', modelDir, '--out', out, ...TINY_PRIOR, ...extra);
}

before(async () => {
  await selectBackend('auto');
  await trainTiny(modelDir);
  assertOk(await vqvae('encode', '--model', modelDir, '--data', 'mnist', '--limit', '128', '--out', codes, '--labels-out', labels));
  const result = await priorTrain(priorDir, '--steps', '3', '--json');
  assertOk(result);
  trained = lastJson(result);
});

describe('vqvae prior train', () => {
  it('--json ends stdout with the summary and writes a prior directory', () => {
    assert.deepEqual(Object.keys(trained).sort(), ['backend', 'final_bits_per_code', 'final_loss', 'grids_per_s', 'steps']);
    assert.equal(trained['steps'], 3);
    assert.ok(Math.abs((trained['final_bits_per_code'] as number) - (trained['final_loss'] as number) / Math.LN2) < 1e-9);
    const file = readConfig(priorDir) as unknown as { format: string; prior: Record<string, number>; training: Record<string, unknown> };
    assert.equal(file.format, 'vqvae-prior');
    // K from --model, the grid from the codes, 10 classes from the MNIST labels.
    assert.deepEqual(file.prior, { codebookSize: TINY_K, height: 7, width: 7, channels: 8, layers: 1, kernelSize: 3, numClasses: 10 });
    assert.equal(file.training['step'], 3);
    assert.equal(file.training['codes'], codes);
  });

  it('resumed, ends with exactly the weights of an uninterrupted run', async () => {
    const whole = path.join(root, 'whole');
    const split = path.join(root, 'split');
    assertOk(await priorTrain(whole, '--steps', '4'));
    assertOk(await priorTrain(split, '--steps', '2'));
    const resumed = await priorTrain(split, '--steps', '4', '--resume');
    assertOk(resumed);
    assert.match(resumed.stdout, new RegExp(`^resuming ${literal(split).source} from step 2\\b`, 'm'));
    await assertSamePriorWeights(whole, split);
  });

  it('scores --test-codes at the end, as an independent computation does', async () => {
    const out = path.join(root, 'with-test');
    const result = await priorTrain(out, '--steps', '2', '--test-codes', codes, '--test-labels', labels, '--json');
    assertOk(result);
    const prior = await loadPrior(out);
    const grids = new Int32Array(int32Values(parseNpy(fs.readFileSync(codes))));
    const classes = new Int32Array(int32Values(parseNpy(fs.readFileSync(labels))));
    const expected = bitsPerCodeOf(prior, grids, classes, 128);
    assert.ok(Math.abs((lastJson(result)['test_bits_per_code'] as number) - expected) < 1e-4, `${lastJson(result)['test_bits_per_code']} vs ${expected}`);
    prior.dispose();
  });

  it('Ctrl-C saves the current step, exits 130, and --resume continues', { timeout: 120_000 }, async () => {
    const out = path.join(root, 'sigint');
    const child = spawnVqvae(['prior', 'train', '--codes', codes, '--labels', labels, '--out', out, ...TINY_PRIOR, '--steps', '100000', '--checkpoint-every', '0']);
    await child.waitFor(/^step 0\/100000/m);
    await sleep(1500);
    child.process.kill('SIGINT');
    const { code } = await child.exited;
    assert.equal(code, 130, child.stderr());
    const match = /^interrupted at step (\d+)\b/m.exec(child.stdout());
    assert.ok(match, child.stdout());
    assert.equal(readConfig(out).training.step, Number(match[1]));
    const step = Number(match[1]);
    const resumed = await vqvae('prior', 'train', '--codes', codes, '--labels', labels, '--out', out, '--steps', String(step + 1), '--resume');
    assertOk(resumed);
    assert.equal(readConfig(out).training.step, step + 1);
  });

  it('refuses bad input with one line naming the file or flag, touching nothing', async () => {
    const floats = path.join(root, 'floats.npy');
    fs.writeFileSync(floats, npyBytes('<f4', [1, 7, 7], Buffer.alloc(49 * 4)));
    assertFails(await vqvae('prior', 'train', '--codes', floats, '--out', path.join(root, 'x1')), 1, literal(floats), /int32 or int64/);
    const flat = path.join(root, 'flat.npy');
    fs.writeFileSync(flat, int32Npy([4, 49], new Array(196).fill(0)));
    assertFails(await vqvae('prior', 'train', '--codes', flat, '--out', path.join(root, 'x2')), 1, literal(flat), /\[N, h, w\]/);
    const short = path.join(root, 'short-labels.npy');
    fs.writeFileSync(short, int32Npy([3], [0, 1, 2]));
    assertFails(await vqvae('prior', 'train', '--codes', codes, '--labels', short, '--out', path.join(root, 'x3')), 1, literal(short), /\[128\]/);
    const big = path.join(root, 'big.npy');
    fs.writeFileSync(big, int32Npy([1, 7, 7], [...new Array(48).fill(0), TINY_K]));
    assertFails(await vqvae('prior', 'train', '--codes', big, '--model', modelDir, '--out', path.join(root, 'x4')), 1, literal(big), new RegExp(`code ${TINY_K}\\b`));
    assertFails(await vqvae('prior', 'train', '--codes', codes, '--out', path.join(root, 'x5'), '--kernel-size', '4'), 2, /--kernel-size must be odd/);
    assert.ok(!fs.existsSync(path.join(root, 'x1')) && !fs.existsSync(path.join(root, 'x4')));

    const before = snapshot(priorDir);
    assertFails(await priorTrain(priorDir, '--steps', '4'), 1, literal(priorDir), /--resume/);
    const mismatch = ['prior', 'train', '--codes', codes, '--labels', labels, '--out', priorDir, '--channels', '16', '--steps', '4', '--resume'];
    assertFails(await vqvae(...mismatch), 1, /--channels 16/, literal(priorDir));
    assertFails(await vqvae('prior', 'train', '--codes', codes, '--out', priorDir, '--steps', '4', '--resume'), 1, /no --labels/, literal(priorDir));
    assertUnchanged(before, snapshot(priorDir));
  });
});

describe('vqvae sample', () => {
  it('--class all draws one row per class: a PNG of 10 rows, codes that decode to it, repeatable for a seed', async () => {
    const png = path.join(root, 'samples.png');
    const npy = path.join(root, 'samples.npy');
    const result = await vqvae('sample', '--model', modelDir, '--prior', priorDir, '--class', 'all', '--n', '30', '--out', png, '--codes-out', npy, '--json');
    assertOk(result);
    assert.equal(lastJson(result)['images'], 30);
    // 10 rows of 3 cells, each 28 * 2 + 2 pixels, plus 2 pixels of padding at the far edge.
    const image = readPng(png);
    assert.deepEqual([image.width, image.height], [3 * 58 + 2, 10 * 58 + 2]);
    const npyFile = parseNpy(fs.readFileSync(npy));
    assert.deepEqual([npyFile.descr, npyFile.shape], ['<i4', [30, 7, 7]]);
    const sampled = int32Values(npyFile);
    assert.ok(sampled.every((v) => v >= 0 && v < TINY_K));

    const again = path.join(root, 'again.npy');
    assertOk(await vqvae('sample', '--model', modelDir, '--prior', priorDir, '--class', 'all', '--n', '30', '--out', path.join(root, 'again.png'), '--codes-out', again));
    assert.deepEqual(int32Values(parseNpy(fs.readFileSync(again))), sampled);
    assert.ok(fs.readFileSync(path.join(root, 'again.png')).equals(fs.readFileSync(png)));
    // Without --class a class-conditional prior draws every class evenly: the same as --class all.
    const evenly = path.join(root, 'evenly.npy');
    assertOk(await vqvae('sample', '--model', modelDir, '--prior', priorDir, '--n', '30', '--out', path.join(root, 'evenly.png'), '--codes-out', evenly));
    assert.deepEqual(int32Values(parseNpy(fs.readFileSync(evenly))), sampled);
    const other = path.join(root, 'other.npy');
    assertOk(await vqvae('sample', '--model', modelDir, '--prior', priorDir, '--class', 'all', '--n', '30', '--seed', '1', '--out', path.join(root, 'other.png'), '--codes-out', other));
    assert.notDeepEqual(int32Values(parseNpy(fs.readFileSync(other))), sampled);

    // The image is the model's decoding of the sampled codes: decode them the same way and compare files.
    const decoded = path.join(root, 'decoded.png');
    assertOk(await vqvae('decode', '--model', modelDir, '--codes', npy, '--out', decoded, '--columns', '3'));
    assert.ok(fs.readFileSync(decoded).equals(fs.readFileSync(png)));
  });

  it('refuses a class out of range, a bad class and a wrong kind of directory', async () => {
    const out = path.join(root, 'bad.png');
    assertFails(await vqvae('sample', '--model', modelDir, '--prior', priorDir, '--class', '10', '--out', out), 2, /--class 10/, /0\.\.9/);
    assertFails(await vqvae('sample', '--model', modelDir, '--prior', priorDir, '--n', '15', '--out', out), 2, /multiple of the 10 classes/);
    assertFails(await vqvae('sample', '--model', modelDir, '--prior', priorDir, '--class', 'shoes', '--out', out), 2, /--class/, /shoes/);
    assertFails(await vqvae('sample', '--model', modelDir, '--prior', modelDir, '--class', '1', '--out', out), 1, /not a prior/, /--model/);
    assertFails(await vqvae('sample', '--model', modelDir, '--prior', priorDir, '--class', 'all', '--n', '15', '--out', out), 2, /multiple of the 10 classes/);
    assert.ok(!fs.existsSync(out));
  });
});

describe('vqvae eval --prior', () => {
  it('adds the prior\'s NLL of the split\'s codes in bits per code, as computed independently', async () => {
    const result = await vqvae('eval', '--model', modelDir, '--prior', priorDir, '--data', 'mnist', '--limit', '64', '--json');
    assertOk(result);
    const summary = lastJson(result);
    assert.equal(summary['uniform_bits_per_code'], Math.log2(TINY_K));

    const { vqvae: model } = loadModel(modelDir);
    const data = await loadDataset('mnist', { split: 'test', limit: 64 });
    const x = tf.tensor4d(Float32Array.from(data.images, (p) => p / 255 - 0.5), [64, 28, 28, 1]);
    const grids = model.encodeIndices(x).dataSync() as Int32Array;
    const prior = await loadPrior(priorDir);
    const expected = bitsPerCodeOf(prior, grids, data.labels, 64);
    assert.ok(Math.abs((summary['prior_bits_per_code'] as number) - expected) < 1e-4, `${summary['prior_bits_per_code']} vs ${expected}`);
    tf.dispose(x);
    model.dispose();
    prior.dispose();
  });
});

describe('bits per dimension (train --likelihood categorical, eval --prior)', () => {
  it('eval gives the bound (-log p(x|z) - log p(z)) / (pixel values x ln 2), as computed independently', async () => {
    const catModel = path.join(root, 'categorical');
    await trainTiny(catModel, '--likelihood', 'categorical');
    assert.equal(readConfig(catModel).model['likelihood'], 'categorical');
    const catCodes = path.join(root, 'cat-codes.npy');
    assertOk(await vqvae('encode', '--model', catModel, '--data', 'mnist', '--limit', '64', '--out', catCodes));
    const catPrior = path.join(root, 'cat-prior');
    assertOk(await vqvae('prior', 'train', '--codes', catCodes, '--model', catModel, '--out', catPrior, ...TINY_PRIOR, '--steps', '2'));
    const result = await vqvae('eval', '--model', catModel, '--prior', catPrior, '--data', 'mnist', '--limit', '16', '--json');
    assertOk(result);
    const summary = lastJson(result);

    // Independently: nats of every pixel byte under the decoder's softmax, and of every code under the prior's.
    const { vqvae: model } = loadModel(catModel);
    const data = await loadDataset('mnist', { split: 'test', limit: 16 });
    const x = tf.tensor4d(Float32Array.from(data.images, (p) => p / 255 - 0.5), [16, 28, 28, 1]);
    const out = model.forward(x);
    const logits = out.logits!.dataSync();
    let pixelNats = 0;
    for (let p = 0; p < 16 * 784; p++) {
      const row = Array.from(logits.subarray(p * 256, (p + 1) * 256));
      const max = Math.max(...row);
      pixelNats += max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0)) - row[data.images[p]!]!;
    }
    const prior = await loadPrior(catPrior);
    const codeNats = bitsPerCodeOf(prior, out.indices.dataSync() as Int32Array, undefined, 16) * Math.LN2 * 16 * 49;
    const expected = (pixelNats + codeNats) / 16 / (784 * Math.LN2);
    assert.ok(Math.abs((summary['bits_per_dim'] as number) - expected) < 1e-4, `${summary['bits_per_dim']} vs ${expected}`);
    assert.ok(Math.abs((summary['reconstruction_bits_per_dim'] as number) - pixelNats / (16 * 784 * Math.LN2)) < 1e-4);
    // Units: 4 training steps leave the decoder near uniform over 256 values, so near 8 bits, not 8 / ln 2 or 8 ln 2.
    // (about 8 + 49 x 5 / 784 = 8.3 here; a nats/bits mix-up would give 5.8 or 12).
    assert.ok((summary['bits_per_dim'] as number) > 7.5 && (summary['bits_per_dim'] as number) < 8.7, `${summary['bits_per_dim']}`);
    tf.dispose([x, ...Object.values(out)]);
    model.dispose();
    prior.dispose();
  });

  it('an MSE model gives no bits_per_dim', async () => {
    const result = await vqvae('eval', '--model', modelDir, '--prior', priorDir, '--data', 'mnist', '--limit', '16', '--json');
    assertOk(result);
    assert.equal(lastJson(result)['bits_per_dim'], undefined);
    assert.equal(typeof lastJson(result)['prior_bits_per_code'], 'number');
  });
});
