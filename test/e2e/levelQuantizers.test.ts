/**
 * `vqvae train --levels 2` with a quantizer kind per level (--top-quantizer,
 * --top-fsq-levels, --top-lookup-dim; --fsq-levels, src/cli/quantizerFlags.ts
 * levelQuantizerSettings), end to end on the tiny model: config.json records
 * the top level's settings; an exact --resume; eval's codebook size per level;
 * encode → decode equal to reconstruct; export --onnx giving both levels'
 * indices of the loaded model in onnxruntime; an rvq level (--top-depth,
 * codes [N, h, w, depth], its prior refused); the bad flag combinations one
 * error line each, writing nothing.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../src/backend/select.js';
import { loadDataset } from '../../src/data/load.js';
import { LEVEL_INDICES } from '../../src/export/onnx/hierarchicalGraphs.js';
import { levelCodePaths } from '../../src/model/hierarchicalCodes.js';
import { loadHierarchicalModel } from '../../src/model/hierarchicalFile.js';
import { outputToPixels } from '../../src/model/vqvae.js';
import { gatherImages } from '../../src/train/batches.js';
import { ort, runOnnx } from '../export/onnxHelpers.js';
import { assertDecodedEqualsReconstructed, assertFails, assertOk, int32Values, lastJson, parseNpy, readConfig, tempDir, TINY, vqvae } from './helpers.js';

const root = tempDir('vqvae-level-quantizers-');
/** fsq top (levels 4,4: K 16) over an ema bottom with dead-code restarts. */
const FSQ_TOP = ['--levels', '2', '--quantizer', 'ema', '--restart-dead', '0.5', '--top-quantizer', 'fsq', '--top-fsq-levels', '4,4', '--top-code-dim', '4'];
/** simvq top over a vq bottom searching in 4 of its 8 dimensions, cosine. */
const SIMVQ_TOP = ['--levels', '2', '--quantizer', 'vq', '--lookup-dim', '4', '--cosine', '--top-quantizer', 'simvq', '--top-codebook-size', '16', '--top-code-dim', '4'];
/** rvq top (depth 3, K 16) over an ema bottom. */
const RVQ_TOP = ['--levels', '2', '--quantizer', 'ema', '--top-quantizer', 'rvq', '--top-depth', '3', '--top-codebook-size', '16', '--top-code-dim', '4'];
/** rvq bottom (depth 2) under a vq top. */
const RVQ_BOTTOM = ['--levels', '2', '--quantizer', 'rvq', '--depth', '2', '--top-quantizer', 'vq', '--top-codebook-size', '16'];

/**
 * Trains `flags` 2 steps into `resumed`, where a --resume giving the top
 * flag `wrong` another value is refused in one line, then resumes it to 4
 * steps without the flags: every variable equals those of `full`, the same
 * flags' 4 steps at once (with evaluations every 2 steps).
 */
async function assertResumesExactly(full: string, resumed: string, flags: readonly string[], [flag, value]: [string, string]): Promise<void> {
  assertOk(await vqvae('train', '--data', 'mnist', '--out', resumed, ...TINY, ...flags, '--steps', '2', '--eval-every', '2'));
  assertFails(await vqvae('train', '--data', 'mnist', '--out', resumed, ...TINY, '--steps', '4', '--resume', flag, value), 1,
    new RegExp(`${flag} ${value} does not match the top level of the model`));
  assertOk(await vqvae('train', '--data', 'mnist', '--out', resumed, ...TINY, '--steps', '4', '--resume', '--eval-every', '2'));
  const [a, b] = [loadHierarchicalModel(full), loadHierarchicalModel(resumed)];
  const [sa, sb] = [a.vqvae.state(), b.vqvae.state()];
  assert.deepEqual(Object.keys(sb).sort(), Object.keys(sa).sort());
  for (const name of Object.keys(sa)) assert.deepEqual(sb[name]!.dataSync(), sa[name]!.dataSync(), name);
  a.vqvae.dispose();
  b.vqvae.dispose();
}

