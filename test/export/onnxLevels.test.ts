/**
 * The two-level model's ONNX graphs (src/export/onnx/hierarchicalGraphs.ts)
 * run in onnxruntime-node against HierarchicalVqVae: the same indices of both
 * levels, exactly, and the same reconstruction within 1e-4, for 28x28 grey
 * (7x7 under 4x4: the odd 'same' stages) and 32x32 RGB (8x8 under 4x4), and
 * for levels of other kinds each (fsq, simvq, a lookup dimension, cosine;
 * rvq on either level, its indices [N, h, w, depth]).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../src/backend/select.js';
import { hierarchicalDecoderGraph, hierarchicalEncoderGraph, hierarchicalTables, LEVEL_INDICES } from '../../src/export/onnx/hierarchicalGraphs.js';
import type { Weights } from '../../src/export/onnx/layers.js';
import { makeModelConfig, type ModelConfig } from '../../src/model/config.js';
import { exportOnnx } from '../../src/export/onnx/export.js';
import { HierarchicalVqVae, type TopLevelConfig } from '../../src/model/hierarchical.js';
import { ResidualVQ } from '../../src/quantize/rvq.js';
import type { Quantizer } from '../../src/quantize/types.js';
import { loadHierarchicalModel, saveHierarchicalModel } from '../../src/model/hierarchicalFile.js';
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

const cases: { name: string; overrides: Partial<ModelConfig>; top?: Partial<TopLevelConfig> }[] = [
  { name: '28x28 grey (bottom 7x7, top 4x4)', overrides: {} },
  { name: '32x32 RGB (bottom 8x8, top 4x4)', overrides: { inputChannels: 3, imageHeight: 32, imageWidth: 32 } },
  { name: 'fsq top (levels 5,4) over an ema bottom', overrides: { quantizer: 'ema' }, top: { quantizer: 'fsq', levels: [5, 4] } },
  { name: 'simvq top over a vq bottom with lookup dim 3 and cosine', overrides: { quantizer: 'vq', lookupDim: 3, cosine: true }, top: { quantizer: 'simvq' } },
  { name: 'ema top with lookup dim 2 over an fsq bottom (levels 4,3,2)', overrides: { quantizer: 'fsq', levels: [4, 3, 2] }, top: { quantizer: 'ema', lookupDim: 2 } },
  { name: 'rvq top (depth 3) over a vq bottom, 28x28', overrides: { quantizer: 'vq' }, top: { quantizer: 'rvq', depth: 3 } },
  { name: 'rvq on both levels (top depth 2, bottom depth 3)', overrides: { quantizer: 'rvq', depth: 3 }, top: { quantizer: 'rvq', depth: 2 } },
  { name: 'rvq bottom (depth 2) under an ema top, 32x32 RGB', overrides: { quantizer: 'rvq', depth: 2, inputChannels: 3, imageHeight: 32, imageWidth: 32 }, top: { quantizer: 'ema' } },
];

/**
 * Spreads a level's codes over its vectors [b, h, w, D]: a plain codebook by
 * spreadCodebook, an rvq level's codebook n by it over the residual the
 * codebooks before it leave, one behind a projection or cosine by its k-means init; for
 * fsq and simvq (no codebook to move), the vectors are standardised per
 * dimension and scaled to twice the spread of the level's codes, by changing
 * its pre-quantize 1x1 convolution (z - mean) * s = conv(x; w s) + (b - mean) s.
 */
