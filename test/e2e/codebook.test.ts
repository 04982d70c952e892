/**
 * End to end: the quantizer flags of `vqvae train` (bad input: one error line
 * naming the flag, nothing written; the recipe saved in config.json and kept
 * on --resume) and the codebook-use figures of `vqvae eval`, checked against
 * the codes `vqvae encode` writes.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { selectBackend } from '../../src/backend/select.js';
import { DEFAULT_MODEL_CONFIG } from '../../src/model/config.js';
import { TRAIN_QUANTIZER_DEFAULTS } from '../../src/quantize/recipe.js';
import { assertFails, assertOk, int32Values, lastJson, literal, parseNpy, readConfig, tempDir, TINY, TINY_K, vqvae } from './helpers.js';

const root = tempDir();

before(async () => {
  await selectBackend('auto');
});

describe('vqvae train quantizer flags', () => {
  const bad: [string, string[], RegExp][] = [
    ['an unknown quantizer, listing the valid ones', ['--quantizer', 'lfq'], /--quantizer must be one of vq, ema\b.*"lfq"/],
    ['--ema with another quantizer', ['--ema', '--quantizer', 'vq'], /--ema.*--quantizer vq/],
    ['--lookup-dim larger than D', ['--lookup-dim', '9'], /--lookup-dim 9 .*D = 8/],
    ['--restart-dead 0', ['--restart-dead', '0'], /--restart-dead/],
    ['--restart-dead 1', ['--restart-dead', '1'], /--restart-dead/],
    ['--levels without fsq', ['--levels', '8,5'], new RegExp(`--levels does not apply to --quantizer ${TRAIN_QUANTIZER_DEFAULTS.quantizer}`)],
    ['--depth without rvq', ['--quantizer', 'ema', '--depth', '2'], /--depth does not apply to --quantizer ema/],
    ['levels that are not integers >= 2', ['--levels', '8,1.5'], /--levels must be integers >= 2/],
    ['an unknown gradient', ['--gradient', 'gumbel'], /--gradient must be one of ste, rotation/],
    ['--kmeans-warmup without k-means init', ['--quantizer', 'ema', '--kmeans-warmup', '5'], /--kmeans-warmup needs --codebook-init kmeans/],
    ['a negative --kmeans-warmup', ['--codebook-init', 'kmeans', '--kmeans-warmup', '-1'], /--kmeans-warmup/],
  ];
  for (const [what, flags, pattern] of bad) {
    it(`refuses ${what} with one line, writing nothing`, async () => {
      const out = path.join(root, `bad-${flags.join('')}`.replace(/[^a-z0-9]/gi, '_'));
      assertFails(await vqvae('train', '--data', 'mnist', '--out', out, ...TINY, '--steps', '2', ...flags), 2, pattern);
      assert.equal(fs.existsSync(out), false);
    });
  }

  it('saves the recipe in config.json, defaults an option the command line leaves out, and keeps it on --resume', async () => {
    const out = path.join(root, 'recipe');
    const flags = ['--quantizer', 'ema', '--restart-dead', '0.9', '--lookup-dim', '4', '--cosine', '--codebook-init', 'kmeans', '--kmeans-warmup', '4'];
    const first = await vqvae('train', '--data', 'mnist', '--out', out, ...TINY, '--steps', '6', '--eval-every', '3', ...flags);
    assertOk(first);
    assert.match(first.stdout, /restarted [1-9]\d* dead codes since the last evaluation/);
    const model = readConfig(out).model;
    assert.deepEqual(
      [model.quantizer, model.restartDead, model.lookupDim, model.cosine, model.gradient, model.codebookInit, model.kmeansWarmup],
      ['ema', 0.9, 4, true, TRAIN_QUANTIZER_DEFAULTS.gradient, 'kmeans', 4],
    );
    assertOk(await vqvae('train', '--data', 'mnist', '--out', out, ...TINY, '--steps', '8', '--resume'));
    assert.deepEqual(readConfig(out).model, model);
    const other = TRAIN_QUANTIZER_DEFAULTS.gradient === 'ste' ? 'rotation' : 'ste';
    const mismatch = await vqvae('train', '--data', 'mnist', '--out', out, ...TINY, '--steps', '9', '--resume', '--gradient', other);
    assertFails(mismatch, 1, new RegExp(`--gradient ${other} does not match`), literal(out));
  });
});

describe('vqvae train default recipe', () => {
  it('without quantizer flags saves every setting of the default recipe, EMA decay included; --ema has the paper\'s decay; --decay wins', async () => {
    const run = async (name: string, ...flags: string[]) => {
      const out = path.join(root, name);
      assertOk(await vqvae('train', '--data', 'mnist', '--out', out, ...TINY, '--steps', '1', '--eval-every', '0', ...flags));
      return readConfig(out).model;
    };
    const model = await run('default');
    for (const [key, value] of Object.entries(TRAIN_QUANTIZER_DEFAULTS)) assert.equal(model[key], value, key);
    assert.equal((await run('ema', '--ema')).decay, DEFAULT_MODEL_CONFIG.decay);
    assert.equal((await run('decay', '--decay', '0.8')).decay, 0.8);
  });
});

describe('vqvae eval codebook use', () => {
  it('counts codes over the whole split, agreeing with the codes vqvae encode writes', async () => {
    const out = path.join(root, 'eval');
    assertOk(await vqvae('train', '--data', 'mnist', '--out', out, ...TINY, '--steps', '4', '--quantizer', 'vq', '--codebook-init', 'uniform', '--gradient', 'ste'));
    const usageFile = path.join(root, 'usage.npy');
    const codesFile = path.join(root, 'codes.npy');
    const result = await vqvae('eval', '--model', out, '--data', 'mnist', '--limit', '300', '--usage-out', usageFile, '--json');
    assertOk(result);
    assertOk(await vqvae('encode', '--model', out, '--data', 'mnist', '--split', 'test', '--limit', '300', '--out', codesFile));
    const counts = new Array<number>(TINY_K).fill(0);
    for (const c of int32Values(parseNpy(fs.readFileSync(codesFile)))) counts[c]! += 1;
    const histogram = parseNpy(fs.readFileSync(usageFile));
    assert.deepEqual(histogram.shape, [TINY_K]);
    assert.deepEqual(int32Values(histogram), counts);
    const total = counts.reduce((a, b) => a + b, 0);
    assert.equal(total, 300 * 7 * 7);
    const used = counts.filter((c) => c > 0).length;
    const entropy = -counts.filter((c) => c > 0).reduce((s, c) => s + (c / total) * Math.log(c / total), 0);
    const json = lastJson(result);
    assert.equal(json['codes_used'], used);
    assert.equal(json['dead_codes'], TINY_K - used);
    assert.equal(json['codes_used_fraction'], used / TINY_K);
    assert.ok(Math.abs((json['perplexity'] as number) - Math.exp(entropy)) < 1e-9);
  });

  it('refuses a --usage-out in a missing folder before any work', async () => {
    const out = path.join(root, 'eval');
    assertFails(await vqvae('eval', '--model', out, '--data', 'mnist', '--usage-out', path.join(root, 'nope', 'u.npy')), 2, /--usage-out .*does not exist/);
  });
});