describe('vqvae train --levels 2 with a quantizer kind per level', () => {
  const fsqDir = path.join(root, 'fsq-top');
  const simvqDir = path.join(root, 'simvq-top');
  const rvqTopDir = path.join(root, 'rvq-top');
  const rvqBottomDir = path.join(root, 'rvq-bottom');
  before(async () => {
    await selectBackend('auto');
    assertOk(await vqvae('train', '--data', 'mnist', '--out', fsqDir, ...TINY, ...FSQ_TOP, '--steps', '4', '--eval-every', '2'));
    assertOk(await vqvae('train', '--data', 'mnist', '--out', simvqDir, ...TINY, ...SIMVQ_TOP, '--steps', '2'));
    assertOk(await vqvae('train', '--data', 'mnist', '--out', rvqTopDir, ...TINY, ...RVQ_TOP, '--steps', '4', '--eval-every', '2'));
    assertOk(await vqvae('train', '--data', 'mnist', '--out', rvqBottomDir, ...TINY, ...RVQ_BOTTOM, '--steps', '2'));
  });

  it('an rvq level: config.json records its depth; eval counts its codes over every depth; --resume continues exactly', async () => {
    const top = readConfig(rvqTopDir).model.topQuantizer as Record<string, unknown>;
    assert.deepEqual([top.quantizer, top.depth], ['rvq', 3]);
    const bottom = readConfig(rvqBottomDir).model;
    assert.deepEqual([bottom.quantizer, bottom.depth, (bottom.topQuantizer as Record<string, unknown>).depth], ['rvq', 2, 1]);

    const result = await vqvae('eval', '--model', rvqTopDir, '--data', 'mnist', '--limit', '24', '--json');
    assertOk(result);
    const json = lastJson(result) as { levels: Record<string, Record<string, number>> };
    const loaded = loadHierarchicalModel(rvqTopDir);
    const test = await loadDataset('mnist', { split: 'test', limit: 24 });
    const x = gatherImages(test, Array.from({ length: 24 }, (_, i) => i));
    const codes = loaded.vqvae.encodeIndices(x);
    assert.deepEqual(codes.top.shape, [24, 4, 4, 3]);
    // Perplexity over every depth's codes together, as one level's rvq eval: exp(entropy) of their counts.
    const counts = new Map<number, number>();
    for (const k of codes.top.dataSync()) counts.set(k, (counts.get(k) ?? 0) + 1);
    const total = 24 * 16 * 3;
    const entropy = -[...counts.values()].reduce((h, c) => h + (c / total) * Math.log(c / total), 0);
    assert.equal(json.levels.top!.codes_used, counts.size);
    assert.ok(Math.abs(json.levels.top!.perplexity! - Math.exp(entropy)) < 1e-6 * Math.exp(entropy), `perplexity ${json.levels.top!.perplexity} vs ${Math.exp(entropy)}`);
    assert.equal(json.levels.bottom!.codes_used, new Set(codes.bottom.dataSync()).size);
    tf.dispose([x, codes.top, codes.bottom]);
    loaded.vqvae.dispose();

    await assertResumesExactly(rvqTopDir, path.join(root, 'rvq-resumed'), RVQ_TOP, ['--top-depth', '2']);
  });

  it('a prior over an rvq level\'s codes is refused in one line, as for one level, writing nothing', async () => {
    const codesOut = path.join(root, 'rvq-prior-codes.npy');
    assertOk(await vqvae('encode', '--model', rvqTopDir, '--data', 'mnist', '--split', 'test', '--limit', '8', '--out', codesOut));
    const paths = levelCodePaths(codesOut);
    assert.deepEqual(parseNpy(fs.readFileSync(paths.top)).shape, [8, 4, 4, 3]);
    const out = path.join(root, 'rvq-prior');
    assertFails(await vqvae('prior', 'train', '--model', rvqTopDir, '--level', 'top', '--codes', paths.top, '--out', out, '--steps', '1'), 1,
      new RegExp(`the top prior of the model in ${rvqTopDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: its top level is residual \\(rvq, depth 3\\): a prior over RVQ codes`));
    assertFails(await vqvae('prior', 'train', '--model', rvqTopDir, '--level', 'bottom', '--codes', paths.bottom, '--top-codes', paths.top, '--out', out, '--steps', '1'), 1,
      /its top level is residual \(rvq, depth 3\)/);
    assert.ok(!fs.existsSync(out));
  });

  it('config.json records each level\'s quantizer; the flags shared by both apply where the kind has them', () => {
    const fsq = readConfig(fsqDir).model;
    assert.deepEqual([fsq.quantizer, fsq.restartDead, fsq.topCodebookSize, fsq.topCodeDim], ['ema', 0.5, 16, 4]);
    const top = fsq.topQuantizer as Record<string, unknown>;
    assert.deepEqual([top.quantizer, top.levels, top.restartDead], ['fsq', [4, 4], 0]);
    const simvq = readConfig(simvqDir).model;
    assert.deepEqual([simvq.quantizer, simvq.lookupDim, simvq.cosine], ['vq', 4, true]);
    const simTop = simvq.topQuantizer as Record<string, unknown>;
    assert.deepEqual([simTop.quantizer, simTop.lookupDim, simTop.cosine], ['simvq', 0, false]);
    const loaded = loadHierarchicalModel(fsqDir);
    assert.deepEqual([loaded.vqvae.levelConfigs.top.quantizer, loaded.vqvae.levelConfigs.bottom.quantizer], ['fsq', 'ema']);
    loaded.vqvae.dispose();
  });

  it('--resume continues exactly, without the flags; a top flag that differs is refused', async () => {
    await assertResumesExactly(fsqDir, path.join(root, 'resumed'), FSQ_TOP, ['--top-fsq-levels', '8,2']);
  });

  it('eval counts each level against its own K (fsq: the product of its levels)', async () => {
    const result = await vqvae('eval', '--model', fsqDir, '--data', 'mnist', '--limit', '24', '--json');
    assertOk(result);
    const json = lastJson(result) as { levels: Record<string, Record<string, number>> };
    assert.deepEqual([json.levels.top!.codebook_size, json.levels.bottom!.codebook_size], [4 * 4, 32]);
    const loaded = loadHierarchicalModel(fsqDir);
    const test = await loadDataset('mnist', { split: 'test', limit: 24 });
    const x = gatherImages(test, Array.from({ length: 24 }, (_, i) => i));
    const codes = loaded.vqvae.encodeIndices(x);
    assert.equal(json.levels.top!.codes_used, new Set(codes.top.dataSync()).size);
    assert.equal(json.levels.bottom!.codes_used, new Set(codes.bottom.dataSync()).size);
    tf.dispose([x, codes.top, codes.bottom]);
    loaded.vqvae.dispose();
  });

  for (const [name, dir] of [
    ['fsq top, ema bottom', fsqDir], ['simvq top, cosine vq bottom in 4 dimensions', simvqDir], ['rvq top (depth 3), ema bottom', rvqTopDir], ['rvq bottom (depth 2), vq top', rvqBottomDir],
  ] as const) {
    it(`${name}: encode → decode equals reconstruct; export --onnx gives the loaded model's indices of both levels`, async () => {
      const n = 12;
      const codesOut = path.join(root, `${path.basename(dir)}-codes.npy`);
      assertOk(await vqvae('encode', '--model', dir, '--data', 'mnist', '--split', 'test', '--limit', String(n), '--out', codesOut));
      const paths = levelCodePaths(codesOut);
      const decoded = path.join(root, `${path.basename(dir)}-decoded.png`);
      const reconstructed = path.join(root, `${path.basename(dir)}-reconstructed.png`);
      assertOk(await vqvae('decode', '--model', dir, '--codes', paths.bottom, '--top-codes', paths.top, '--out', decoded, '--columns', '6'));
      assertOk(await vqvae('reconstruct', '--model', dir, '--data', 'mnist', '--limit', String(n), '--out', reconstructed, '--columns', '6'));
      assertDecodedEqualsReconstructed(decoded, reconstructed, n, 6);

      const onnxDir = path.join(root, `${path.basename(dir)}-onnx`);
      assertOk(await vqvae('export', '--model', dir, '--onnx', '--out', onnxDir));
      const loaded = loadHierarchicalModel(dir);
      const test = await loadDataset('mnist', { split: 'test', limit: n });
      const x = gatherImages(test, Array.from({ length: n }, (_, i) => i));
      const pixels = Uint8Array.from(test.images.subarray(0, n * 784));
      const outputs = await runOnnx(path.join(onnxDir, 'encoder.onnx'), { pixels: new ort.Tensor('uint8', pixels, [n, 28, 28, 1]) });
      const ours = loaded.vqvae.encodeIndices(x);
      for (const level of ['top', 'bottom'] as const) {
        const expected = Array.from(ours[level].dataSync());
        assert.deepEqual(Array.from(outputs[LEVEL_INDICES[level]]!.data as Int32Array), expected, `${level} indices`);
        // And encode wrote the same codes.
        assert.deepEqual(int32Values(parseNpy(fs.readFileSync(paths[level]))), expected, `${level} codes file`);
      }
      const decodedOnnx = await runOnnx(path.join(onnxDir, 'decoder.onnx'), {
        [LEVEL_INDICES.top]: new ort.Tensor('int32', ours.top.dataSync() as Int32Array, ours.top.shape),
        [LEVEL_INDICES.bottom]: new ort.Tensor('int32', ours.bottom.dataSync() as Int32Array, ours.bottom.shape),
      });
      const images = loaded.vqvae.decodeIndices(ours);
      const mine = outputToPixels(images);
      const theirs = decodedOnnx.pixels!.data as Uint8Array;
      mine.forEach((v, i) => assert.ok(Math.abs(v - theirs[i]!) <= 1, `pixel ${i}: ${v} vs ${theirs[i]}`));
      tf.dispose([x, ours.top, ours.bottom, images]);
      loaded.vqvae.dispose();
    });
  }

  it('refuses flag combinations a level cannot take, in one line naming the flag, writing nothing', async () => {
    const out = path.join(root, 'bad');
    const train = (...flags: string[]) => vqvae('train', '--data', 'mnist', '--out', out, ...TINY, '--steps', '1', ...flags);
    assertFails(await train('--top-quantizer', 'fsq', '--top-fsq-levels', '4,4'), 2, /--top-quantizer needs --levels 2/);
    assertFails(await train('--levels', '2', '--top-quantizer', 'fsq'), 2, /a top level of kind fsq needs --top-fsq-levels \(or --fsq-levels\)/);
    assertFails(await train('--levels', '2', '--top-fsq-levels', '4,4'), 2, /--top-fsq-levels does not apply to a top level of kind ema/);
    assertFails(await train('--levels', '2', '--top-depth', '2'), 2, /--top-depth does not apply to a top level of kind ema \(it applies to rvq\)/);
    assertFails(await train('--levels', '2', '--quantizer', 'rvq', '--top-quantizer', 'vq', '--top-depth', '2'), 2, /--top-depth does not apply to a top level of kind vq/);
    assertFails(await train('--top-quantizer', 'rvq', '--top-depth', '2'), 2, /--top-quantizer needs --levels 2/);
    assertFails(await train('--quantizer', 'rvq', '--top-depth', '2'), 2, /--top-depth needs --levels 2/);
    assertFails(await train('--levels', '2', '--top-quantizer', 'rvq', '--top-depth', '0'), 2, /--top-depth/);
    assertFails(await train('--levels', '2', '--quantizer', 'fsq', '--fsq-levels', '4,8', '--top-quantizer', 'simvq', '--cosine'), 2,
      /--cosine does not apply to either level \(bottom fsq, top simvq; it applies to vq, ema\)/);
    assertFails(await train('--levels', '2', '--top-quantizer', 'fsq', '--top-fsq-levels', '4,4', '--top-codebook-size', '8'), 2,
      /--top-codebook-size 8 is not the product of the top level's FSQ levels 4,4/);
    assertFails(await train('--levels', '2', '--lookup-dim', '6', '--top-code-dim', '4'), 2, /--lookup-dim 6 is larger than the top level's code dimension 4 \(--top-code-dim\): give --top-lookup-dim/);
    assertFails(await train('--levels', '2', '--top-quantizer', 'simvq', '--top-lookup-dim', '2'), 2, /--top-lookup-dim does not apply to a top level of kind simvq/);
    assertFails(await train('--levels', '8,5', '--fsq-levels', '4,4', '--quantizer', 'fsq'), 2, /--levels 8,5 with --fsq-levels/);
    assertFails(await train('--quantizer', 'fsq'), 2, /--quantizer fsq needs --fsq-levels/);
    assert.ok(!fs.existsSync(out));
  });

  it('--fsq-levels is --levels L1,L2,... of a one-level model, and with --levels 2 the fsq levels of each level', async () => {
    const one = path.join(root, 'one-fsq');
    assertOk(await vqvae('train', '--data', 'mnist', '--out', one, ...TINY, '--steps', '1', '--quantizer', 'fsq', '--fsq-levels', '4,4', '--eval-every', '0'));
    assert.deepEqual([readConfig(one).model.levels, readConfig(one).model.codebookSize], [[4, 4], 16]);
    const both = path.join(root, 'both-fsq');
    assertOk(await vqvae('train', '--data', 'mnist', '--out', both, ...TINY, '--steps', '1', '--levels', '2', '--quantizer', 'fsq', '--fsq-levels', '4,2', '--eval-every', '0'));
    const model = readConfig(both).model;
    // The same quantizer on both levels: no topQuantizer written; the bottom's FSQ levels in fsqLevels.
    assert.deepEqual([model.levels, model.fsqLevels, model.codebookSize, model.topCodebookSize, model.topQuantizer], [2, [4, 2], 8, 8, undefined]);
    const loaded = loadHierarchicalModel(both);
    assert.deepEqual(loaded.vqvae.levelConfigs.top.levels, [4, 2]);
    loaded.vqvae.dispose();
  });
});
