/**
 * encoder.onnx and decoder.onnx of models with the simvq, fsq and rvq
 * quantizers, run in onnxruntime-node, against this project's forward pass:
 * the same code indices (rvq: [N, h, w, depth]) and reconstructions within
 * 1e-4 of `VqVae.decodeIndices`.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';

import { selectBackend } from '../../src/backend/select.js';
import { exportOnnx } from '../../src/export/onnx/export.js';
import { loadModel } from '../../src/model/checkpoint.js';
import type { ModelConfig } from '../../src/model/config.js';
import { pixelsToInput } from '../../src/model/vqvae.js';
import type { CodeIndices } from '../../src/quantize/types.js';
import { tempDir } from '../e2e/helpers.js';
import { ort, runOnnx, saveRandomModel, seededInts, testImages } from './onnxHelpers.js';

const root = tempDir('vqvae-onnx-quantizers-');
const TOLERANCE = 1e-4;

const cases: { name: string; overrides: Partial<ModelConfig> }[] = [
  { name: 'simvq', overrides: { quantizer: 'simvq' } },
  { name: 'fsq 4,4,2 with projections (D 8)', overrides: { quantizer: 'fsq', levels: [4, 4, 2], codebookSize: 32 } },
  { name: 'fsq 8,5,3 without projections (D 3)', overrides: { quantizer: 'fsq', levels: [8, 5, 3], codebookSize: 120, codeDim: 3 } },
  { name: 'rvq depth 3', overrides: { quantizer: 'rvq', depth: 3 } },
];

before(async () => {
  await selectBackend('auto');
});

cases.forEach(({ name, overrides }, caseIndex) => {
  describe(`ONNX export of a random ${name} model`, () => {
    const modelDir = path.join(root, `model-${caseIndex}`);
    const outDir = path.join(root, `onnx-${caseIndex}`);
    let config: ModelConfig;
    let files: string[];
    let codeShape: number[];

    before(async () => {
      config = saveRandomModel(modelDir, overrides, 20 + caseIndex);
      ({ files } = await exportOnnx({ modelDir, outDir }));
      await selectBackend('auto');
      const { vqvae } = loadModel(modelDir);
      codeShape = vqvae.codeShape;
      vqvae.dispose();
    });

    it('encoder.onnx gives the same indices as VqVae.encodeIndices', async () => {
      const { imageHeight: H, imageWidth: W, inputChannels: C } = config;
      const batch = 5;
      const pixels = testImages(batch, H, W, C, 200 + caseIndex);
      const { indices } = await runOnnx(files[0]!, { pixels: new ort.Tensor('uint8', pixels, [batch, H, W, C]) });
      assert.equal(indices!.type, 'int32');
      assert.deepEqual(indices!.dims, [batch, ...codeShape]);
      const { vqvae } = loadModel(modelDir);
      const x = pixelsToInput(pixels, batch, H, W, C);
      const ours = vqvae.encodeIndices(x);
      const expected = Array.from(ours.dataSync());
      tf.dispose([x, ours]);
      vqvae.dispose();
      assert.deepEqual(Array.from(indices!.data as Int32Array), expected);
      assert.ok(new Set(expected).size >= 4, `the test images should use several codes, used ${new Set(expected).size}`);
    });

    it('decoder.onnx gives the reconstruction of VqVae.decodeIndices within 1e-4', async () => {
      const batch = 3;
      const K = config.codebookSize;
      const count = batch * codeShape.reduce((a, b) => a * b, 1);
      const codes = Int32Array.from({ length: count }, (_, i) => (i < K ? i : seededInts(1, K, i)[0]!));
      const { reconstruction } = await runOnnx(files[1]!, { indices: new ort.Tensor('int32', codes, [batch, ...codeShape]) });
      const { vqvae } = loadModel(modelDir);
      const tensor: tf.Tensor = tf.tensor(codes, [batch, ...codeShape], 'int32');
      const indices = tensor as CodeIndices;
      const ours = vqvae.decodeIndices(indices);
      const expected = ours.dataSync() as Float32Array;
      tf.dispose([indices, ours]);
      vqvae.dispose();
      const theirs = reconstruction!.data as Float32Array;
      assert.equal(theirs.length, expected.length);
      let worst = 0;
      for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(theirs[i]! - expected[i]!));
      assert.ok(worst <= TOLERANCE, `largest difference ${worst}`);
    });
  });
});
