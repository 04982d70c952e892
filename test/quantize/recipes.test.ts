/**
 * Every quantizer recipe through the whole life of a model: a few training
 * steps, save, load and --resume ending exactly where an uninterrupted run
 * ends (k-means init, restarts and running usage included); encode then
 * decode equal to reconstruct; encoder.onnx giving our indices.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../src/backend/select.js';
import type { ImageDataset } from '../../src/data/dataset.js';
import { loadDataset } from '../../src/data/load.js';
import { loadModel, saveModel } from '../../src/model/checkpoint.js';
import { makeModelConfig, type ModelConfig } from '../../src/model/config.js';
import { VqVae } from '../../src/model/vqvae.js';
import { exportOnnx } from '../../src/export/onnx/export.js';
import { Adam } from '../../src/train/adam.js';
import { pixelVariance, sliceImages } from '../../src/train/batches.js';
import { train } from '../../src/train/trainer.js';
import { ort, runOnnx } from '../export/onnxHelpers.js';

const SMALL = { hidden: 16, resHidden: 8, codebookSize: 32, codeDim: 8 };
const RECIPES: Record<string, Partial<ModelConfig>> = {
  'vq (the paper)': { quantizer: 'vq' },
  'ema (the paper\'s appendix)': { quantizer: 'ema' },
  'vq, kmeans init, rotation trick, restarts': { quantizer: 'vq', codebookInit: 'kmeans', gradient: 'rotation', restartDead: 0.9 },
  'ema, kmeans init, rotation trick, restarts': { quantizer: 'ema', codebookInit: 'kmeans', gradient: 'rotation', restartDead: 0.9 },
  'vq, lookup dim 4, cosine, restarts': { quantizer: 'vq', lookupDim: 4, cosine: true, restartDead: 0.9 },
  'ema, lookup dim 4, cosine, kmeans init': { quantizer: 'ema', lookupDim: 4, cosine: true, codebookInit: 'kmeans' },
  // The resumed half (from step 4) does the k-means initialisation at step 6.
  'vq, kmeans init after 6 warm-up steps, restarts': { quantizer: 'vq', codebookInit: 'kmeans', kmeansWarmup: 6, restartDead: 0.9 },
};

function stateOf(model: VqVae): Record<string, number[]> {
  return Object.fromEntries(Object.entries(model.state()).map(([name, v]) => [name, Array.from(v.dataSync())]));
}

describe('every quantizer recipe', () => {
  let data: ImageDataset;
  let test: ImageDataset;
  before(async () => {
    await selectBackend('auto');
    data = await loadDataset('mnist', { split: 'train', limit: 256 });
    test = await loadDataset('mnist', { split: 'test', limit: 16 });
  });

  for (const [name, recipe] of Object.entries(RECIPES)) {
    it(`${name}: resumes exactly, encode+decode = reconstruct, ONNX indices = ours`, async () => {
      const config = makeModelConfig({ ...SMALL, ...recipe });
      const dir = mkdtempSync(join(tmpdir(), 'vqvae-recipe-'));
      const common = { data, batch: 16, seed: 2, dataVariance: pixelVariance(data) };
      const steps = 8;

      const whole = new VqVae(config, 1);
      await train({ ...common, model: whole, optimizer: new Adam({ learningRate: 2e-3 }), totalSteps: steps });

      const first = new VqVae(config, 1);
      const firstOptimizer = new Adam({ learningRate: 2e-3 });
      await train({ ...common, model: first, optimizer: firstOptimizer, totalSteps: steps / 2 });
      saveModel(dir, first, undefined, firstOptimizer.state());
      first.dispose();
      const loaded = loadModel(dir);
      assert.deepEqual(loaded.model, config);
      const optimizer = new Adam({ learningRate: 2e-3 });
      optimizer.load(loaded.extra, steps / 2);
      await train({ ...common, model: loaded.vqvae, optimizer, totalSteps: steps, startStep: steps / 2 });
      assert.deepEqual(stateOf(loaded.vqvae), stateOf(whole), 'resumed run differs from the uninterrupted one');
      if (config.restartDead > 0) assert.ok('quantizer.usage' in whole.state());

      // encode, then decode the indices: what `vqvae reconstruct` shows.
      const x = sliceImages(test, 0, test.count);
      const indices = whole.encodeIndices(x);
      const decoded = whole.decodeIndices(indices);
      const out = whole.forward(x);
      const a = decoded.dataSync();
      const b = out.reconstruction.dataSync();
      let worst = 0;
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
      assert.ok(worst < 1e-5, `decode(encode(x)) differs from the reconstruction by ${worst}`);

      saveModel(dir, whole);
      const { files } = await exportOnnx({ modelDir: dir, outDir: join(dir, 'onnx') });
      await selectBackend('auto');
      const { height: H, width: W, channels: C } = test;
      const pixels = test.images.slice(0, test.count * H * W * C);
      const onnx = await runOnnx(files[0]!, { pixels: new ort.Tensor('uint8', pixels, [test.count, H, W, C]) });
      assert.deepEqual(Array.from(onnx['indices']!.data as Int32Array), Array.from(indices.dataSync()));
      // decoder.onnx looks the codes up as the library does (projected back, unit rows with cosine).
      const [h, w] = whole.codeGrid;
      const decodedOnnx = await runOnnx(files[1]!, { indices: new ort.Tensor('int32', indices.dataSync() as Int32Array, [test.count, h, w]) });
      const c = decodedOnnx['reconstruction']!.data as Float32Array;
      let decoderWorst = 0;
      for (let i = 0; i < a.length; i++) decoderWorst = Math.max(decoderWorst, Math.abs(c[i]! - a[i]!));
      assert.ok(decoderWorst < 1e-4, `decoder.onnx differs from decodeIndices by ${decoderWorst}`);
      tf.dispose([x, indices, decoded, ...Object.values(out)]);
      whole.dispose();
      loaded.vqvae.dispose();
    });
  }
});
