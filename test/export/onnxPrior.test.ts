/**
 * prior.onnx, run in onnxruntime-node, against PixelCnn.logits on the default
 * backend: random priors, unconditional and class-conditional, kernel sizes
 * 3 and 5, over the code grid of a random model. Also: a prior that does not
 * fit the model, or lacks a tensor, is one error line and writes nothing.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';

import { selectBackend } from '../../src/backend/select.js';
import { saveCheckpoint } from '../../src/io/checkpoint.js';
import { readSafetensorsFile } from '../../src/io/safetensorsFile.js';
import { exportOnnx } from '../../src/export/onnx/export.js';
import { savePrior } from '../../src/prior/checkpoint.js';
import { makePriorConfig, type PriorConfig } from '../../src/prior/config.js';
import { PixelCnn } from '../../src/prior/pixelcnn.js';
import { isOneLineUserError } from '../shared/assertions.js';
import { tempDir } from '../e2e/helpers.js';
import { ort, runOnnx, saveRandomModel, SMALL, seededInts } from './onnxHelpers.js';

const root = tempDir('vqvae-onnx-prior-');
const modelDir = path.join(root, 'model');
const K = SMALL.codebookSize;

// As for the decoder: float32 sums in other orders, about 1e-6 here.
const TOLERANCE = 1e-4;

before(async () => {
  await selectBackend('auto');
  saveRandomModel(modelDir, {}, 3); // 28x28x1: 7x7 grids of 32 codes
});

/** A random prior of `overrides` saved under root; returns its directory and config. */
async function savedPrior(name: string, overrides: Partial<PriorConfig>, seed: number): Promise<{ dir: string; config: PriorConfig }> {
  const dir = path.join(root, name);
  const prior = new PixelCnn(makePriorConfig({ codebookSize: K, height: 7, width: 7, channels: 8, layers: 2, ...overrides }), seed);
  await savePrior(dir, prior);
  const config = prior.config;
  prior.dispose();
  return { dir, config };
}

const cases: { name: string; overrides: Partial<PriorConfig> }[] = [
  { name: 'unconditional, kernel 3', overrides: {} },
  { name: 'conditional on 3 classes, kernel 5, 3 layers', overrides: { numClasses: 3, kernelSize: 5, layers: 3 } },
];

cases.forEach(({ name, overrides }, i) => {
  it(`prior.onnx gives PixelCnn's logits within 1e-4 (${name})`, async () => {
    const { dir, config } = await savedPrior(`prior-${i}`, overrides, 20 + i);
    const { files } = await exportOnnx({ modelDir, priorDir: dir, outDir: path.join(root, `onnx-${i}`) });
    await selectBackend('auto');
    assert.deepEqual(files.map((f) => path.basename(f)), ['encoder.onnx', 'decoder.onnx', 'prior.onnx']);

    const batch = 3;
    const codes = Int32Array.from(seededInts(batch * 49, K, 30 + i));
    const labels = Int32Array.from([0, 2, 1]);
    const feeds: Record<string, ort.Tensor> = { codes: new ort.Tensor('int32', codes, [batch, 7, 7]) };
    if (config.numClasses > 0) feeds.labels = new ort.Tensor('int32', labels, [batch]);
    const { logits } = await runOnnx(files[2]!, feeds);
    assert.deepEqual(logits!.dims, [batch, 7, 7, K]);

    const prior = new PixelCnn(config);
    const { tensors } = readSafetensorsFile(path.join(dir, 'weights.safetensors'));
    for (const [name, v] of prior.variables) v.assign(tf.tensor(tensors[name]!.data as Float32Array, tensors[name]!.shape));
    const expected = tf.tidy(() =>
      prior.logits(tf.tensor3d(codes, [batch, 7, 7], 'int32'), config.numClasses > 0 ? tf.tensor1d(labels, 'int32') : undefined).dataSync(),
    );
    prior.dispose();
    const theirs = logits!.data as Float32Array;
    let worst = 0;
    for (let j = 0; j < expected.length; j++) worst = Math.max(worst, Math.abs(theirs[j]! - expected[j]!));
    assert.ok(worst <= TOLERANCE, `largest difference ${worst}`);
    assert.ok(Math.max(...Array.from(expected, Math.abs)) > 0.1, 'the logits should not all be near zero');
  });
});

describe('prior.onnx: bad input', () => {
  async function assertFails(priorDir: string, ...patterns: RegExp[]): Promise<void> {
    const outDir = path.join(root, `out-${path.basename(priorDir)}`);
    await assert.rejects(exportOnnx({ modelDir, priorDir, outDir }), (error) => isOneLineUserError(error, patterns));
    assert.equal(fs.existsSync(outDir), false, 'nothing should be written');
  }

  it('names a prior whose grid or K differs from the model', async () => {
    const { dir } = await savedPrior('other-k', { codebookSize: K + 1 }, 1);
    await assertFails(dir, /the prior models 7x7 grids of 33 codes, but the model makes 7x7 grids of 32 codes/);
    const { dir: wide } = await savedPrior('other-grid', { width: 8 }, 1);
    await assertFails(wide, /7x8 grids/);
  });

  it('names a tensor the prior lacks', async () => {
    const { dir } = await savedPrior('whole', {}, 2);
    const broken = path.join(root, 'missing-tensor');
    const { tensors } = readSafetensorsFile(path.join(dir, 'weights.safetensors'));
    delete tensors['prior.v2h.1.weight'];
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    delete config.checkpoint_id;
    saveCheckpoint(broken, config, tensors);
    await assertFails(broken, /missing prior\.v2h\.1\.weight/);
  });

  it('names a prior setting the graph does not implement', async () => {
    const { dir } = await savedPrior('dilated', {}, 2);
    const file = path.join(dir, 'config.json');
    const config = JSON.parse(fs.readFileSync(file, 'utf8')) as { prior: Record<string, unknown> };
    config.prior.dilation = 2;
    fs.writeFileSync(file, JSON.stringify(config));
    await assertFails(dir, /cannot export to ONNX: the prior setting "dilation"/);
  });

  it('names a model directory given as the prior', async () => {
    await assertFails(modelDir, /not a prior/, /pass it as --model/);
  });
});
