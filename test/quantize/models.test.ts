/**
 * The quantizers of simvq.ts, fsq.ts and rvq.ts inside the model: training,
 * saving, loading and resuming, codes through encode and decode, and the
 * config keys that select them.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../src/backend/select.js';
import type { ImageDataset } from '../../src/data/dataset.js';
import { loadDataset } from '../../src/data/load.js';
import { UserError } from '../../src/errors.js';
import { loadModel, saveModel } from '../../src/model/checkpoint.js';
import { DEFAULT_MODEL_CONFIG, makeModelConfig, validateModelConfig, type ModelConfig } from '../../src/model/config.js';
import { VqVae } from '../../src/model/vqvae.js';
import { Adam } from '../../src/train/adam.js';
import { pixelVariance } from '../../src/train/batches.js';
import { train, type StepInfo } from '../../src/train/trainer.js';

const small = { hidden: 8, resHidden: 4, resBlocks: 1, codeDim: 4 };

/** One small config per new quantizer (FSQ with projections: D 4 → 2 levels). */
const KINDS: Record<string, ModelConfig> = {
  simvq: makeModelConfig({ ...small, quantizer: 'simvq', codebookSize: 16 }),
  fsq: makeModelConfig({ ...small, quantizer: 'fsq', levels: [5, 4], codebookSize: 20 }),
  rvq: makeModelConfig({ ...small, quantizer: 'rvq', depth: 3, codebookSize: 16 }),
};

describe('simvq, fsq and rvq models', () => {
  let data: ImageDataset;
  before(async () => {
    await selectBackend('auto');
    data = await loadDataset('mnist', { split: 'train', limit: 128 });
  });

  for (const [kind, config] of Object.entries(KINDS)) {
    it(`${kind}: trained a few steps, saved, loaded and resumed, ends exactly where an uninterrupted run ends`, async () => {
      const dir = mkdtempSync(join(tmpdir(), `vqvae-${kind}-`));
      const common = { data, batch: 8, seed: 3, dataVariance: pixelVariance(data) };
      const whole = new VqVae(config, 1);
      const wholeSteps: StepInfo[] = [];
      await train({ ...common, model: whole, optimizer: new Adam({ learningRate: 2e-3 }), totalSteps: 6, onStep: (s) => wholeSteps.push(s) });

      const first = new VqVae(config, 1);
      const firstOptimizer = new Adam({ learningRate: 2e-3 });
      await train({ ...common, model: first, optimizer: firstOptimizer, totalSteps: 3 });
      saveModel(dir, first, undefined, firstOptimizer.state());
      const saved = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { model: ModelConfig };
      assert.equal(saved.model.quantizer, kind);
      assert.deepEqual([saved.model.levels, saved.model.depth], [config.levels, config.depth]);

      const loaded = loadModel(dir);
      const optimizer = new Adam({ learningRate: 2e-3 });
      optimizer.load(loaded.extra, 3);
      const resumed: StepInfo[] = [];
      await train({ ...common, model: loaded.vqvae, optimizer, totalSteps: 6, startStep: 3, onStep: (s) => resumed.push(s) });
      assert.deepEqual(resumed.map((s) => s.loss), wholeSteps.slice(3).map((s) => s.loss));
      const a = whole.state();
      const b = loaded.vqvae.state();
      assert.deepEqual(Object.keys(b), Object.keys(a));
      for (const name of Object.keys(a)) assert.deepEqual(Array.from(b[name]!.dataSync()), Array.from(a[name]!.dataSync()), name);
      // Training moved the weights: the comparison above is not of two untouched models.
      const fresh = new VqVae(config, 1).state();
      assert.ok(Object.keys(a).some((n) => Array.from(a[n]!.dataSync()).some((v, i) => v !== fresh[n]!.dataSync()[i])));
      for (const m of [whole, first, loaded.vqvae]) m.dispose();
    });

    it(`${kind}: decodeIndices(encodeIndices(x)) equals the forward reconstruction`, () => {
      const model = new VqVae(config, 2);
      const x = tf.randomUniform([3, 28, 28, 1], -0.5, 0.5, 'float32', 5) as tf.Tensor4D;
      const codes = model.encodeIndices(x);
      assert.deepEqual(codes.shape, [3, ...model.codeShape]);
      assert.deepEqual(model.codeShape, config.quantizer === 'rvq' ? [7, 7, 3] : [7, 7]);
      const viaCodes = model.decodeIndices(codes).dataSync();
      const direct = model.forward(x).reconstruction.dataSync();
      direct.forEach((v, i) => assert.ok(Math.abs(v - viaCodes[i]!) < 1e-5, `pixel ${i}`));
      model.dispose();
    });
  }

  it('rvq: decodeIndices refuses codes without the depth axis, naming the shape it needs', () => {
    const model = new VqVae(KINDS.rvq!, 0);
    assert.throws(() => model.decodeIndices(tf.zeros([1, 7, 7], 'int32') as tf.Tensor3D), {
      message: 'codes must be [batch, 7, 7, 3] for this model, found [1, 7, 7]',
    });
    model.dispose();
  });
});

describe('config keys of the new quantizers', () => {
  it('reads a config written before levels and depth existed as depth 1', () => {
    const { levels: _levels, depth: _depth, ...old } = DEFAULT_MODEL_CONFIG;
    const config = validateModelConfig(old);
    assert.equal(config.depth, 1);
    assert.equal(config.quantizer, 'vq');
  });

  it('requires K to be the product of the FSQ levels, levels to be integers >= 2, and depth only with rvq', () => {
    const userError = (pattern: RegExp) => (e: unknown) => e instanceof UserError && pattern.test(e.message);
    assert.throws(
      () => makeModelConfig({ quantizer: 'fsq', levels: [8, 8, 8], codebookSize: 500 }),
      userError(/"codebookSize" must be the product of the FSQ levels 8,8,8 = 512, found 500/),
    );
    assert.equal(makeModelConfig({ quantizer: 'fsq', levels: [8, 8, 8], codebookSize: 512 }).codebookSize, 512);
    assert.throws(() => makeModelConfig({ quantizer: 'fsq', levels: [8, 1], codebookSize: 8 }), userError(/"levels" must be a list of integers >= 2, found \[8,1\]/));
    assert.throws(() => makeModelConfig({ quantizer: 'vq', depth: 2 }), userError(/"depth" 2 applies to the rvq quantizer only/));
  });

  it('reads a config written before kmeansWarmup existed as 0, and refuses a warm-up without the k-means init or one that is not a whole number', () => {
    const userError = (pattern: RegExp) => (e: unknown) => e instanceof UserError && pattern.test(e.message);
    const { kmeansWarmup: _warmup, ...old } = { ...DEFAULT_MODEL_CONFIG, codebookInit: 'kmeans' as const };
    assert.equal(validateModelConfig(old).kmeansWarmup, 0);
    assert.equal(makeModelConfig({ quantizer: 'ema', codebookInit: 'kmeans', kmeansWarmup: 100 }).kmeansWarmup, 100);
    assert.throws(() => makeModelConfig({ quantizer: 'ema', kmeansWarmup: 100 }), userError(/"kmeansWarmup" 100 needs "codebookInit" 'kmeans', found 'uniform'/));
    assert.throws(() => makeModelConfig({ quantizer: 'vq', codebookInit: 'kmeans', kmeansWarmup: 1.5 }), userError(/"kmeansWarmup" must be an integer >= 0/));
  });
});
