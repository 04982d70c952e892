/**
 * encoder.onnx and decoder.onnx, run in onnxruntime-node, against this
 * project's own forward pass on the default backend: the same code indices,
 * reconstructions within 1e-4, and uint8 pixels that are the project's
 * rounding of onnxruntime's float reconstruction.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';

import { selectBackend } from '../../src/backend/select.js';
import { codeGridSize, type ModelConfig } from '../../src/model/config.js';
import { loadModel } from '../../src/model/checkpoint.js';
import { outputToPixels, pixelsToInput } from '../../src/model/vqvae.js';
import { exportOnnx } from '../../src/export/onnx/export.js';
import { tempDir } from '../e2e/helpers.js';
import { ort, runOnnx, saveRandomModel, seededInts, testImages } from './onnxHelpers.js';

const root = tempDir('vqvae-onnx-');

// Float32 results of two engines that sum in different orders: about 1e-6 on
// these sizes; the issue asks for 1e-4.
const TOLERANCE = 1e-4;

const cases: { name: string; overrides: Partial<ModelConfig> }[] = [
  { name: '28x28x1, vq', overrides: { quantizer: 'vq' } },
  { name: '32x32x3, ema', overrides: { quantizer: 'ema', inputChannels: 3, imageHeight: 32, imageWidth: 32 } },
  { name: '32x32x3, vq, 3 stages, 1 residual block', overrides: { inputChannels: 3, imageHeight: 32, imageWidth: 32, downsamples: 3, resBlocks: 1 } },
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

    before(async () => {
      config = saveRandomModel(modelDir, overrides, 10 + caseIndex);
      ({ files } = await exportOnnx({ modelDir, outDir }));
      await selectBackend('auto'); // exportOnnx may use whichever backend is ready; the comparisons use the default
    });

    it('writes encoder.onnx and decoder.onnx with the documented inputs and outputs', async () => {
      assert.deepEqual(files, [path.join(outDir, 'encoder.onnx'), path.join(outDir, 'decoder.onnx')]);
      const encoder = await ort.InferenceSession.create(files[0]!);
      assert.deepEqual([encoder.inputNames, encoder.outputNames], [['pixels'], ['indices']]);
      const decoder = await ort.InferenceSession.create(files[1]!);
      assert.deepEqual([decoder.inputNames, decoder.outputNames], [['indices'], ['pixels', 'reconstruction']]);
      await Promise.all([encoder.release(), decoder.release()]);
    });

    for (const batch of [1, 5]) {
      it(`encoder.onnx gives the same indices as VqVae.encodeIndices (batch ${batch})`, async () => {
        const { imageHeight: H, imageWidth: W, inputChannels: C } = config;
        const [h, w] = codeGridSize(config);
        const pixels = testImages(batch, H, W, C, 100 + batch);
        const { indices } = await runOnnx(files[0]!, { pixels: new ort.Tensor('uint8', pixels, [batch, H, W, C]) });
        assert.equal(indices!.type, 'int32');
        assert.deepEqual(indices!.dims, [batch, h, w]);

        const { vqvae } = loadModel(modelDir);
        const x = pixelsToInput(pixels, batch, H, W, C);
        const ours = vqvae.encodeIndices(x);
        const encoded = vqvae.encode(x);
        const expected = Array.from(ours.dataSync());
        const bruteForce = nearestInFloat64(encoded.dataSync() as Float32Array, vqvae.quantizer.codebook.dataSync() as Float32Array, config.codeDim);
        tf.dispose([x, ours, encoded]);
        vqvae.dispose();
        assert.deepEqual(Array.from(indices!.data as Int32Array), expected);
        assert.deepEqual(expected, bruteForce, 'our own indices should be the exact nearest codes');
        assert.ok(new Set(expected).size >= 4, 'the test images should use several codes');
      });
    }

    it('decoder.onnx gives the reconstruction of VqVae.decodeIndices within 1e-4 and its uint8 pixels', async () => {
      const { imageHeight: H, imageWidth: W, inputChannels: C, codebookSize: K } = config;
      const [h, w] = codeGridSize(config);
      const batch = 4;
      // Every code at least once, then seeded ones.
      const codes = Int32Array.from({ length: batch * h * w }, (_, i) => (i < K ? i : seededInts(1, K, i)[0]!));
      const outputs = await runOnnx(files[1]!, { indices: new ort.Tensor('int32', codes, [batch, h, w]) });
      const reconstruction = outputs.reconstruction!;
      const pixels = outputs.pixels!;
      assert.equal(pixels.type, 'uint8');
      assert.deepEqual(pixels.dims, [batch, H, W, C]);
      assert.equal(reconstruction.type, 'float32');
      assert.deepEqual(reconstruction.dims, [batch, H, W, C]);

      const { vqvae } = loadModel(modelDir);
      const indices = tf.tensor3d(codes, [batch, h, w], 'int32');
      const ours = vqvae.decodeIndices(indices);
      const expected = ours.dataSync() as Float32Array;
      const ourPixels = outputToPixels(ours);
      tf.dispose([indices, ours]);
      vqvae.dispose();

      const theirs = reconstruction.data as Float32Array;
      let worst = 0;
      for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(theirs[i]! - expected[i]!));
      assert.ok(worst <= TOLERANCE, `largest difference ${worst}`);

      // The graph's uint8 conversion is exactly outputToPixels of its own float output ...
      const ortPixels = pixels.data as Uint8Array;
      assert.deepEqual(Array.from(ortPixels), Array.from(outputToPixels(tf.tensor(theirs))));
      // ... so it can differ from ours only where the two floats straddle a rounding boundary.
      for (let i = 0; i < ourPixels.length; i++) {
        if (ortPixels[i] === ourPixels[i]) continue;
        const scaled = (expected[i]! + 0.5) * 255;
        assert.ok(Math.abs(ortPixels[i]! - ourPixels[i]!) === 1 && Math.abs(scaled - Math.floor(scaled) - 0.5) <= 255 * TOLERANCE, `pixel ${i}: ${ortPixels[i]} vs ${ourPixels[i]}`);
      }
    });
  });
});

/** argmin_k ||z - e_k||^2 of each D-vector of `vectors`, in float64, first index on ties. */
function nearestInFloat64(vectors: Float32Array, codebook: Float32Array, D: number): number[] {
  const K = codebook.length / D;
  return Array.from({ length: vectors.length / D }, (_, i) => {
    let best = 0;
    let bestDistance = Infinity;
    for (let k = 0; k < K; k++) {
      let distance = 0;
      for (let j = 0; j < D; j++) distance += (vectors[i * D + j]! - codebook[k * D + j]!) ** 2;
      if (distance < bestDistance) [best, bestDistance] = [k, distance];
    }
    return best;
  });
}
