/**
 * End to end: the priors of a two-level model (`vqvae train --levels 2`):
 * `vqvae prior train --level top|bottom` on codes of the tiny MNIST model
 * (written here from the library's encodeIndices in the layout `vqvae
 * encode` writes, codes.top.npy and codes.bottom.npy), `vqvae sample
 * --bottom-prior` and `vqvae eval --prior --bottom-prior`; exact resume; and
 * the one-line errors for a prior of the other level, a prior of another
 * model, codes of the wrong shape and --level where it does not belong,
 * with nothing written. NLLs are recomputed here in float64 from the
 * prior's logits; files are read with the test helpers' own .npy reader.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';

import { selectBackend } from '../../src/backend/select.js';
import { loadDataset } from '../../src/data/load.js';
import { loadHierarchicalModel } from '../../src/model/hierarchicalFile.js';
import { loadPrior } from '../../src/prior/checkpoint.js';
import { modelIdentity } from '../../src/prior/levels.js';
import { samplePrior } from '../../src/prior/sample.js';
import { gatherImages } from '../../src/train/batches.js';
import { assertFails, assertOk, assertSamePriorWeights, bitsPerCodeOf, int32Npy, int32Values, lastJson, literal, parseNpy, readConfig, tempDir, TINY, TINY_K, trainTiny, vqvae } from './helpers.js';

const root = tempDir('vqvae-level-priors-');
const modelDir = path.join(root, 'two');
const otherModel = path.join(root, 'other');
const oneLevel = path.join(root, 'one');
const file = (name: string) => path.join(root, name);
const TINY_PRIOR = ['--channels', '8', '--layers', '1', '--batch', '16'] as const;
const TOP_K = 16;
const COUNT = 64;

/** Both levels' codes of the first `count` images of a split, through the library, as `vqvae encode` lays them out. */
async function writeCodes(dir: string, split: 'train' | 'test', count: number, stem: string): Promise<{ top: Int32Array; bottom: Int32Array; labels: Int32Array }> {
  const data = await loadDataset('mnist', { split, limit: count });
  const { vqvae: model } = loadHierarchicalModel(dir);
  const x = gatherImages(data, Array.from({ length: count }, (_, i) => i));
  const indices = model.encodeIndices(x);
  const top = indices.top.dataSync() as Int32Array;
  const bottom = indices.bottom.dataSync() as Int32Array;
  tf.dispose([x, indices.top, indices.bottom]);
  model.dispose();
  fs.writeFileSync(file(`${stem}.top.npy`), int32Npy([count, 4, 4], Array.from(top)));
  fs.writeFileSync(file(`${stem}.bottom.npy`), int32Npy([count, 7, 7], Array.from(bottom)));
  fs.writeFileSync(file(`${stem}-labels.npy`), int32Npy([count], Array.from(data.labels)));
  return { top, bottom, labels: data.labels };
}

function topTrain(out: string, ...extra: string[]) {
  return vqvae('prior', 'train', '--model', modelDir, '--level', 'top', '--codes', file('codes.top.npy'), '--labels', file('codes-labels.npy'), '--out', out, ...TINY_PRIOR, ...extra);
}

function bottomTrain(out: string, ...extra: string[]) {
  return vqvae(
    'prior', 'train', '--model', modelDir, '--level', 'bottom', '--codes', file('codes.bottom.npy'), '--top-codes', file('codes.top.npy'),
    '--labels', file('codes-labels.npy'), '--out', out, ...TINY_PRIOR, ...extra,
  );
}

let train: { top: Int32Array; bottom: Int32Array; labels: Int32Array };
let test: { top: Int32Array; bottom: Int32Array; labels: Int32Array };
const topDir = path.join(root, 'prior-top');
const bottomDir = path.join(root, 'prior-bottom');

before(async () => {
  await selectBackend('auto');
  const levels = ['--levels', '2', '--top-codebook-size', String(TOP_K), '--top-code-dim', '4', '--ema'];
  assertOk(await vqvae('train', '--data', 'mnist', '--out', modelDir, ...TINY, '--steps', '3', ...levels));
  assertOk(await vqvae('train', '--data', 'mnist', '--out', otherModel, ...TINY, '--steps', '3', '--seed', '1', ...levels));
  await trainTiny(oneLevel);
  train = await writeCodes(modelDir, 'train', COUNT, 'codes');
  test = await writeCodes(modelDir, 'test', 32, 'test');
  assertOk(await topTrain(topDir, '--steps', '3'));
  assertOk(await bottomTrain(bottomDir, '--steps', '3'));
});

