/**
 * The two-level model's ONNX graphs (src/export/onnx/hierarchicalGraphs.ts)
 * run in onnxruntime-node against HierarchicalVqVae: the same indices of both
 * levels, exactly, and the same reconstruction within 1e-4, for 28x28 grey
 * (7x7 under 4x4: the odd 'same' stages) and 32x32 RGB (8x8 under 4x4).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../src/backend/select.js';
import { hierarchicalDecoderGraph, hierarchicalEncoderGraph, LEVEL_INDICES } from '../../src/export/onnx/hierarchicalGraphs.js';
import type { Weights } from '../../src/export/onnx/layers.js';
import { makeModelConfig, type ModelConfig } from '../../src/model/config.js';
import { HierarchicalVqVae } from '../../src/model/hierarchical.js';
import { outputToPixels, pixelsToInput } from '../../src/model/vqvae.js';
import { mulberry32 } from '../../src/random.js';
import { ort, runOnnx, seededInts, testImages } from './onnxHelpers.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'vqvae-onnx-levels-'));
process.on('exit', () => fs.rmSync(root, { recursive: true, force: true }));

/** Codes drawn from the box the vectors fill (mean +- sqrt(3) std per dimension), so images use many codes with clear winners. */
function spreadCodebook(codebook: tf.Variable, vectors: Float32Array, seed: number): void {
  const [K, D] = codebook.shape as [number, number];
  const count = vectors.length / D;
  const mean = new Array<number>(D).fill(0);
  const std = new Array<number>(D).fill(0);
  for (let i = 0; i < vectors.length; i++) mean[i % D]! += vectors[i]! / count;
  for (let i = 0; i < vectors.length; i++) std[i % D]! += (vectors[i]! - mean[i % D]!) ** 2 / count;
  const rng = mulberry32(seed);
  codebook.assign(tf.tensor2d(Float32Array.from({ length: K * D }, (_, i) => mean[i % D]! + (rng() * 2 - 1) * Math.sqrt(3 * std[i % D]!)), [K, D]));
}

function weightsOf(model: HierarchicalVqVae): Weights {
  return new Map(Object.entries(model.state()).map(([name, v]) => [name, { shape: v.shape, data: v.dataSync() as Float32Array }]));
}

const cases: { name: string; overrides: Partial<ModelConfig> }[] = [
  { name: '28x28 grey (bottom 7x7, top 4x4)', overrides: {} },
  { name: '32x32 RGB (bottom 8x8, top 4x4)', overrides: { inputChannels: 3, imageHeight: 32, imageWidth: 32 } },
];

describe('ONNX export of the two-level model', () => {
  before(async () => {
    await selectBackend('auto');
  });

  for (const { name, overrides } of cases) {
    it(`${name}: encoder.onnx gives both levels' indices of HierarchicalVqVae.encodeIndices, decoder.onnx its reconstruction`, async () => {
      const model = new HierarchicalVqVae({ model: makeModelConfig({ hidden: 16, resHidden: 8, codebookSize: 24, codeDim: 6, ...overrides }), top: { codebookSize: 20, codeDim: 5 } }, 3);
      const { imageHeight: H, imageWidth: W, inputChannels: C } = model.config.model;
      const batch = 5;
      const pixels = testImages(batch, H, W, C, 11);
      const x = pixelsToInput(pixels, batch, H, W, C);
      // Spread the top codebook over the top vectors, then the bottom one over the bottom vectors given those top codes.
      const features = model.encodeFeatures(x);
      const topVectors = model.encodeTop(features);
      spreadCodebook(model.topQuantizer.codebook, topVectors.dataSync() as Float32Array, 1);
      const bottomVectors = tf.tidy(() => model.encodeBottom(features, model.topQuantizer.apply(model.encodeTop(features)).quantized));
      spreadCodebook(model.bottomQuantizer.codebook, bottomVectors.dataSync() as Float32Array, 2);

      const weights = weightsOf(model);
      const encoderFile = path.join(root, `encoder-${C}.onnx`);
      const decoderFile = path.join(root, `decoder-${C}.onnx`);
      fs.writeFileSync(encoderFile, hierarchicalEncoderGraph(model.config.model, model.config.top, weights).toModel({ docString: 'test' }));
      fs.writeFileSync(decoderFile, hierarchicalDecoderGraph(model.config.model, model.config.top, weights).toModel({ docString: 'test' }));

      const outputs = await runOnnx(encoderFile, { pixels: new ort.Tensor('uint8', pixels, [batch, H, W, C]) });
      const ours = model.encodeIndices(x);
      const grids = model.grids;
      for (const level of ['top', 'bottom'] as const) {
        const got = outputs[LEVEL_INDICES[level]]!;
        assert.equal(got.type, 'int32');
        assert.deepEqual(got.dims, [batch, ...grids[level]]);
        const expected = Array.from(ours[level].dataSync());
        assert.deepEqual(Array.from(got.data as Int32Array), expected, `${level} indices`);
        assert.ok(new Set(expected).size >= 4, `the test images should use several ${level} codes`);
      }

      // Decoding seeded codes of both levels.
      const top = Int32Array.from(seededInts(batch * grids.top[0] * grids.top[1], 20, 5));
      const bottom = Int32Array.from(seededInts(batch * grids.bottom[0] * grids.bottom[1], 24, 6));
      const decoded = await runOnnx(decoderFile, {
        [LEVEL_INDICES.top]: new ort.Tensor('int32', top, [batch, ...grids.top]),
        [LEVEL_INDICES.bottom]: new ort.Tensor('int32', bottom, [batch, ...grids.bottom]),
      });
      const images = model.decodeIndices({ top: tf.tensor3d(top, [batch, ...grids.top], 'int32'), bottom: tf.tensor3d(bottom, [batch, ...grids.bottom], 'int32') });
      const expected = images.dataSync();
      const reconstruction = decoded.reconstruction!.data as Float32Array;
      assert.deepEqual(decoded.reconstruction!.dims, [batch, H, W, C]);
      let worst = 0;
      expected.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - reconstruction[i]!))));
      assert.ok(worst < 1e-4, `reconstruction differs by ${worst}`);
      const ourPixels = outputToPixels(images);
      const theirs = decoded.pixels!.data as Uint8Array;
      ourPixels.forEach((v, i) => assert.ok(Math.abs(v - theirs[i]!) <= 1, `pixel ${i}: ${v} vs ${theirs[i]}`));
      tf.dispose([x, features, topVectors, bottomVectors, ours.top, ours.bottom, images]);
      model.dispose();
    });
  }
});
