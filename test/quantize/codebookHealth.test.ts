import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../src/backend/select.js';
import { loadDataset } from '../../src/data/load.js';
import { makeModelConfig } from '../../src/model/config.js';
import { VqVae } from '../../src/model/vqvae.js';
import { initializeCodebook } from '../../src/quantize/init.js';
import { kmeans, quantizationError } from '../../src/quantize/kmeans.js';
import { USAGE_DECAY } from '../../src/quantize/restart.js';
import { VectorQuantizer } from '../../src/quantize/vectorQuantizer.js';
import { VectorQuantizerEMA } from '../../src/quantize/vectorQuantizerEma.js';
import { Adam } from '../../src/train/adam.js';
import { BatchSampler } from '../../src/train/batches.js';
import { vqvaeStepper } from '../../src/train/step.js';

describe('k-means codebook initialisation', () => {
  before(async () => {
    await selectBackend('auto');
  });

  it('lowers the quantization error of the first batch against the uniform init', async () => {
    const data = await loadDataset('mnist', { split: 'train', limit: 256 });
    const small = { hidden: 16, resHidden: 8, codebookSize: 32, codeDim: 8 };
    for (const quantizer of ['vq', 'ema'] as const) {
      const errors: Record<string, number> = {};
      for (const codebookInit of ['uniform', 'kmeans'] as const) {
        const model = new VqVae(makeModelConfig({ ...small, quantizer, codebookInit }), 4);
        const sampler = new BatchSampler(data, 64, 0);
        initializeCodebook(model, (i) => sampler.batchAt(i), 0);
        const x = sampler.batchAt(0);
        const z = model.encode(x);
        // Independently of the quantizer: each vector's squared distance to its nearest code, in float64.
        errors[codebookInit] = quantizationError(z.dataSync() as Float32Array, model.quantizer.codebook.dataSync() as Float32Array, small.codeDim);
        tf.dispose([x, z]);
        model.dispose();
      }
      assert.ok(errors['kmeans']! < 0.5 * errors['uniform']!, `${quantizer}: kmeans ${errors['kmeans']} vs uniform ${errors['uniform']}`);
    }
  });

  it('after --kmeans-warmup W: trains W steps as the uniform init does, then fits batch W and lowers its quantization error', async () => {
    const data = await loadDataset('mnist', { split: 'train', limit: 256 });
    const small = { hidden: 16, resHidden: 8, codebookSize: 32, codeDim: 8 };
    const warmup = 3;
    for (const quantizer of ['vq', 'ema'] as const) {
      const run = (codebookInit: 'uniform' | 'kmeans') => {
        const model = new VqVae(makeModelConfig({ ...small, quantizer, codebookInit, kmeansWarmup: codebookInit === 'kmeans' ? warmup : 0 }), 4);
        const sampler = new BatchSampler(data, 32, 0);
        return { model, sampler, stepper: vqvaeStepper(model, sampler, 0.1), optimizer: new Adam({ learningRate: 1e-3 }) };
      };
      const runs = { uniform: run('uniform'), kmeans: run('kmeans') };
      for (const r of Object.values(runs)) {
        for (let step = 0; step < warmup; step++) {
          const computed = r.stepper.computeGradients(step);
          r.stepper.applyGradients(computed, r.optimizer);
          computed.dispose();
        }
      }
      // The warm-up steps are the uniform init's own.
      assert.deepEqual(runs.kmeans.model.quantizer.codebook.dataSync(), runs.uniform.model.quantizer.codebook.dataSync());
      // Step W starts with k-means of the encoder's outputs from batch W on.
      const x = runs.kmeans.sampler.batchAt(warmup);
      const z = runs.kmeans.model.encode(x);
      const vectors = z.dataSync() as Float32Array;
      const before = quantizationError(vectors, runs.kmeans.model.quantizer.codebook.dataSync() as Float32Array, small.codeDim);
      runs.kmeans.stepper.computeGradients(warmup).dispose();
      const after = quantizationError(vectors, runs.kmeans.model.quantizer.codebook.dataSync() as Float32Array, small.codeDim);
      assert.ok(after < 0.5 * before, `${quantizer}: after k-means ${after}, the uniform init's codebook after ${warmup} steps ${before}`);
      tf.dispose([x, z]);
      for (const r of Object.values(runs)) r.model.dispose();
    }
  });

  it('finds well-separated clusters, and Lloyd iterations never raise the error of the seeding', () => {
    const d = 2;
    const centres = [[0, 0], [10, 0], [0, 10], [10, 10]];
    const points: number[] = [];
    for (let i = 0; i < 200; i++) {
      const c = centres[i % 4]!;
      points.push(c[0]! + Math.sin(i * 1.7) * 0.5, c[1]! + Math.cos(i * 2.3) * 0.5);
    }
    const vectors = Float32Array.from(points);
    const found = kmeans(vectors, d, 4, { seed: 1 });
    const seeded = kmeans(vectors, d, 4, { seed: 1, iterations: 0 });
    assert.ok(quantizationError(vectors, found, d) < 0.2);
    assert.ok(quantizationError(vectors, found, d) <= quantizationError(vectors, seeded, d));
    for (const c of centres) {
      const nearest = Math.min(...[0, 1, 2, 3].map((j) => Math.hypot(found[2 * j]! - c[0]!, found[2 * j + 1]! - c[1]!)));
      assert.ok(nearest < 0.5, `no centre near ${c}`);
    }
  });
});

