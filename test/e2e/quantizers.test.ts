/**
 * End to end with the quantizers of simvq.ts, fsq.ts and rvq.ts: a model
 * directory of each, started by the library and trained on by
 * `vqvae train --resume`; `encode`, `decode`, `reconstruct` and `eval` on it,
 * with RVQ's [N, h, w, depth] codes; `prior train` refusing RVQ codes.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';

import { selectBackend } from '../../src/backend/select.js';
import { loadDataset } from '../../src/data/load.js';
import { loadModel, saveModel } from '../../src/model/checkpoint.js';
import { makeModelConfig, type ModelConfig } from '../../src/model/config.js';
import { VqVae } from '../../src/model/vqvae.js';
import { Adam } from '../../src/train/adam.js';
import { assertDecodedEqualsReconstructed, assertFails, assertOk, int32Values, lastJson, parseNpy, readConfig, tempDir, vqvae } from './helpers.js';

const small = { hidden: 16, resHidden: 8, codeDim: 8 };
const KINDS: Record<string, ModelConfig> = {
  simvq: makeModelConfig({ ...small, quantizer: 'simvq', codebookSize: 32 }),
  fsq: makeModelConfig({ ...small, quantizer: 'fsq', levels: [4, 4, 2], codebookSize: 32 }),
  rvq: makeModelConfig({ ...small, quantizer: 'rvq', depth: 3, codebookSize: 32 }),
};
const N = 12;

const root = tempDir();

/** A model directory at step 0 of a 3-step MNIST run, then trained by the CLI. */
async function startModel(kind: string, config: ModelConfig): Promise<string> {
  const dir = path.join(root, kind);
  const model = new VqVae(config, 0);
  const training = { data: 'mnist', step: 0, totalSteps: 3, batch: 16, learningRate: 1e-3, seed: 0, dataVariance: 0.09, backend: 'cpu', trainingSeconds: 0 };
  saveModel(dir, model, training, new Adam({ learningRate: 1e-3 }).state());
  model.dispose();
  assertOk(await vqvae('train', '--data', 'mnist', '--out', dir, '--resume', '--limit', '64', '--eval-limit', '16'));
  assert.equal(readConfig(dir).training.step, 3);
  return dir;
}

before(async () => {
  await selectBackend('auto');
});

for (const [kind, config] of Object.entries(KINDS)) {
  describe(`vqvae with the ${kind} quantizer`, () => {
    let dir: string;
    const codesFile = () => path.join(root, `${kind}-codes.npy`);
    before(async () => {
      dir = await startModel(kind, config);
      assertOk(await vqvae('encode', '--model', dir, '--data', 'mnist', '--split', 'test', '--limit', String(N), '--out', codesFile()));
    });

    it('encode writes the library\'s codes, [N, 7, 7] (rvq: [N, 7, 7, depth]) in 0..K-1', async () => {
      const npy = parseNpy(fs.readFileSync(codesFile()));
      const shape = config.quantizer === 'rvq' ? [N, 7, 7, config.depth] : [N, 7, 7];
      assert.deepEqual(npy.shape, shape);
      const values = int32Values(npy);
      const { vqvae: model } = loadModel(dir);
      const data = await loadDataset('mnist', { split: 'test', limit: N });
      const x = tf.tensor4d(Float32Array.from(data.images, (p) => p / 255 - 0.5), [N, 28, 28, 1]);
      assert.deepEqual(values, Array.from(model.forward(x).indices.dataSync()));
      assert.ok(values.every((v) => v >= 0 && v < config.codebookSize));
      model.dispose();
    });

    it('decode(encode(x)) equals the reconstructions that reconstruct draws', async () => {
      const decodedFile = path.join(root, `${kind}-decoded.png`);
      const reconstructedFile = path.join(root, `${kind}-reconstructed.png`);
      assertOk(await vqvae('decode', '--model', dir, '--codes', codesFile(), '--out', decodedFile, '--columns', '4'));
      assertOk(await vqvae('reconstruct', '--model', dir, '--data', 'mnist', '--limit', String(N), '--out', reconstructedFile, '--columns', '4'));
      assertDecodedEqualsReconstructed(decodedFile, reconstructedFile, N, 4);
    });

    it('eval --json reports codes used within K', async () => {
      const result = await vqvae('eval', '--model', dir, '--data', 'mnist', '--limit', String(N), '--json');
      assertOk(result);
      const summary = lastJson(result);
      assert.ok((summary.codes_used as number) >= 1 && (summary.codes_used as number) <= config.codebookSize);
      assert.equal(summary.images, N);
    });

    if (kind === 'rvq') {
      it('decode refuses codes without the depth axis, naming the shape the model needs', async () => {
        const flat = path.join(root, 'flat.npy');
        assertOk(await vqvae('encode', '--model', path.join(root, 'simvq'), '--data', 'mnist', '--split', 'test', '--limit', '2', '--out', flat));
        assertFails(await vqvae('decode', '--model', dir, '--codes', flat, '--out', path.join(root, 'x.png')), 1, /codes must have shape \[N, 7, 7, 3\]/);
        assert.ok(!fs.existsSync(path.join(root, 'x.png')));
      });

      it('prior train on RVQ codes, or on an RVQ model, stops with one line saying it is not supported yet', async () => {
        const out = path.join(root, 'prior');
        assertFails(await vqvae('prior', 'train', '--codes', codesFile(), '--out', out, '--steps', '1'), 1, /a prior over RVQ codes .* is not supported yet/);
        assertFails(
          await vqvae('prior', 'train', '--codes', codesFile(), '--model', dir, '--out', out, '--steps', '1'),
          1,
          /residual \(rvq, depth 3\): a prior over RVQ codes .* is not supported yet/,
        );
        assert.ok(!fs.existsSync(out));
      });
    }
  });
}