describe('vqvae prior train --level', () => {
  it('records the level, the grids and the model in each prior\'s config', async () => {
    const top = readConfig(topDir) as unknown as { prior: Record<string, unknown>; training: Record<string, unknown> };
    const bottom = readConfig(bottomDir) as unknown as { prior: Record<string, unknown>; training: Record<string, unknown> };
    const { vqvae: model } = loadHierarchicalModel(modelDir);
    const id = modelIdentity(model);
    model.dispose();
    assert.deepEqual(top.prior, { codebookSize: TOP_K, height: 4, width: 4, channels: 8, layers: 1, kernelSize: 3, numClasses: 10, level: 'top', model: id });
    assert.deepEqual(bottom.prior, {
      codebookSize: TINY_K, height: 7, width: 7, channels: 8, layers: 1, kernelSize: 3, numClasses: 10,
      topCodebookSize: TOP_K, topHeight: 4, topWidth: 4, level: 'bottom', model: id,
    });
    assert.equal(bottom.training['topCodes'], file('codes.top.npy'));
    // The identity is the model's, not its directory's: a copy has the same one, another model another.
    const copy = path.join(root, 'two-copy');
    fs.cpSync(modelDir, copy, { recursive: true });
    for (const [dir, same] of [[copy, true], [otherModel, false]] as const) {
      const { vqvae: m } = loadHierarchicalModel(dir);
      assert.equal(modelIdentity(m) === id, same, dir);
      m.dispose();
    }
  });

  it('the bottom prior scores --test-codes given --test-top-codes, as an independent computation does', async () => {
    const out = path.join(root, 'bottom-scored');
    const result = await bottomTrain(out, '--steps', '2', '--test-codes', file('test.bottom.npy'), '--test-top-codes', file('test.top.npy'), '--test-labels', file('test-labels.npy'), '--json');
    assertOk(result);
    const prior = await loadPrior(out);
    const expected = bitsPerCodeOf(prior, test.bottom, test.labels, 32, test.top);
    const reported = lastJson(result)['test_bits_per_code'] as number;
    assert.ok(Math.abs(reported - expected) < 1e-4, `${reported} vs ${expected}`);
    // And the top codes matter: the same bottom codes under other top codes score otherwise.
    const shifted = Int32Array.from(test.top, (v) => (v + 1) % TOP_K);
    assert.notEqual(bitsPerCodeOf(prior, test.bottom, test.labels, 32, shifted).toFixed(6), expected.toFixed(6));
    prior.dispose();
  });

  it('resumed, a bottom prior ends with exactly the weights of an uninterrupted run', async () => {
    const whole = path.join(root, 'bottom-whole');
    const split = path.join(root, 'bottom-split');
    assertOk(await bottomTrain(whole, '--steps', '4'));
    assertOk(await bottomTrain(split, '--steps', '2'));
    // Without --model and --level: the saved prior says which level and which model.
    const resumed = await vqvae('prior', 'train', '--codes', file('codes.bottom.npy'), '--top-codes', file('codes.top.npy'), '--labels', file('codes-labels.npy'), '--out', split, '--steps', '4', '--resume');
    assertOk(resumed);
    assert.match(resumed.stdout, new RegExp(`^resuming ${literal(split).source} from step 2\\b`, 'm'));
    await assertSamePriorWeights(whole, split);
  });

  it('refuses the wrong level, the wrong codes and --level where it does not belong, in one line, writing nothing', async () => {
    const out = path.join(root, 'never');
    const codes = (level: string) => file(`codes.${level}.npy`);
    const cases: [string[], number, RegExp[]][] = [
      [['--model', modelDir, '--codes', codes('top')], 1, [/--level is needed/, literal(modelDir)]],
      [['--model', oneLevel, '--level', 'top', '--codes', codes('top')], 1, [/--level top/, /has one level/]],
      [['--level', 'top', '--codes', codes('top')], 2, [/--level needs --model/]],
      [['--model', modelDir, '--level', 'bottom', '--codes', codes('top'), '--top-codes', codes('top')], 1, [literal(codes('top')), /grids are 4x4/, /bottom level/, /7x7/]],
      [['--model', modelDir, '--level', 'top', '--codes', codes('bottom')], 1, [literal(codes('bottom')), /grids are 7x7/, /top level/, /4x4/]],
      [['--model', modelDir, '--level', 'bottom', '--codes', codes('bottom'), '--top-codes', codes('bottom')], 1, [/--top-codes/, literal(codes('bottom')), /4x4/]],
      [['--model', modelDir, '--level', 'bottom', '--codes', codes('bottom'), '--top-codes', file('test.top.npy')], 1, [/--top-codes/, /32 top grids/, /64 bottom grids/]],
      [['--model', modelDir, '--level', 'bottom', '--codes', codes('bottom')], 1, [/--top-codes is needed with --level bottom/]],
      [['--model', modelDir, '--level', 'top', '--codes', codes('top'), '--top-codes', codes('top')], 1, [/--top-codes is for --level bottom/]],
    ];
    for (const [args, code, patterns] of cases) {
      assertFails(await vqvae('prior', 'train', ...args, '--out', out, ...TINY_PRIOR, '--steps', '1'), code, ...patterns);
      assert.ok(!fs.existsSync(out), `${args.join(' ')} wrote ${out}`);
    }
    // Resuming a prior as the other level, or with another model, changes nothing.
    const before = fs.readFileSync(path.join(topDir, 'weights.safetensors'));
    assertFails(await vqvae('prior', 'train', '--model', modelDir, '--level', 'bottom', '--codes', codes('top'), '--top-codes', codes('top'), '--labels', file('codes-labels.npy'), '--out', topDir, '--steps', '5', '--resume'), 1, /top-level prior/, /--level bottom does not continue it/);
    assertFails(await vqvae('prior', 'train', '--model', otherModel, '--level', 'top', '--codes', codes('top'), '--labels', file('codes-labels.npy'), '--out', topDir, '--steps', '5', '--resume'), 1, /another model/, literal(otherModel));
    assert.ok(fs.readFileSync(path.join(topDir, 'weights.safetensors')).equals(before));
  });
});

