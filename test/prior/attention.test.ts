/**
 * The PixelCNN prior with a causal self-attention block (config.attention,
 * pixelcnn.ts): sampling, which then runs the whole network per position,
 * draws exactly what an independent sequential draw from `logits` does (the
 * same generator, an inverse-CDF draw in float64 written here); the block's
 * weights and its config key survive a save and load; a config without
 * attention is written without the key, as before it existed. Causality is
 * in causality.test.ts.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../src/backend/select.js';
import { loadPrior, savePrior } from '../../src/prior/checkpoint.js';
import { makePriorConfig } from '../../src/prior/config.js';
import { PixelCnn } from '../../src/prior/pixelcnn.js';
import { samplePrior } from '../../src/prior/sample.js';
import { mulberry32 } from '../../src/random.js';

before(async () => {
  await selectBackend('auto');
});

describe('PixelCnn with attention', () => {
  it('samplePrior draws what a sequential draw from the full logits draws', async () => {
    const config = makePriorConfig({ codebookSize: 5, height: 3, width: 4, channels: 8, layers: 1, attention: 2, numClasses: 2 });
    const prior = new PixelCnn(config, 5);
    const n = 3;
    const labels = Int32Array.from([0, 1, 1]);
    const drawn = await samplePrior(prior, { n, labels, seed: 9, temperature: 0.7 });
    const { height: h, width: w, codebookSize: K } = config;
    const rng = mulberry32(9);
    const codes = new Int32Array(n * h * w);
    for (let p = 0; p < h * w; p++) {
      const logits = tf.tidy(() => prior.logits(tf.tensor3d(codes, [n, h, w], 'int32'), tf.tensor1d(labels, 'int32')).dataSync());
      for (let i = 0; i < n; i++) {
        const row = Array.from(logits.subarray((i * h * w + p) * K, (i * h * w + p + 1) * K), (v) => v / 0.7);
        const max = Math.max(...row);
        const weights = row.map((v) => Math.exp(v - max));
        let target = rng() * weights.reduce((a, b) => a + b, 0);
        let k = 0;
        while (k < K - 1 && target >= weights[k]!) target -= weights[k++]!;
        codes[i * h * w + p] = k;
      }
    }
    assert.deepEqual(Array.from(drawn), Array.from(codes));
    prior.dispose();
  });

  it('saves and loads with its attention weights; a prior without attention writes no attention key', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vqvae-attention-'));
    try {
      const prior = new PixelCnn(makePriorConfig({ codebookSize: 4, height: 2, width: 3, channels: 8, layers: 0, attention: 4 }), 2);
      await savePrior(path.join(dir, 'a'), prior);
      const saved = JSON.parse(fs.readFileSync(path.join(dir, 'a', 'config.json'), 'utf8')).prior;
      assert.equal(saved.attention, 4);
      const loaded = await loadPrior(path.join(dir, 'a'));
      assert.ok([...prior.variables.keys()].some((name) => name.startsWith('prior.attention.')));
      for (const [name, v] of prior.variables) assert.deepEqual(loaded.variables.get(name)!.dataSync(), v.dataSync(), name);
      const codes = tf.tensor3d([0, 1, 2, 3, 2, 1], [1, 2, 3], 'int32');
      assert.deepEqual(loaded.logits(codes).dataSync(), prior.logits(codes).dataSync());
      const plain = new PixelCnn(makePriorConfig({ codebookSize: 4, height: 2, width: 3, channels: 8, layers: 0 }), 2);
      await savePrior(path.join(dir, 'b'), plain);
      assert.ok(!('attention' in JSON.parse(fs.readFileSync(path.join(dir, 'b', 'config.json'), 'utf8')).prior));
      assert.throws(() => makePriorConfig({ codebookSize: 4, height: 2, width: 3, channels: 6, attention: 4 }), /multiple of the attention heads/);
      tf.dispose(codes);
      [prior, loaded, plain].forEach((p) => p.dispose());
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