function spreadLevel(model: HierarchicalVqVae, level: 'top' | 'bottom', vectors: tf.Tensor4D, seed: number): void {
  const quantizer: Quantizer = level === 'top' ? model.topQuantizer : model.bottomQuantizer;
  const config = model.levelConfigs[level];
  if (quantizer instanceof ResidualVQ) {
    let residual = vectors;
    quantizer.layers.forEach((layer, i) => {
      spreadCodebook(layer.codebook, residual.dataSync() as Float32Array, seed + i);
      residual = tf.sub(residual, layer.lookup(layer.apply(residual).indices)) as tf.Tensor4D;
    });
  } else if ((config.quantizer === 'vq' || config.quantizer === 'ema') && config.lookupDim === 0 && !config.cosine) {
    spreadCodebook(quantizer.codebook, vectors.dataSync() as Float32Array, seed);
  } else if (quantizer.initialize) {
    quantizer.initialize(tf.reshape(vectors, [-1, config.codeDim]) as tf.Tensor2D, seed);
  } else {
    const codes = quantizer.lookup(tf.reshape(tf.range(0, config.codebookSize, 1, 'int32'), [1, 1, -1]) as tf.Tensor3D);
    const target = Math.max(1, 2 * Math.sqrt(tf.moments(codes).variance.dataSync()[0]!));
    const { mean, variance } = tf.moments(vectors, [0, 1, 2]);
    const scale = tf.div(target, tf.sqrt(variance));
    const state = model.state();
    const [w, b] = [state[`encoder.${level}.pre_quantize.weight`]!, state[`encoder.${level}.pre_quantize.bias`]!];
    w.assign(tf.mul(w, scale));
    b.assign(tf.mul(tf.sub(b, mean), scale));
  }
}

/**
 * A small two-level model whose top codebook is spread over the top vectors
 * of 5 seeded images, then the bottom one over the bottom vectors given
 * those top codes, so the images use many codes of each level; with them.
 */
function spreadModel(overrides: Partial<ModelConfig>, top: Partial<TopLevelConfig> = {}): { model: HierarchicalVqVae; pixels: Uint8Array; x: tf.Tensor4D } {
  const model = new HierarchicalVqVae({ model: makeModelConfig({ hidden: 16, resHidden: 8, codebookSize: 24, codeDim: 6, ...overrides }), top: { codebookSize: 20, codeDim: 5, ...top } }, 3);
  const { imageHeight: H, imageWidth: W, inputChannels: C } = model.config.model;
  const batch = 5;
  const pixels = testImages(batch, H, W, C, 11);
  const x = pixelsToInput(pixels, batch, H, W, C);
  tf.tidy(() => {
    const features = model.encodeFeatures(x);
    spreadLevel(model, 'top', model.encodeTop(features), 1);
    const bottomVectors = model.encodeBottom(features, model.topQuantizer.apply(model.encodeTop(features)).quantized);
    spreadLevel(model, 'bottom', bottomVectors, 2);
  });
  return { model, pixels, x };
}