describe('vqvae sample with two levels', () => {
  it('draws the top grids, then the bottom grids given them: the same seed repeats, --codes-out writes both levels', async () => {
    const run = async (stem: string, seed: string) => {
      const result = await vqvae('sample', '--model', modelDir, '--prior', topDir, '--bottom-prior', bottomDir, '--n', '20', '--seed', seed, '--out', file(`${stem}.png`), '--codes-out', file(`${stem}.npy`));
      assertOk(result);
      assert.match(result.stdout, new RegExp(`codes in ${literal(file(`${stem}.top.npy`)).source} and ${literal(file(`${stem}.bottom.npy`)).source}`));
      const top = parseNpy(fs.readFileSync(file(`${stem}.top.npy`)));
      const bottom = parseNpy(fs.readFileSync(file(`${stem}.bottom.npy`)));
      assert.deepEqual([top.shape, bottom.shape], [[20, 4, 4], [20, 7, 7]]);
      const values = { top: int32Values(top), bottom: int32Values(bottom), png: fs.readFileSync(file(`${stem}.png`)) };
      assert.ok(values.top.every((v) => v >= 0 && v < TOP_K) && values.bottom.every((v) => v >= 0 && v < TINY_K));
      return values;
    };
    const a = await run('s1', '3');
    const b = await run('s2', '3');
    const c = await run('s3', '4');
    assert.deepEqual([b.top, b.bottom], [a.top, a.bottom]);
    assert.ok(b.png.equals(a.png));
    assert.notDeepEqual(c.top, a.top);
  });

  it('the bottom grids follow the top grids: other top grids, other bottom grids from the same seed', async () => {
    const prior = await loadPrior(bottomDir);
    const n = 10;
    const labels = Int32Array.from({ length: n }, (_, i) => i);
    const topA = Int32Array.from(train.top.subarray(0, n * 16));
    const topB = Int32Array.from(topA, (v) => (v + 1) % TOP_K);
    const draw = (top: Int32Array) => samplePrior(prior, { n, labels, top, seed: 7 });
    const [a1, a2, b] = [await draw(topA), await draw(topA), await draw(topB)];
    assert.deepEqual(a2, a1);
    assert.notDeepEqual(b, a1);
    prior.dispose();
  });

  it('refuses a prior of the other level, of another model, or a missing --bottom-prior in one line, writing nothing', async () => {
    const otherBottom = path.join(root, 'other-bottom');
    // Codes in range for the other model too (the same sizes): it trains, and records that model.
    assertOk(await vqvae('prior', 'train', '--model', otherModel, '--level', 'bottom', '--codes', file('codes.bottom.npy'), '--top-codes', file('codes.top.npy'), '--labels', file('codes-labels.npy'), '--out', otherBottom, ...TINY_PRIOR, '--steps', '1'));
    const onePrior = path.join(root, 'one-prior');
    const out = file('never.png');
    const cases: [string[], number, RegExp[]][] = [
      [['--model', modelDir, '--prior', bottomDir, '--bottom-prior', topDir], 1, [/--prior/, literal(bottomDir), /bottom-level prior/, /not a top-level prior/]],
      [['--model', modelDir, '--prior', topDir, '--bottom-prior', otherBottom], 1, [/--bottom-prior/, literal(otherBottom), /another model/, literal(modelDir)]],
      [['--model', modelDir, '--prior', topDir], 2, [/--bottom-prior is needed/, /two levels/]],
      [['--model', oneLevel, '--prior', topDir, '--bottom-prior', bottomDir], 2, [/--bottom-prior is for a two-level model/]],
    ];
    for (const [args, code, patterns] of cases) {
      assertFails(await vqvae('sample', ...args, '--out', out, '--codes-out', file('never.npy')), code, ...patterns);
      assert.ok(!fs.existsSync(out) && !fs.existsSync(file('never.top.npy')), `${args.join(' ')} wrote a file`);
    }
    // A level prior given to a one-level model, and a one-level prior given as a level's.
    assertOk(await vqvae('encode', '--model', oneLevel, '--data', 'mnist', '--limit', '32', '--out', file('one.npy')));
    assertOk(await vqvae('prior', 'train', '--codes', file('one.npy'), '--model', oneLevel, '--out', onePrior, ...TINY_PRIOR, '--steps', '1'));
    assertFails(await vqvae('sample', '--model', oneLevel, '--prior', topDir, '--out', out), 1, literal(topDir), /top-level prior of a two-level model/, /one level/);
    assertFails(await vqvae('sample', '--model', modelDir, '--prior', onePrior, '--bottom-prior', bottomDir, '--out', out), 1, literal(onePrior), /one-level prior/);
    assert.ok(!fs.existsSync(out));
  });
});

