/**
 * The categorical pixel likelihood (`likelihood: 'categorical'`): the decoder
 * gives 256 logits per pixel value; the reconstruction is the categorical's
 * mean; the loss is -log p(byte) in nats. Checked against float64
 * computations written here from the decoder's raw logits. Models saved
 * before the key existed load as 'mse'.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../src/backend/select.js';
import { loadModel, saveModel } from '../../src/model/checkpoint.js';
import { makeModelConfig, validateModelConfig } from '../../src/model/config.js';
import { pixelNll } from '../../src/model/likelihood.js';
import { pixelsToInput, VqVae } from '../../src/model/vqvae.js';
import { evaluate } from '../../src/train/evaluate.js';
import type { ImageDataset } from '../../src/data/dataset.js';

const config = makeModelConfig({ hidden: 8, resHidden: 4, resBlocks: 1, codebookSize: 8, codeDim: 4, imageHeight: 8, imageWidth: 8, likelihood: 'categorical' });
const pixels = Uint8Array.from({ length: 2 * 64 }, (_, i) => (i * 37) % 256);

before(async () => {
  await selectBackend('auto');
});

/** log-sum-exp of a row, float64. */
function logSumExp(row: ArrayLike<number>): number {
  const max = Math.max(...Array.from(row));
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += Math.exp(row[i]! - max);
  return max + Math.log(sum);
}

describe('categorical likelihood', () => {
  it('gives 256 logits per pixel value, and the mean of their softmax as the reconstruction', () => {
    const model = new VqVae(config, 1);
    const x = pixelsToInput(pixels, 2, 8, 8, 1);
    const out = model.forward(x);
    assert.deepEqual(out.logits!.shape, [2, 8, 8, 1, 256]);
    const logits = out.logits!.dataSync();
    const reconstruction = out.reconstruction.dataSync();
    for (let p = 0; p < 128; p++) {
      const row = logits.subarray(p * 256, (p + 1) * 256);
      const lse = logSumExp(row);
      let mean = 0;
      for (let v = 0; v < 256; v++) mean += Math.exp(row[v]! - lse) * (v / 255 - 0.5);
      assert.ok(Math.abs(reconstruction[p]! - mean) < 1e-5, `pixel ${p}: ${reconstruction[p]} vs ${mean}`);
    }
    tf.dispose([x, ...Object.values(out)]);
    model.dispose();
  });

  it('scores -log p(byte) in nats, and evaluate() averages it per pixel value', () => {
    const model = new VqVae(config, 2);
    const x = pixelsToInput(pixels, 2, 8, 8, 1);
    const out = model.forward(x);
    const nll = pixelNll(out.logits!, x).dataSync();
    const logits = out.logits!.dataSync();
    let total = 0;
    for (let p = 0; p < 128; p++) {
      const row = logits.subarray(p * 256, (p + 1) * 256);
      const expected = logSumExp(row) - row[pixels[p]!]!;
      assert.ok(Math.abs(nll[p]! - expected) < 1e-4, `pixel ${p}: ${nll[p]} vs ${expected}`);
      total += expected;
    }
    const data: ImageDataset = { spec: 'test', split: 'test', count: 2, height: 8, width: 8, channels: 1, images: pixels, labels: new Int32Array(2) };
    const metrics = evaluate(model, data);
    assert.ok(Math.abs(metrics.reconstructionNats! - total / 128) < 1e-5);
    // An untrained decoder is close to uniform over 256 values: about 8 bits a value.
    assert.ok(Math.abs(metrics.reconstructionNats! / Math.LN2 - 8) < 0.5, `${metrics.reconstructionNats! / Math.LN2} bits`);
    tf.dispose([x, ...Object.values(out)]);
    model.dispose();
  });

  it('an MSE model has no logits and evaluate() gives no likelihood', () => {
    const model = new VqVae({ ...config, likelihood: 'mse' }, 1);
    const x = pixelsToInput(pixels, 2, 8, 8, 1);
    const out = model.forward(x);
    assert.equal(out.logits, undefined);
    assert.deepEqual(out.reconstruction.shape, [2, 8, 8, 1]);
    const data: ImageDataset = { spec: 'test', split: 'test', count: 2, height: 8, width: 8, channels: 1, images: pixels, labels: new Int32Array(2) };
    assert.equal(evaluate(model, data).reconstructionNats, undefined);
    tf.dispose([x, ...Object.values(out)]);
    model.dispose();
  });

  it('a model directory saved before the key existed loads as mse', () => {
    const { likelihood: _, ...old } = makeModelConfig({});
    assert.equal(validateModelConfig(old).likelihood, 'mse');
    assert.throws(() => validateModelConfig({ ...old, likelihood: 'gaussian' }), /"likelihood" must be one of 'mse', 'categorical', found "gaussian"/);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vqvae-likelihood-'));
    const model = new VqVae({ ...config, likelihood: 'mse' }, 0);
    saveModel(dir, model);
    const file = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    delete file.model.likelihood;
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(file));
    const loaded = loadModel(dir);
    assert.equal(loaded.model.likelihood, 'mse');
    loaded.vqvae.dispose();
    model.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
