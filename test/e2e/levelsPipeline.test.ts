/**
 * A two-level model (vqvae train --levels 2) through the rest of the
 * pipeline, end to end on the tiny model: eval's figures per level against a
 * float64 count of the model's own codes, encode's two files
 * (model/hierarchicalCodes.ts levelCodePaths), decode(encode(x)) equal to
 * reconstruct, the default recipe and --restart-dead / --codebook-init on
 * both levels with an exact --resume, a directory written before those
 * settings still loading, and the bad inputs: one error line each, nothing
 * written.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../src/backend/select.js';
import { loadDataset } from '../../src/data/load.js';
import { levelCodePaths } from '../../src/model/hierarchicalCodes.js';
import { loadHierarchicalModel } from '../../src/model/hierarchicalFile.js';
import { HierarchicalVqVae } from '../../src/model/hierarchical.js';
import { gatherImages } from '../../src/train/batches.js';
import { initializeLevelCodebooks } from '../../src/train/hierarchicalStep.js';
import {
  assertDecodedEqualsReconstructed,
  assertFails,
  assertOk,
  int32Npy,
  int32Values,
  lastJson,
  literal,
  parseNpy,
  readConfig,
  tempDir,
  TINY,
  trainTiny,
  vqvae,
} from './helpers.js';

const root = tempDir('vqvae-levels-pipeline-');
const modelDir = path.join(root, 'two');
const TWO = ['--levels', '2', '--top-codebook-size', '16', '--top-code-dim', '4'];

/** The model's codes of the first `n` test digits, each level, by encodeIndices; and the squared error of its clipped reconstruction, in float64. */
async function ownFigures(dir: string, n: number): Promise<{ top: number[]; bottom: number[]; mse: number }> {
  const loaded = loadHierarchicalModel(dir);
  const test = await loadDataset('mnist', { split: 'test', limit: n });
  const x = gatherImages(test, Array.from({ length: n }, (_, i) => i));
  const codes = loaded.vqvae.encodeIndices(x);
  const out = loaded.vqvae.forward(x);
  const recon = out.reconstruction.dataSync();
  const pixels = x.dataSync();
  let sum = 0;
  for (let i = 0; i < recon.length; i++) sum += (Math.min(1, Math.max(0, recon[i]! + 0.5)) - (pixels[i]! + 0.5)) ** 2;
  const result = { top: Array.from(codes.top.dataSync()), bottom: Array.from(codes.bottom.dataSync()), mse: sum / recon.length };
  tf.dispose([x, codes.top, codes.bottom, out.reconstruction, out.vqLoss]);
  loaded.vqvae.dispose();
  return result;
}

/** Codes used and perplexity exp(-sum p ln p) of a list of codes, in float64. */
function usageOf(codes: number[]): { used: number; perplexity: number } {
  const counts = new Map<number, number>();
  for (const c of codes) counts.set(c, (counts.get(c) ?? 0) + 1);
  let entropy = 0;
  for (const c of counts.values()) entropy -= (c / codes.length) * Math.log(c / codes.length);
  return { used: counts.size, perplexity: Math.exp(entropy) };
}