describe('vqvae eval with two levels', () => {
  it('scores the top and the bottom prior on the split\'s codes, as an independent computation does', async () => {
    const result = await vqvae('eval', '--model', modelDir, '--data', 'mnist', '--split', 'test', '--limit', '32', '--prior', topDir, '--bottom-prior', bottomDir, '--json');
    assertOk(result);
    const summary = lastJson(result);
    const [top, bottom] = await Promise.all([loadPrior(topDir), loadPrior(bottomDir)]);
    const expected = { top: bitsPerCodeOf(top, test.top, test.labels, 32), bottom: bitsPerCodeOf(bottom, test.bottom, test.labels, 32, test.top) };
    for (const level of ['top', 'bottom'] as const) {
      const reported = summary[`${level}_prior_bits_per_code`] as number;
      assert.ok(Math.abs(reported - expected[level]) < 1e-4, `${level}: ${reported} vs ${expected[level]}`);
    }
    assert.deepEqual([summary['top_uniform_bits_per_code'], summary['bottom_uniform_bits_per_code']], [Math.log2(TOP_K), Math.log2(TINY_K)]);
    // No bound without the categorical likelihood.
    assert.equal(summary['bits_per_dim'], undefined);
    top.dispose();
    bottom.dispose();
    assertFails(await vqvae('eval', '--model', modelDir, '--data', 'mnist', '--limit', '8', '--prior', bottomDir), 1, /--prior/, /bottom-level prior/);
    // A refused prior leaves no usage files behind.
    const usage = file('refused-usage.npy');
    assertFails(await vqvae('eval', '--model', modelDir, '--data', 'mnist', '--limit', '8', '--prior', bottomDir, '--usage-out', usage), 1, /bottom-level prior/);
    for (const level of ['top', 'bottom']) assert.ok(!fs.existsSync(usage.replace(/\.npy$/, `.${level}.npy`)), `${level} usage file written`);
    assertFails(await vqvae('eval', '--model', oneLevel, '--data', 'mnist', '--limit', '8', '--bottom-prior', bottomDir), 2, /--bottom-prior is for a two-level model/);
  });
});