describe('ONNX export of the two-level model', () => {
  before(async () => {
    await selectBackend('auto');
  });

  for (const { name, overrides, top: topLevel } of cases) {
    it(`${name}: encoder.onnx gives both levels' indices of HierarchicalVqVae.encodeIndices, decoder.onnx its reconstruction`, async () => {
      const { model, pixels, x } = spreadModel(overrides, topLevel);
      const { imageHeight: H, imageWidth: W, inputChannels: C } = model.config.model;
      const batch = pixels.length / (H * W * C);

      const weights = weightsOf(model);
      const encoderFile = path.join(root, `encoder-${C}.onnx`);
      const decoderFile = path.join(root, `decoder-${C}.onnx`);
      const levels = hierarchicalTables(model);
      fs.writeFileSync(encoderFile, hierarchicalEncoderGraph(levels, weights).toModel({ docString: 'test' }));
      fs.writeFileSync(decoderFile, hierarchicalDecoderGraph(levels, weights).toModel({ docString: 'test' }));

      const outputs = await runOnnx(encoderFile, { pixels: new ort.Tensor('uint8', pixels, [batch, H, W, C]) });
      const ours = model.encodeIndices(x);
      const shapes = model.codeShapes;
      for (const level of ['top', 'bottom'] as const) {
        const got = outputs[LEVEL_INDICES[level]]!;
        assert.equal(got.type, 'int32');
        assert.deepEqual(got.dims, [batch, ...shapes[level]]);
        const expected = Array.from(ours[level].dataSync());
        assert.deepEqual(Array.from(got.data as Int32Array), expected, `${level} indices`);
        assert.ok(new Set(expected).size >= 4, `the test images should use several ${level} codes`);
      }

      // Decoding seeded codes of both levels.
      const size = (shape: number[]) => batch * shape.reduce((a, b) => a * b, 1);
      const top = Int32Array.from(seededInts(size(shapes.top), model.config.top.codebookSize, 5));
      const bottom = Int32Array.from(seededInts(size(shapes.bottom), model.config.model.codebookSize, 6));
      const decoded = await runOnnx(decoderFile, {
        [LEVEL_INDICES.top]: new ort.Tensor('int32', top, [batch, ...shapes.top]),
        [LEVEL_INDICES.bottom]: new ort.Tensor('int32', bottom, [batch, ...shapes.bottom]),
      });
      const images = model.decodeIndices({
        top: tf.tensor<tf.Rank>(top, [batch, ...shapes.top], 'int32') as tf.Tensor3D, bottom: tf.tensor<tf.Rank>(bottom, [batch, ...shapes.bottom], 'int32') as tf.Tensor3D,
      });
      const expected = images.dataSync();
      const reconstruction = decoded.reconstruction!.data as Float32Array;
      assert.deepEqual(decoded.reconstruction!.dims, [batch, H, W, C]);
      let worst = 0;
      expected.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - reconstruction[i]!))));
      assert.ok(worst < 1e-4, `reconstruction differs by ${worst}`);
      const ourPixels = outputToPixels(images);
      const theirs = decoded.pixels!.data as Uint8Array;
      ourPixels.forEach((v, i) => assert.ok(Math.abs(v - theirs[i]!) <= 1, `pixel ${i}: ${v} vs ${theirs[i]}`));
      tf.dispose([x, ours.top, ours.bottom, images]);
      model.dispose();
    });
  }

  it('exportOnnx of a saved two-level model directory (vqvae export --onnx) writes graphs with both levels\' indices of the loaded model', async () => {
    const { model, pixels, x } = spreadModel({ inputChannels: 3, imageHeight: 32, imageWidth: 32, quantizer: 'ema', restartDead: 0.05 });
    const dir = path.join(root, 'saved-two-level');
    saveHierarchicalModel(dir, model);
    model.dispose();
    const loaded = loadHierarchicalModel(dir).vqvae;
    const { files } = await exportOnnx({ modelDir: dir, outDir: path.join(dir, 'onnx') });
    assert.deepEqual(files.map((f) => path.basename(f)), ['encoder.onnx', 'decoder.onnx']);
    const batch = x.shape[0];
    const outputs = await runOnnx(files[0]!, { pixels: new ort.Tensor('uint8', pixels, [batch, 32, 32, 3]) });
    const ours = loaded.encodeIndices(x);
    for (const level of ['top', 'bottom'] as const) {
      const expected = Array.from(ours[level].dataSync());
      assert.deepEqual(Array.from(outputs[LEVEL_INDICES[level]]!.data as Int32Array), expected, `${level} indices`);
      assert.ok(new Set(expected).size >= 4, `the test images should use several ${level} codes`);
    }
    // The decoder file decodes those indices to the loaded model's reconstruction.
    const decoded = await runOnnx(files[1]!, {
      [LEVEL_INDICES.top]: new ort.Tensor('int32', ours.top.dataSync() as Int32Array, ours.top.shape),
      [LEVEL_INDICES.bottom]: new ort.Tensor('int32', ours.bottom.dataSync() as Int32Array, ours.bottom.shape),
    });
    const expected = tf.tidy(() => loaded.forward(x).reconstruction.dataSync());
    const got = decoded.reconstruction!.data as Float32Array;
    let worst = 0;
    expected.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - got[i]!))));
    assert.ok(worst < 1e-4, `reconstruction differs by ${worst}`);
    await assert.rejects(exportOnnx({ modelDir: dir, outDir: path.join(dir, 'onnx2'), priorDir: dir }), /prior\.onnx is not written for a two-level model/);
    assert.ok(!fs.existsSync(path.join(dir, 'onnx2')));
    tf.dispose([x, ours.top, ours.bottom]);
    loaded.dispose();
  });
});
