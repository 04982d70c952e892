/**
 * `vqvae train --levels 2` end to end on the tiny model: the two-level model
 * directory (model/hierarchicalFile.ts) holds both levels' sizes and loads
 * back to the same codes; --resume continues it without --levels; bad
 * --levels and top-level flags without --levels 2 are one-line usage errors
 * that write nothing; commands that take one-level models refuse it in one
 * line naming the file; a one-level directory still trains and loads.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../src/backend/select.js';
import { loadDataset } from '../../src/data/load.js';
import { loadModel } from '../../src/model/checkpoint.js';
import { loadHierarchicalModel, modelLevels } from '../../src/model/hierarchicalFile.js';
import { gatherImages } from '../../src/train/batches.js';
import { evaluateHierarchical } from '../../src/train/hierarchicalEvaluate.js';
import { assertFails, assertOk, readConfig, tempDir, TINY, trainTiny, vqvae } from './helpers.js';

const root = tempDir('vqvae-levels-');
const modelDir = path.join(root, 'two');

describe('vqvae train --levels 2', () => {
  before(async () => {
    await selectBackend('auto');
    assertOk(await vqvae('train', '--data', 'mnist', '--out', modelDir, ...TINY, '--steps', '3', '--levels', '2', '--top-codebook-size', '16', '--top-code-dim', '4', '--ema'));
  });

  it('writes a two-level model directory with both levels\' sizes, that loads back to the codes it was evaluated with', async () => {
    const { model, training } = readConfig(modelDir);
    assert.equal(fs.readFileSync(path.join(modelDir, 'config.json'), 'utf8').includes('"format": "vqvae2"'), true);
    assert.deepEqual([model.levels, model.codebookSize, model.codeDim, model.topCodebookSize, model.topCodeDim, model.quantizer], [2, 32, 8, 16, 4, 'ema']);
    assert.equal(training.step, 3);
    assert.equal(modelLevels(modelDir), 2);
    const loaded = loadHierarchicalModel(modelDir);
    assert.deepEqual(loaded.vqvae.grids, { top: [4, 4], bottom: [7, 7] });
    assert.ok(Object.keys(loaded.extra).some((name) => name.startsWith('adam.m.quantizer.top') || name.startsWith('adam.m.encoder.top')));
    const test = await loadDataset('mnist', { split: 'test', limit: 16 });
    const x = gatherImages(test, Array.from({ length: 16 }, (_, i) => i));
    const codes = loaded.vqvae.encodeIndices(x);
    // The codes counted by the evaluation are those of encodeIndices, level by level.
    const seen: { top: number[]; bottom: number[] } = { top: [], bottom: [] };
    const metrics = evaluateHierarchical(loaded.vqvae, test, { onIndices: (_, top, bottom) => { seen.top.push(...top); seen.bottom.push(...bottom); } });
    assert.deepEqual(seen.top, Array.from(codes.top.dataSync()));
    assert.deepEqual(seen.bottom, Array.from(codes.bottom.dataSync()));
    assert.equal(metrics.top.codesUsed, new Set(seen.top).size);
    assert.equal(metrics.bottom.codesUsed, new Set(seen.bottom).size);
    tf.dispose([x, codes.top, codes.bottom]);
    loaded.vqvae.dispose();
  });

  it('--resume continues it without --levels; a top-level flag that differs is refused', async () => {
    assertOk(await vqvae('train', '--data', 'mnist', '--out', modelDir, ...TINY, '--steps', '4', '--resume'));
    assert.equal(readConfig(modelDir).training.step, 4);
    assertFails(await vqvae('train', '--data', 'mnist', '--out', modelDir, ...TINY, '--steps', '5', '--resume', '--top-codebook-size', '8'), 1, /--top-codebook-size 8 does not match/, /top-codebook-size 16/);
    assertFails(await vqvae('train', '--data', 'mnist', '--out', modelDir, ...TINY, '--steps', '5', '--resume', '--levels', '1'), 1, /not a vqvae model/, /two-level/);
    assert.equal(readConfig(modelDir).training.step, 4);
  });

  it('refuses --levels other than 1 or 2 and top-level flags without --levels 2, writing nothing', async () => {
    const out = path.join(root, 'bad');
    assertFails(await vqvae('train', '--data', 'mnist', '--out', out, '--levels', '3'), 2, /--levels/, /between 1 and 2/);
    assertFails(await vqvae('train', '--data', 'mnist', '--out', out, '--levels', '0'), 2, /--levels/);
    assertFails(await vqvae('train', '--data', 'mnist', '--out', out, '--top-code-dim', '4'), 2, /--top-code-dim needs --levels 2/);
    assertFails(await vqvae('train', '--data', 'mnist', '--out', out, '--levels', '2', '--distributed'), 2, /--levels 2 does not run distributed/);
    assertFails(await vqvae('train', '--data', 'wav:' + out, '--out', out, '--levels', '2'), 2, /--levels applies to image data/);
    // A setting neither level's kind has is refused, not ignored (test/e2e/levelQuantizers.test.ts: the others).
    assertFails(await vqvae('train', '--data', 'mnist', '--out', out, '--levels', '2', '--quantizer', 'simvq', '--gradient', 'rotation'), 2, /--gradient does not apply to either level/);
    assertFails(await vqvae('train', '--data', 'mnist', '--out', out, '--levels', '2', '--depth', '2'), 2, /--depth does not apply to either level \(bottom ema, top ema; it applies to rvq\)/);
    assert.ok(!fs.existsSync(out));
  });

  it('loading it as a one-level model is refused in one line naming its config.json', async () => {
    // (`vqvae export` for the web page takes two-level models: test/export/web.test.ts, test/web/levels.test.ts.)
    assert.throws(() => loadModel(modelDir), (e: Error) => e.message.startsWith(path.join(modelDir, 'config.json')) && /not a vqvae model \(format "vqvae2".*two-level VQ-VAE model directory/.test(e.message));
  });

  it('a one-level model directory still trains with --levels 1 and loads as before', async () => {
    const one = path.join(root, 'one');
    await trainTiny(one, '--levels', '1');
    assert.equal(modelLevels(one), 1);
    // config.json's model.levels is ModelConfig's FSQ levels (a list), not a level count.
    assert.ok(Array.isArray(readConfig(one).model.levels), `levels ${JSON.stringify(readConfig(one).model.levels)}`);
    loadModel(one).vqvae.dispose();
  });
});