describe('dead-code restarts', () => {
  before(async () => {
    await selectBackend('auto');
  });

  const k = 4;
  const d = 2;
  // Codes 0 and 1 take all the vectors; 2 and 3 sit far away and are never chosen.
  const codebook = [0, 0, 1, 1, 50, 50, -50, 50];
  const vectors = [0.1, 0, 0, 0.1, 1, 0.5, 1.1, 1, 3, 3, 0.05, 0.05]; // the 5th is farthest from its code (1), then the 3rd
  const input = () => tf.tensor4d(vectors, [1, 2, 3, d]);

  for (const Kind of [VectorQuantizer, VectorQuantizerEMA]) {
    it(`${Kind.name}: revives a dead code with a far vector of the batch and leaves live codes alone`, () => {
      const q = new Kind({ codebookSize: k, codeDim: d, restartDead: 0.5, initialCodebook: tf.tensor2d(codebook, [k, d]) });
      // Usage starts at 1 and decays by USAGE_DECAY per unused step: dead after n steps with USAGE_DECAY^n < 0.5.
      const deadAfter = Math.ceil(Math.log(0.5) / Math.log(USAGE_DECAY));
      let restartedAt = -1;
      for (let step = 1; step <= deadAfter + 1 && restartedAt < 0; step++) {
        const x = input();
        const out = q.apply(x);
        const liveBefore = Array.from(q.codebook.dataSync()).slice(0, 2 * d);
        q.update(x, out.indices);
        const restarted = q.takeRestarted();
        const after = Array.from(q.codebook.dataSync());
        if (restarted > 0) {
          restartedAt = step;
          assert.equal(restarted, 2);
          // The two dead codes now hold the two batch vectors farthest from their codes, farthest first.
          assert.deepEqual(after.slice(2 * d, 3 * d), [3, 3]);
          assert.deepEqual(after.slice(3 * d), [1, 0.5]);
          // Their usage starts again; live codes keep theirs.
          const usage = Array.from(q.state()['quantizer.usage']!.dataSync());
          assert.deepEqual(usage.slice(2), [1, 1]);
        }
        if (Kind === VectorQuantizer) assert.deepEqual(after.slice(0, 2 * d), liveBefore, 'live codes unchanged');
        tf.dispose([x, ...Object.values(out)]);
      }
      assert.equal(restartedAt, deadAfter);
      // After the restart the revived code is chosen by the vector it came from.
      const x = input();
      const out = q.apply(x);
      assert.equal(out.indices.dataSync()[4], 2);
      tf.dispose([x, ...Object.values(out)]);
      q.dispose();
    });
  }
});
