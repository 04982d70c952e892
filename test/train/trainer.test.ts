import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { selectBackend } from '../../src/backend/select.js';
import type { ImageDataset } from '../../src/data/dataset.js';
import { loadDataset } from '../../src/data/load.js';
import { loadModel, saveModel } from '../../src/model/checkpoint.js';
import { makeModelConfig } from '../../src/model/config.js';
import { VqVae } from '../../src/model/vqvae.js';
import { Adam } from '../../src/train/adam.js';
import { BatchSampler, pixelVariance } from '../../src/train/batches.js';
import { evaluate } from '../../src/train/evaluate.js';
import { train, type StepInfo } from '../../src/train/trainer.js';

const config = makeModelConfig({ hidden: 16, resHidden: 8, codebookSize: 32, codeDim: 8 });

describe('training on real digits', () => {
  let data: ImageDataset;
  let test: ImageDataset;
  before(async () => {
    await selectBackend('auto');
    data = await loadDataset('mnist', { split: 'train', limit: 512 });
    test = await loadDataset('mnist', { split: 'test', limit: 256 });
  });

  it('lowers the test reconstruction error by a clear margin in 80 steps', async () => {
    const model = new VqVae(config, 0);
    const before = evaluate(model, test);
    const result = await train({
      model,
      optimizer: new Adam({ learningRate: 2e-3 }),
      data,
      batch: 32,
      totalSteps: 80,
      seed: 0,
      dataVariance: pixelVariance(data),
    });
    const after = evaluate(model, test);
    assert.equal(result.stopReason, 'done');
    assert.equal(result.steps, 80);
    // An untrained decoder outputs ~0.5 grey everywhere (mse ~0.2 on digits); 80 steps get well under half of it.
    assert.ok(after.mse < 0.5 * before.mse, `mse ${before.mse} → ${after.mse}`);
    assert.ok(after.codesUsed >= 2, `codes used ${after.codesUsed}`);
    model.dispose();
  });

  it('resumed from a checkpoint, ends exactly where an uninterrupted run ends', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vqvae-resume-'));
    const variance = pixelVariance(data);
    const common = { data, batch: 16, seed: 3, dataVariance: variance };
    const emaConfig = { ...config, quantizer: 'ema' as const };

    const whole = new VqVae(emaConfig, 1);
    const wholeSteps: StepInfo[] = [];
    await train({ ...common, model: whole, optimizer: new Adam({ learningRate: 1e-3 }), totalSteps: 12, onStep: (s) => wholeSteps.push(s) });

    const first = new VqVae(emaConfig, 1);
    const firstOptimizer = new Adam({ learningRate: 1e-3 });
    await train({ ...common, model: first, optimizer: firstOptimizer, totalSteps: 6 });
    saveModel(dir, first, undefined, firstOptimizer.state());
    const loaded = loadModel(dir);
    const optimizer = new Adam({ learningRate: 1e-3 });
    optimizer.load(loaded.extra, 6);
    const resumedSteps: StepInfo[] = [];
    const result = await train({ ...common, model: loaded.vqvae, optimizer, totalSteps: 12, startStep: 6, onStep: (s) => resumedSteps.push(s) });

    assert.equal(result.stepsRun, 6);
    assert.deepEqual(resumedSteps.map((s) => s.step), [7, 8, 9, 10, 11, 12]);
    assert.deepEqual(resumedSteps.map((s) => s.loss), wholeSteps.slice(6).map((s) => s.loss));
    const a = whole.state();
    const b = loaded.vqvae.state();
    for (const name of Object.keys(a)) {
      assert.deepEqual(Array.from(b[name]!.dataSync()), Array.from(a[name]!.dataSync()), name);
    }
  });

  it('stops without saving at a loss that is not finite, leaving the weights untouched', async () => {
    const model = new VqVae(config, 0);
    const before = Array.from(model.state()['encoder.conv.weight']!.dataSync());
    let saves = 0;
    const result = await train({
      model,
      optimizer: new Adam({ learningRate: 1e-3 }),
      data,
      batch: 16,
      totalSteps: 5,
      seed: 0,
      dataVariance: 0, // mse / 0: the loss is infinite from the first step
      save: () => {
        saves += 1;
      },
    });
    assert.equal(result.stopReason, 'not-finite');
    assert.equal(result.badStep, 1);
    assert.equal(saves, 0);
    assert.deepEqual(Array.from(model.state()['encoder.conv.weight']!.dataSync()), before);
  });

  it('stops at the next step when interrupted, and saves', async () => {
    const model = new VqVae(config, 0);
    const controller = new AbortController();
    const saved: number[] = [];
    const result = await train({
      model,
      optimizer: new Adam({ learningRate: 1e-3 }),
      data,
      batch: 16,
      totalSteps: 50,
      seed: 0,
      dataVariance: 0.1,
      save: (step) => {
        saved.push(step);
      },
      signal: controller.signal,
      onStep: (s) => {
        if (s.step === 3) controller.abort();
      },
    });
    assert.equal(result.stopReason, 'interrupted');
    assert.equal(result.steps, 3);
    assert.deepEqual(saved, [3]);
  });
});

describe('BatchSampler', () => {
  const data = { count: 10, height: 1, width: 1, channels: 1, images: new Uint8Array(10), labels: new Int32Array(10), spec: 'x', split: 'train' } as ImageDataset;

  it('visits every image once per epoch, in an order fixed by seed and step', () => {
    const sampler = new BatchSampler(data, 3, 5);
    assert.equal(sampler.batchesPerEpoch, 3);
    const epoch0 = [0, 1, 2].flatMap((s) => Array.from(sampler.indicesAt(s)));
    assert.equal(new Set(epoch0).size, 9);
    const again = new BatchSampler(data, 3, 5);
    assert.deepEqual(Array.from(again.indicesAt(4)), Array.from(sampler.indicesAt(4)));
    assert.notDeepEqual(Array.from(new BatchSampler(data, 3, 6).indicesAt(0)), Array.from(sampler.indicesAt(0)));
  });

  it('rejects a batch larger than the data, naming the flag', () => {
    assert.throws(() => new BatchSampler(data, 11, 0), { message: '--batch 11 is larger than the data: x (train) has 10 images' });
  });
});