describe('the pipeline on a two-level model', () => {
  before(async () => {
    await selectBackend('auto');
    // The default recipe (no --quantizer): ema with dead-code restarts, on both levels.
    assertOk(await vqvae('train', '--data', 'mnist', '--out', modelDir, ...TINY, '--steps', '3', ...TWO));
  });

  it('trains with the default recipe on both levels, recorded in config.json', () => {
    const { model } = readConfig(modelDir);
    assert.deepEqual([model.quantizer, model.restartDead, model.codebookInit], ['ema', 0.05, 'uniform']);
    const loaded = loadHierarchicalModel(modelDir);
    // Each level keeps its own running usage for the restarts, so --resume continues them.
    assert.deepEqual(Object.keys(loaded.vqvae.state()).filter((k) => k.endsWith('.usage')).sort(), ['quantizer.bottom.usage', 'quantizer.top.usage']);
    loaded.vqvae.dispose();
  });

  it('eval reports MSE, PSNR and each level\'s codes used, dead codes and perplexity over the whole split', async () => {
    const n = 40;
    const usageOut = path.join(root, 'usage.npy');
    const result = await vqvae('eval', '--model', modelDir, '--data', 'mnist', '--limit', String(n), '--batch', '16', '--usage-out', usageOut, '--json');
    assertOk(result);
    const json = lastJson(result) as { mse: number; psnr_db: number; images: number; levels: Record<string, Record<string, number>> };
    const own = await ownFigures(modelDir, n);
    assert.equal(json.images, n);
    assert.ok(Math.abs(json.mse - own.mse) < 1e-6 * own.mse, `mse ${json.mse} vs ${own.mse}`);
    assert.ok(Math.abs(json.psnr_db - 10 * Math.log10(1 / own.mse)) < 1e-4);
    const paths = levelCodePaths(usageOut);
    for (const [level, K] of [['top', 16], ['bottom', 32]] as const) {
      const { used, perplexity } = usageOf(own[level]);
      const got = json.levels[level]!;
      assert.deepEqual([got.codebook_size, got.codes_used, got.dead_codes], [K, used, K - used], level);
      assert.ok(Math.abs(got.codes_used_fraction! - used / K) < 1e-12);
      assert.ok(Math.abs(got.perplexity! - perplexity) < 1e-9 * perplexity, `${level} perplexity ${got.perplexity} vs ${perplexity}`);
      // --usage-out: how often each code occurs, per level.
      const histogram = int32Values(parseNpy(fs.readFileSync(paths[level])));
      assert.equal(histogram.length, K);
      assert.deepEqual(histogram, Array.from({ length: K }, (_, k) => own[level].filter((c) => c === k).length));
    }
    assert.ok(!fs.existsSync(usageOut), 'the plain --usage-out name is not written');
  });

  it('encode writes codes.top.npy and codes.bottom.npy, the model\'s codes of each level; decode of them equals reconstruct', async () => {
    const n = 20;
    const out = path.join(root, 'codes.npy');
    const result = await vqvae('encode', '--model', modelDir, '--data', 'mnist', '--split', 'test', '--limit', String(n), '--out', out, '--labels-out', path.join(root, 'labels.npy'));
    assertOk(result);
    const paths = levelCodePaths(out);
    assert.deepEqual(paths, { top: path.join(root, 'codes.top.npy'), bottom: path.join(root, 'codes.bottom.npy') });
    assert.ok(!fs.existsSync(out), 'the plain --out name is not written');
    assert.match(result.stdout, new RegExp(literal(paths.top).source + '.*\\[20, 4, 4\\]'));
    assert.match(result.stdout, new RegExp(literal(paths.bottom).source + '.*\\[20, 7, 7\\]'));
    const own = await ownFigures(modelDir, n);
    for (const [level, shape] of [['top', [n, 4, 4]], ['bottom', [n, 7, 7]]] as const) {
      const npy = parseNpy(fs.readFileSync(paths[level]));
      assert.deepEqual([npy.descr, npy.shape], ['<i4', shape]);
      assert.deepEqual(int32Values(npy), own[level], level);
    }
    const test = await loadDataset('mnist', { split: 'test', limit: n });
    assert.deepEqual(int32Values(parseNpy(fs.readFileSync(path.join(root, 'labels.npy')))), Array.from(test.labels));

    const decoded = path.join(root, 'decoded.png');
    const reconstructed = path.join(root, 'reconstructed.png');
    assertOk(await vqvae('decode', '--model', modelDir, '--codes', paths.bottom, '--top-codes', paths.top, '--out', decoded, '--columns', '8'));
    assertOk(await vqvae('reconstruct', '--model', modelDir, '--data', 'mnist', '--limit', String(n), '--out', reconstructed, '--columns', '8'));
    assertDecodedEqualsReconstructed(decoded, reconstructed, n, 8);
  });

  it('--codebook-init kmeans spreads each level\'s codebook over its vectors before step 1: many codes in use where the fresh codebook has few', async () => {
    const test = await loadDataset('mnist', { split: 'test', limit: 64 });
    const batchAt = (i: number) => gatherImages(test, Array.from({ length: 32 }, (_, j) => (32 * i + j) % 64));
    const config = loadHierarchicalModel(modelDir);
    const codesUsed = (model: HierarchicalVqVae) => {
      const x = batchAt(0);
      const codes = model.encodeIndices(x);
      const used = { top: new Set(codes.top.dataSync()).size, bottom: new Set(codes.bottom.dataSync()).size };
      tf.dispose([x, codes.top, codes.bottom]);
      return used;
    };
    // Each level has its own settings (model/hierarchical.ts TopLevelConfig): k-means on both.
    const kmeans = { codebookInit: 'kmeans', restartDead: 0 } as const;
    const model = new HierarchicalVqVae({ model: { ...config.model.model, ...kmeans }, top: { ...config.model.top, ...kmeans } }, 5);
    const fresh = codesUsed(model);
    const vectors = initializeLevelCodebooks(model, batchAt);
    const spread = codesUsed(model);
    // At least INIT_VECTORS_PER_CODE (2) vectors per code: one batch of 32 images, 512 top and 1568 bottom vectors.
    assert.deepEqual(vectors, { top: 32 * 16, bottom: 32 * 49 });
    assert.ok(spread.top >= 8 && spread.top > fresh.top, `top codes used ${fresh.top} → ${spread.top}`);
    assert.ok(spread.bottom >= 16 && spread.bottom > fresh.bottom, `bottom codes used ${fresh.bottom} → ${spread.bottom}`);
    model.dispose();
    config.vqvae.dispose();
  });

  it('decode refuses codes that do not match the model\'s levels, in one line naming the file, writing nothing', async () => {
    const out = path.join(root, 'bad.png');
    const paths = levelCodePaths(path.join(root, 'codes.npy'));
    const decode = (...args: string[]) => vqvae('decode', '--model', modelDir, '--out', out, ...args);
    // The top file given as the bottom one (and the reverse): the hint says so.
    assertFails(await decode('--codes', paths.top, '--top-codes', paths.top), 1, literal(paths.top), /\[N, 7, 7\] for the bottom level/, /found \[20, 4, 4\]/, /give that file as --top-codes/);
    assertFails(await decode('--codes', paths.bottom, '--top-codes', paths.bottom), 1, literal(paths.bottom), /\[N, 4, 4\] for the top level/, /give that file as --codes/);
    // A grid of neither level's size.
    const wrong = path.join(root, 'wrong.npy');
    fs.writeFileSync(wrong, int32Npy([2, 5, 5], new Array(50).fill(0)));
    assertFails(await decode('--codes', wrong, '--top-codes', paths.top), 1, literal(wrong), /found \[2, 5, 5\]/);
    // A top code out of the top codebook's range (16 codes), though in the bottom one's (32).
    const outside = path.join(root, 'outside.npy');
    fs.writeFileSync(outside, int32Npy([20, 4, 4], new Array(320).fill(20)));
    assertFails(await decode('--codes', paths.bottom, '--top-codes', outside), 1, literal(outside), /index 20/, /16 codes/);
    // Files of different encodes: their counts differ.
    const fewer = path.join(root, 'fewer.npy');
    fs.writeFileSync(fewer, int32Npy([3, 4, 4], new Array(48).fill(0)));
    assertFails(await decode('--codes', paths.bottom, '--top-codes', fewer), 1, /3 top grids/, /20 bottom grids/);
    assertFails(await decode('--codes', paths.bottom), 2, /two levels/, /--top-codes/);
    assert.ok(!fs.existsSync(out));
  });

  it('a one-level model refuses --top-codes; commands that take no two-level model yet refuse it in one line', async () => {
    const one = path.join(root, 'one');
    await trainTiny(one);
    const out = path.join(root, 'refused');
    assertOk(await vqvae('encode', '--model', one, '--data', 'mnist', '--limit', '4', '--out', path.join(root, 'one-codes.npy')));
    assertFails(await vqvae('decode', '--model', one, '--codes', path.join(root, 'one-codes.npy'), '--top-codes', path.join(root, 'codes.top.npy'), '--out', `${out}.png`), 2, /--top-codes is for two-level models/, literal(one));
    assertFails(await vqvae('encode', '--model', modelDir, '--data', 'mnist', '--limit', '4', '--shard', '0/2', '--out', `${out}.npy`), 2, /--shard is not supported for two-level models/);
    // A model directory given as the top prior (the priors of two levels are test/e2e/levelPriors.test.ts's).
    assertFails(await vqvae('eval', '--model', modelDir, '--data', 'mnist', '--limit', '4', '--prior', one), 1, literal(one), /not a vqvae prior/);
    // The web export takes two-level models (test/export/web.test.ts), but not a prior with one: the page samples one-level grids.
    assertFails(await vqvae('export', '--model', modelDir, '--prior', one, '--out', out), 1, literal(`--prior ${one}: the page samples priors of one-level models`), /the model is a two-level model/);
    // import takes a two-level model's config.json (test/parity/importLevels.test.ts), and names a state dict that is not there.
    assertFails(await vqvae('import', '--from-pytorch', path.join(root, 'none.safetensors'), '--config', path.join(modelDir, 'config.json'), '--out', out), 1, /none\.safetensors: file not found/);
    assert.ok(!fs.existsSync(out) && !fs.existsSync(`${out}.png`) && !fs.existsSync(`${out}.npy`));
    assert.ok(!fs.existsSync(levelCodePaths(`${out}.npy`).top));
  });

  it('--restart-dead and --codebook-init kmeans apply to both levels, and --resume continues exactly', async () => {
    const flags = [...TINY, ...TWO, '--quantizer', 'vq', '--restart-dead', '0.97', '--codebook-init', 'kmeans', '--eval-every', '2'];
    const straight = path.join(root, 'straight');
    const resumed = path.join(root, 'resumed');
    const first = await vqvae('train', '--data', 'mnist', '--out', straight, ...flags, '--steps', '4');
    assertOk(first);
    assertOk(await vqvae('train', '--data', 'mnist', '--out', resumed, ...flags, '--steps', '2'));
    // Without the flags: the saved settings continue; a different one is refused.
    assertFails(await vqvae('train', '--data', 'mnist', '--out', resumed, ...TINY, '--steps', '4', '--resume', '--restart-dead', '0.5'), 1, /--restart-dead 0.5 does not match/);
    assertOk(await vqvae('train', '--data', 'mnist', '--out', resumed, ...TINY, '--eval-every', '2', '--steps', '4', '--resume'));
    const { model } = readConfig(resumed);
    assert.deepEqual([model.quantizer, model.restartDead, model.codebookInit], ['vq', 0.97, 'kmeans']);
    const [a, b] = [loadHierarchicalModel(straight), loadHierarchicalModel(resumed)];
    const sa = a.vqvae.state();
    const sb = b.vqvae.state();
    assert.deepEqual(Object.keys(sb).sort(), Object.keys(sa).sort());
    for (const name of Object.keys(sa)) assert.deepEqual(sb[name]!.dataSync(), sa[name]!.dataSync(), name);
    // The restarts ran on both levels (the evaluation at step 2 says how many).
    const match = /restarted top (\d+), bottom (\d+) dead codes/.exec(first.stdout);
    assert.ok(match && Number(match[1]) > 0 && Number(match[2]) > 0, `restarts on both levels: ${first.stdout}`);
    a.vqvae.dispose();
    b.vqvae.dispose();
  });

  it('a two-level directory written before the per-level quantizer settings (no codebookInit, restartDead, ... in config.json) still loads and encodes', async () => {
    const old = path.join(root, 'old');
    assertOk(await vqvae('train', '--data', 'mnist', '--out', old, ...TINY, ...TWO, '--steps', '2', '--ema'));
    const configFile = path.join(old, 'config.json');
    const config = JSON.parse(fs.readFileSync(configFile, 'utf8'));
    const before = await ownFigures(old, 8);
    for (const key of ['codebookInit', 'restartDead', 'lookupDim', 'cosine', 'gradient']) delete config.model[key];
    fs.writeFileSync(configFile, JSON.stringify(config, null, 2));
    const loaded = loadHierarchicalModel(old);
    assert.deepEqual([loaded.model.model.restartDead, loaded.model.model.codebookInit], [0, 'uniform']);
    loaded.vqvae.dispose();
    assert.deepEqual(await ownFigures(old, 8), before);
    assertOk(await vqvae('train', '--data', 'mnist', '--out', old, ...TINY, '--steps', '3', '--resume'));
  });

  it('refuses a two-level config with a setting its levels do not have', () => {
    const configFile = path.join(modelDir, 'config.json');
    const text = fs.readFileSync(configFile, 'utf8');
    const config = JSON.parse(text);
    config.model.topQuantizer = { quantizer: 'simvq', cosine: true };
    const bad = path.join(root, 'cosine');
    fs.mkdirSync(bad);
    fs.copyFileSync(path.join(modelDir, 'weights.safetensors'), path.join(bad, 'weights.safetensors'));
    fs.writeFileSync(path.join(bad, 'config.json'), JSON.stringify(config));
    assert.throws(() => loadHierarchicalModel(bad), /\(top level\): "cosine" does not apply to the simvq quantizer/);
  });
});
