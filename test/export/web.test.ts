/**
 * `vqvae export`: what the page loads is the model itself (same variables,
 * no optimizer state), the first test images of its data, and its prior; a
 * prior for another model, or --out onto the model, is one error line and
 * writes nothing.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { selectBackend } from '../../src/backend/select.js';
import { loadDataset } from '../../src/data/load.js';
import { loadCheckpoint } from '../../src/io/checkpoint.js';
import { readSafetensorsFile } from '../../src/io/safetensorsFile.js';
import * as tf from '@tensorflow/tfjs-core';
import { loadAudioModel, saveAudioModel } from '../../src/audio/checkpoint.js';
import { AudioVqVae } from '../../src/audio/model.js';
import { loadModel } from '../../src/model/checkpoint.js';
import { makeModelConfig } from '../../src/model/config.js';
import { HierarchicalVqVae } from '../../src/model/hierarchical.js';
import { loadHierarchicalModel, saveHierarchicalModel } from '../../src/model/hierarchicalFile.js';
import { assertFails, assertOk, lastJson, trainTiny, vqvae } from '../e2e/helpers.js';
import { literal, tempDir, writeRandomPrior } from '../web/helpers.js';

const root = tempDir();
const model = path.join(root, 'model');
const prior = path.join(root, 'prior');

before(async () => {
  await selectBackend('auto');
  await trainTiny(model); // TINY: K 32, 7x7 codes, trained on mnist
  writeRandomPrior(prior, { codebookSize: 32, height: 7, width: 7, numClasses: 10 });
});

describe('vqvae export', () => {
  it('writes the model without Adam state, 256 test images and the prior; every command reads the result', async () => {
    const out = path.join(root, 'web');
    const result = await vqvae('export', '--model', model, '--prior', prior, '--out', out, '--json');
    assertOk(result);
    const summary = lastJson(result);
    assert.deepEqual(summary.files, ['config.json', 'examples.safetensors', 'prior/config.json', 'prior/weights.safetensors', 'weights.safetensors']);
    assert.equal(summary.examples, 256);
    assert.equal(summary.prior, true);
    assert.equal(summary.prior_classes, 10);

    const original = loadModel(model);
    const exported = loadModel(out);
    assert.ok(Object.keys(original.extra).length > 0, 'the trained model has Adam state to drop');
    assert.deepEqual(exported.extra, {});
    assert.deepEqual(exported.model, original.model);
    assert.deepEqual(exported.training, original.training);
    for (const [name, v] of Object.entries(original.vqvae.state())) {
      assert.deepEqual(exported.vqvae.state()[name]!.dataSync(), v.dataSync(), name);
    }
    original.vqvae.dispose();
    exported.vqvae.dispose();

    const test = await loadDataset('mnist', { split: 'test', limit: 256 });
    const examples = readSafetensorsFile(path.join(out, 'examples.safetensors')).tensors;
    assert.deepEqual(examples.images!.shape, [256, 28, 28, 1]);
    assert.deepEqual(examples.images!.data, test.images.subarray(0, 256 * 784));
    assert.deepEqual(examples.labels!.data, test.labels.subarray(0, 256));

    const source = loadCheckpoint(prior);
    const copied = loadCheckpoint(path.join(out, 'prior'));
    assert.deepEqual(copied.config, source.config);
    const kept = Object.keys(source.tensors).filter((n) => !n.startsWith('adam.'));
    assert.ok(kept.length < Object.keys(source.tensors).length, 'the prior fixture has Adam state to drop');
    assert.deepEqual(Object.keys(copied.tensors).sort(), kept.sort());
    for (const name of kept) assert.deepEqual(copied.tensors[name]!.data, source.tensors[name]!.data, name);
  });

  it('--examples 0 and no --prior on a re-export remove what an earlier export put there', async () => {
    const out = path.join(root, 'again');
    assertOk(await vqvae('export', '--model', model, '--prior', prior, '--out', out, '--examples', '16'));
    assert.equal(readSafetensorsFile(path.join(out, 'examples.safetensors')).tensors.images!.shape[0], 16);
    assertOk(await vqvae('export', '--model', model, '--out', out, '--examples', '0'));
    assert.equal(fs.existsSync(path.join(out, 'examples.safetensors')), false);
    assert.equal(fs.existsSync(path.join(out, 'prior', 'config.json')), false);
    assert.equal(fs.existsSync(path.join(out, 'weights.safetensors')), true);
  });

  it('a prior for another codebook size is one line naming both, and nothing is written', async () => {
    const wrong = path.join(root, 'wrong-prior');
    writeRandomPrior(wrong, { codebookSize: 16, height: 7, width: 7 });
    const out = path.join(root, 'not-written');
    const result = await vqvae('export', '--model', model, '--prior', wrong, '--out', out);
    assertFails(result, 1, literal(`${wrong}/config.json: this prior is for 7x7 grids of 16 codes, but the model makes 7x7 grids of 32 codes`));
    assert.equal(fs.existsSync(out), false);
  });

  it('a model directory given as --prior is named as not a prior', async () => {
    const result = await vqvae('export', '--model', model, '--prior', model, '--out', path.join(root, 'x'));
    assertFails(result, 1, literal(`${model}/config.json: not a vqvae prior (format "vqvae", expected "vqvae-prior")`));
  });

  it('--out onto the model itself is refused', async () => {
    const before = fs.readFileSync(path.join(model, 'weights.safetensors'));
    const result = await vqvae('export', '--model', model, '--out', model);
    assertFails(result, 1, literal(`--out ${model} is the directory being exported`));
    assert.deepEqual(fs.readFileSync(path.join(model, 'weights.safetensors')), before);
  });

  it('a two-level and an audio model export without Adam state; --prior with them, and image --data with audio, are one line each', async () => {
    const two = path.join(root, 'two-level');
    const hier = new HierarchicalVqVae({ model: makeModelConfig({ hidden: 16, resHidden: 8, codebookSize: 16, codeDim: 8 }), top: { codebookSize: 8, codeDim: 4 } }, 3);
    const moment = tf.fill([2], 0.5);
    saveHierarchicalModel(two, hier, undefined, { 'adam.m.x': moment });
    moment.dispose();
    const twoOut = path.join(root, 'two-level-web');
    assertOk(await vqvae('export', '--model', two, '--out', twoOut, '--examples', '4', '--data', 'mnist'));
    const exported = loadHierarchicalModel(twoOut);
    assert.deepEqual(exported.extra, {});
    assert.deepEqual(exported.model, hier.config);
    for (const [name, v] of Object.entries(hier.state())) assert.deepEqual(exported.vqvae.state()[name]!.dataSync(), v.dataSync(), name);
    assert.deepEqual(readSafetensorsFile(path.join(twoOut, 'examples.safetensors')).tensors.images!.shape, [4, 28, 28, 1]);
    exported.vqvae.dispose();
    hier.dispose();

    const speech = path.join(root, 'speech');
    const audio = new AudioVqVae({ downsamples: 3, encoderChannels: 4, codebookSize: 8, codeDim: 4, speakers: 2, speakerDim: 2, residualChannels: 4, skipChannels: 4, dilations: [1, 2] }, 5);
    saveAudioModel(speech, audio, ['a', 'b'], { data: 'wav:speech', step: 3 });
    const speechOut = path.join(root, 'speech-web');
    const result = await vqvae('export', '--model', speech, '--out', speechOut, '--json');
    assertOk(result);
    assert.deepEqual(lastJson(result).files, ['config.json', 'weights.safetensors']);
    const back = loadAudioModel(speechOut);
    assert.deepEqual(back.speakers, ['a', 'b']);
    assert.deepEqual(back.model, audio.config);
    for (const [name, v] of Object.entries(audio.state())) assert.deepEqual(back.vqvae.state()[name]!.dataSync(), v.dataSync(), name);
    back.vqvae.dispose();
    audio.dispose();

    for (const [dir, what] of [[two, 'a two-level model'], [speech, 'an audio model']] as const) {
      const out = path.join(root, 'refused');
      assertFails(await vqvae('export', '--model', dir, '--prior', prior, '--out', out), 1, literal(`--prior ${prior}: the page samples priors of one-level models with one code per cell; the model is ${what}`));
      assert.equal(fs.existsSync(out), false);
    }
    const out = path.join(root, 'refused');
    assertFails(await vqvae('export', '--model', speech, '--data', 'mnist', '--out', out), 1, literal("--data mnist: an audio model's examples come from wav:DIR data"));
    assert.equal(fs.existsSync(out), false);
  });
});
