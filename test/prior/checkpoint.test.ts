/**
 * Prior directories: what is saved loads back to the same logits and Adam
 * state; config.json has the documented layout; masks are not saved; weights
 * that do not fit the config and files of the wrong kind are one-line errors.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../src/backend/select.js';
import { decodeSafetensors } from '../../src/io/safetensors.js';
import { makePriorConfig, validatePriorConfig } from '../../src/prior/config.js';
import { loadPrior, loadPriorDirectory, savePrior } from '../../src/prior/checkpoint.js';
import { PixelCnn } from '../../src/prior/pixelcnn.js';
import { codeNllMean } from '../../src/prior/nll.js';
import { Adam } from '../../src/train/adam.js';
import { isOneLineUserError } from '../shared/assertions.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'vqvae-prior-ckpt-'));
process.on('exit', () => fs.rmSync(root, { recursive: true, force: true }));
const config = makePriorConfig({ codebookSize: 7, height: 3, width: 4, channels: 8, layers: 2, numClasses: 3 });

before(async () => {
  await selectBackend('auto');
});

function logitsOf(prior: PixelCnn): Float32Array {
  return tf.tidy(() => {
    const codes = tf.tensor3d(Int32Array.from({ length: 2 * 12 }, (_, i) => (i * 5) % 7), [2, 3, 4], 'int32');
    return prior.logits(codes, tf.tensor1d([0, 2], 'int32')).dataSync() as Float32Array;
  });
}

describe('prior checkpoints', () => {
  it('save then load gives the same logits, training state and Adam moments', async () => {
    const prior = new PixelCnn(config, 4);
    const adam = new Adam({ learningRate: 1e-2 });
    const params = Object.fromEntries(prior.variables);
    const codes = tf.tensor3d(Int32Array.from({ length: 12 }, (_, i) => i % 7), [1, 3, 4], 'int32');
    const labels = tf.tensor1d([1], 'int32');
    const { grads } = tf.variableGrads(() => codeNllMean(prior, codes, labels));
    const byName = new Map([...prior.variables].map(([name, v]) => [v.name, name]));
    adam.apply(params, Object.fromEntries(Object.entries(grads).map(([k, g]) => [byName.get(k)!, g])));
    tf.dispose([codes, labels, ...Object.values(grads)]);

    const dir = path.join(root, 'roundtrip');
    const training = { codes: 'codes.npy', step: 1, totalSteps: 5, batch: 1, learningRate: 1e-2, seed: 0, backend: 'wasm', trainingSeconds: 0.5 };
    await savePrior(dir, prior, training, adam.state());

    const file = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    assert.equal(file.format, 'vqvae-prior');
    assert.equal(file.version, 1);
    // A prior without a top grid is written as before the top-grid keys existed.
    const { topCodebookSize: _k, topHeight: _h, topWidth: _w, ...withoutTop } = config;
    assert.deepEqual(file.prior, withoutTop);
    assert.deepEqual(file.training, training);
    assert.equal(typeof file.checkpoint_id, 'string');

    const names = Object.keys(decodeSafetensors(fs.readFileSync(path.join(dir, 'weights.safetensors'))).tensors);
    const variables = [...prior.variables.keys()];
    assert.deepEqual(names.filter((n) => !n.startsWith('adam.')).sort(), [...variables].sort());
    assert.deepEqual(names.filter((n) => n.startsWith('adam.')).sort(), variables.flatMap((n) => [`adam.m.${n}`, `adam.v.${n}`]).sort());
    assert.ok(!names.some((n) => n.includes('mask')));

    const loaded = await loadPriorDirectory(dir);
    assert.deepEqual(logitsOf(loaded.pixelCnn), logitsOf(prior));
    assert.deepEqual(loaded.training, training);
    const state = adam.state();
    for (const [name, v] of Object.entries(state)) assert.deepEqual(loaded.extra[name]!.data, v.dataSync());
    // The mask A layer's masked weights stay masked after loading.
    const weightsOnly = await loadPrior(dir);
    assert.deepEqual(logitsOf(weightsOnly), logitsOf(prior));
    prior.dispose();
    loaded.pixelCnn.dispose();
    weightsOnly.dispose();
    adam.dispose();
  });

  it('a bottom-level prior (conditioned on a top grid) saves its top-grid keys and loads back to the same logits', async () => {
    const conditioned = makePriorConfig({ codebookSize: 5, height: 4, width: 4, channels: 8, layers: 1, topCodebookSize: 3, topHeight: 2, topWidth: 2 });
    const prior = new PixelCnn(conditioned, 6);
    const dir = path.join(root, 'bottom');
    await savePrior(dir, prior);
    const file = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    assert.deepEqual(file.prior, conditioned);
    const loaded = await loadPrior(dir);
    const logits = (p: PixelCnn) =>
      tf.tidy(() => p.logits(tf.tensor3d(Int32Array.from({ length: 32 }, (_, i) => i % 5), [2, 4, 4], 'int32'), undefined, tf.tensor3d([0, 1, 2, 0, 2, 2, 1, 0], [2, 2, 2], 'int32')).dataSync());
    assert.deepEqual(logits(loaded), logits(prior));
    prior.dispose();
    loaded.dispose();
  });

  it('refuses weights of another configuration, naming the variable and both shapes', async () => {
    const dir = path.join(root, 'mismatch');
    const prior = new PixelCnn(config, 0);
    await savePrior(dir, prior);
    prior.dispose();
    const file = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    file.prior.channels = 16;
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(file));
    await assert.rejects(loadPrior(dir), (e) => isOneLineUserError(e, [/weights\.safetensors/, /prior\.embedding has shape \[7, 8\], expected \[7, 16\]/]));
  });

  it('refuses a VQ-VAE model directory, an unknown config key and a bad field', async () => {
    const dir = path.join(root, 'kinds');
    const prior = new PixelCnn(config, 0);
    await savePrior(dir, prior);
    prior.dispose();
    const configPath = path.join(dir, 'config.json');
    const good = JSON.parse(fs.readFileSync(configPath, 'utf8'));
    fs.writeFileSync(configPath, JSON.stringify({ ...good, format: 'vqvae' }));
    await assert.rejects(loadPrior(dir), (e) => isOneLineUserError(e, [/not a prior/, /pass it as --model/]));
    fs.writeFileSync(configPath, JSON.stringify({ ...good, prior: { ...good.prior, depth: 3 } }));
    await assert.rejects(loadPrior(dir), (e) => isOneLineUserError(e, [/unknown key "depth"/, /valid keys are codebookSize/]));
    fs.writeFileSync(configPath, JSON.stringify({ ...good, prior: { ...good.prior, kernelSize: 4 } }));
    await assert.rejects(loadPrior(dir), (e) => isOneLineUserError(e, [/"kernelSize" must be an odd integer >= 3, found 4/]));
  });

  it('validates configs: missing keys and wrong types are named', () => {
    assert.throws(() => validatePriorConfig({ ...config, layers: -1 }), (e) => isOneLineUserError(e, [/"layers" must be an integer >= 0, found -1/]));
    const { numClasses: _, ...missing } = config;
    assert.throws(() => validatePriorConfig(missing), (e) => isOneLineUserError(e, [/missing key "numClasses"/]));
  });

  it('fromTensors ignores optimizer state and refuses unknown names', () => {
    const prior = new PixelCnn(config, 2);
    const tensors = new Map<string, tf.Tensor>([...prior.variables].map(([n, v]) => [n, v as tf.Tensor]));
    const extra = tf.zeros([1]);
    const copy = PixelCnn.fromTensors(config, new Map([...tensors, ['adam.m.prior.embedding', extra]]));
    assert.deepEqual(logitsOf(copy), logitsOf(prior));
    assert.throws(() => PixelCnn.fromTensors(config, new Map([...tensors, ['prior.extra', extra]])), /unexpected prior\.extra/);
    copy.dispose();
    prior.dispose();
    extra.dispose();
  });
});
