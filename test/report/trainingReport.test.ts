/**
 * `vqvae train` writes DIR/report.html: one file with no outside references
 * (inline SVG, PNGs as data: URLs), holding every step's loss, a snapshot at
 * each evaluation and at the end whose code usage matches the model's own
 * codes, and continued, not restarted, by --resume.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../src/backend/select.js';
import { loadDataset } from '../../src/data/load.js';
import { decodePng } from '../../src/io/pngGrid.js';
import { loadModel } from '../../src/model/checkpoint.js';
import { loadHierarchicalModel } from '../../src/model/hierarchicalFile.js';
import { makeModelConfig } from '../../src/model/config.js';
import { VqVae } from '../../src/model/vqvae.js';
import { codeCounts } from '../../src/quantize/ops.js';
import { takeSnapshot } from '../../src/report/snapshot.js';
import { readReportData } from '../../src/report/trainingReport.js';
import { sliceImages } from '../../src/train/batches.js';
import { assertOk, lastJson, TINY, tempDir, vqvae } from '../e2e/helpers.js';

const root = tempDir();
const out = path.join(root, 'run');
const report = path.join(out, 'report.html');

before(async () => {
  await selectBackend('auto');
});

describe('report.html of vqvae train', () => {
  it('holds every step, a snapshot per evaluation, and needs nothing outside the file', async () => {
    const result = await vqvae('train', '--data', 'mnist', '--out', out, ...TINY, '--steps', '6', '--eval-every', '3', '--json');
    assertOk(result);
    const data = readReportData(report);
    assert.ok(data, 'report.html carries its data');
    assert.deepEqual(data.curve.map((p) => p.step), [1, 2, 3, 4, 5, 6]);
    assert.equal(data.curve.at(-1)!.loss, lastJson(result).final_loss);
    assert.deepEqual(data.snapshots.map((s) => s.step), [3, 6]);

    const html = fs.readFileSync(report, 'utf8');
    assert.match(html, /<svg /);
    const sources = [...html.matchAll(/\b(?:src|href)="([^"]*)"/g)].map((m) => m[1]!);
    assert.equal(sources.length, 2, 'one image per snapshot, and no other reference');
    for (const src of sources) assert.ok(src.startsWith('data:image/png;base64,'), `not inline: ${src.slice(0, 40)}`);
    assert.doesNotMatch(html, /https?:\/\//);
    const png = decodePng(Buffer.from(sources[0]!.slice('data:image/png;base64,'.length), 'base64'));
    assert.ok(png.width >= 8 * 56 && png.height >= 4 * 56, `a 2x(8 over 8) grid of 2x images: ${png.width}x${png.height}`);
  });

  it('the last snapshot\'s code usage is what the saved model picks on the test images', async () => {
    const data = readReportData(report)!;
    const last = data.snapshots.at(-1)!;
    const loaded = loadModel(out);
    const test = await loadDataset('mnist', { split: 'test', limit: 64 });
    assert.equal(last.usageImages, 64);
    const counts = tf.tidy(() => codeCounts(loaded.vqvae.encodeIndices(sliceImages(test, 0, 64)), loaded.model.codebookSize));
    assert.deepEqual(last.usage, Array.from(counts.dataSync()));
    assert.equal(last.usage.reduce((a, b) => a + b, 0), 64 * 49);
    counts.dispose();
    loaded.vqvae.dispose();
  });

  it('counts code usage over more test images than one chunk (300: chunks of 128, 128, 44)', async () => {
    const test = await loadDataset('mnist', { split: 'test', limit: 300 });
    const model = new VqVae(makeModelConfig({ hidden: 16, resHidden: 8, codebookSize: 32, codeDim: 8 }), 3);
    const metrics = { mse: 0, psnrDb: 0, perplexity: 0, codesUsed: 0, images: 300 };
    const snapshot = takeSnapshot(model, test, 1, metrics);
    const counts = tf.tidy(() => codeCounts(model.encodeIndices(sliceImages(test, 0, 300)), 32));
    assert.equal(snapshot.usageImages, 300);
    assert.deepEqual(snapshot.usage, Array.from(counts.dataSync()));
    assert.equal(snapshot.usage.reduce((a, b) => a + b, 0), 300 * 49);
    counts.dispose();
    model.dispose();
  });

  it('--resume continues the curves and snapshots of the earlier run', async () => {
    assertOk(await vqvae('train', '--data', 'mnist', '--out', out, ...TINY, '--steps', '9', '--eval-every', '3', '--resume'));
    const data = readReportData(report)!;
    assert.deepEqual(data.curve.map((p) => p.step), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual(data.snapshots.map((s) => s.step), [3, 6, 9]);
  });

  it('a two-level run\'s snapshots hold both levels\' usage, each what the saved model picks on the test images', async () => {
    const dir = path.join(root, 'levels');
    assertOk(await vqvae('train', '--data', 'mnist', '--out', dir, ...TINY, '--levels', '2', '--top-codebook-size', '16', '--steps', '4', '--eval-every', '2'));
    const data = readReportData(path.join(dir, 'report.html'))!;
    assert.deepEqual(data.snapshots.map((s) => s.step), [2, 4]);
    const last = data.snapshots.at(-1)!;
    const loaded = loadHierarchicalModel(dir);
    const test = await loadDataset('mnist', { split: 'test', limit: 64 });
    const [top, bottom] = tf.tidy(() => {
      const indices = loaded.vqvae.encodeIndices(sliceImages(test, 0, 64));
      return [codeCounts(indices.top, 16), codeCounts(indices.bottom, 32)];
    });
    assert.deepEqual(last.top?.usage, Array.from(top.dataSync()));
    assert.deepEqual(last.usage, Array.from(bottom.dataSync()));
    assert.equal(last.top!.usage.reduce((a, b) => a + b, 0), 64 * 4 * 4, 'top grid 4x4');
    assert.equal(last.usage.reduce((a, b) => a + b, 0), 64 * 7 * 7, 'bottom grid 7x7');
    assert.equal(last.top!.codesUsed, last.top!.usage.filter((c) => c > 0).length);
    tf.dispose([top, bottom]);
    loaded.vqvae.dispose();
    const html = fs.readFileSync(path.join(dir, 'report.html'), 'utf8');
    assert.equal([...html.matchAll(/src="data:image\/png;base64,/g)].length, 2, 'a reconstruction grid per evaluation');
    assert.match(html, /Top level\. How often each code \(0 to 15\)/);
    assert.match(html, /Bottom level\. How often each code \(0 to 31\)/);
    assert.match(html, /<th>top perplexity<\/th>/);
  });

  it('a two-level run with rvq on both levels counts each level\'s codes over every depth, as the saved model picks them', async () => {
    const dir = path.join(root, 'levels-rvq');
    assertOk(await vqvae('train', '--data', 'mnist', '--out', dir, ...TINY, '--levels', '2', '--quantizer', 'rvq', '--depth', '2', '--top-quantizer', 'rvq', '--top-depth', '3',
      '--top-codebook-size', '16', '--steps', '2', '--eval-every', '2'));
    const last = readReportData(path.join(dir, 'report.html'))!.snapshots.at(-1)!;
    const loaded = loadHierarchicalModel(dir);
    const test = await loadDataset('mnist', { split: 'test', limit: 64 });
    const indices = loaded.vqvae.encodeIndices(sliceImages(test, 0, 64));
    assert.deepEqual([indices.top.shape, indices.bottom.shape], [[64, 4, 4, 3], [64, 7, 7, 2]]);
    const count = (codes: ArrayLike<number>, k: number) => {
      const counts = new Array<number>(k).fill(0);
      for (let i = 0; i < codes.length; i++) counts[codes[i]!]! += 1;
      return counts;
    };
    assert.deepEqual(last.top?.usage, count(indices.top.dataSync(), 16));
    assert.deepEqual(last.usage, count(indices.bottom.dataSync(), 32));
    assert.equal(last.top!.usage.reduce((a, b) => a + b, 0), 64 * 4 * 4 * 3, 'top grid 4x4, depth 3');
    assert.equal(last.usage.reduce((a, b) => a + b, 0), 64 * 7 * 7 * 2, 'bottom grid 7x7, depth 2');
    assert.equal(last.top!.codesUsed, last.top!.usage.filter((c) => c > 0).length);
    tf.dispose([indices.top, indices.bottom]);
    loaded.vqvae.dispose();
  });
});
