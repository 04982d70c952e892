/**
 * The prior learns a code distribution with known structure, and its samples
 * follow it. Each grid has K = 4 codes, 3 rows of 4; the first row is uniform
 * and independent (2 bits a code), and each later row is the row above
 * shifted in value: row r = (row 0 + r) mod K for class 0, (row 0 - r) mod K
 * for class 1. So the true entropy is 4 * 2 bits per 12 codes = 2/3 bit per
 * code given the class, and a sample is right when its rows obey its class's
 * rule. Also: sampling is repeatable for a seed, and the class changes the
 * samples.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { selectBackend } from '../../src/backend/select.js';
import type { CodeSet } from '../../src/prior/codeSet.js';
import { makePriorConfig } from '../../src/prior/config.js';
import { priorNll } from '../../src/prior/nll.js';
import { PixelCnn } from '../../src/prior/pixelcnn.js';
import { samplePrior } from '../../src/prior/sample.js';
import { trainPrior } from '../../src/prior/train.js';
import { Adam } from '../../src/train/adam.js';
import { mulberry32 } from '../../src/random.js';

const K = 4;
const H = 3;
const W = 4;
const TRUE_BITS_PER_CODE = (W * Math.log2(K)) / (H * W);

function rowRule(first: ArrayLike<number>, row: number, label: number): number[] {
  return Array.from(first, (v) => (((v + (label === 0 ? row : -row)) % K) + K) % K);
}

function makeSet(count: number, seed: number): CodeSet {
  const rng = mulberry32(seed);
  const codes = new Int32Array(count * H * W);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    labels[i] = Math.floor(rng() * 2);
    const first = Array.from({ length: W }, () => Math.floor(rng() * K));
    for (let r = 0; r < H; r++) codes.set(rowRule(first, r, labels[i]!), (i * H + r) * W);
  }
  return { source: 'synthetic', count, height: H, width: W, codes, labels };
}

/** How many grids obey their class's rule. */
function obeying(codes: Int32Array, labels: ArrayLike<number>): number {
  let good = 0;
  for (let i = 0; i < labels.length; i++) {
    const grid = codes.subarray(i * H * W, (i + 1) * H * W);
    const first = grid.subarray(0, W);
    let ok = true;
    for (let r = 1; r < H; r++) ok &&= rowRule(first, r, labels[i]!).every((v, x) => v === grid[r * W + x]);
    if (ok) good += 1;
  }
  return good;
}

describe('the prior on a synthetic distribution', () => {
  let prior: PixelCnn;
  const test = makeSet(1024, 2);

  before(async () => {
    await selectBackend('auto');
    prior = new PixelCnn(makePriorConfig({ codebookSize: K, height: H, width: W, channels: 16, layers: 2, numClasses: 2 }), 0);
    const result = await trainPrior({
      prior,
      optimizer: new Adam({ learningRate: 1e-2 }),
      data: makeSet(4096, 1),
      batch: 64,
      totalSteps: 150,
      seed: 0,
      checkpointEverySeconds: 0,
    });
    assert.equal(result.stopReason, 'done');
  });

  it('reaches a test NLL close to the true entropy, from log2 K at the start', () => {
    const untrained = new PixelCnn(prior.config, 0);
    const before = priorNll(untrained, test).bitsPerCode;
    untrained.dispose();
    const after = priorNll(prior, test).bitsPerCode;
    // An untrained prior is near uniform: about log2 K = 2 bits a code.
    assert.ok(Math.abs(before - Math.log2(K)) < 0.3, `untrained: ${before} bits per code`);
    // Cross-entropy on fresh data cannot go below the entropy (up to the
    // sampling noise of 1024 test grids, well under 0.05 bit); within 0.05 of it means the structure is learned.
    assert.ok(after > TRUE_BITS_PER_CODE - 0.05, `NLL ${after} below the entropy ${TRUE_BITS_PER_CODE}`);
    console.log(`# synthetic: ${before.toFixed(3)} → ${after.toFixed(3)} bits per code, entropy ${TRUE_BITS_PER_CODE.toFixed(3)}`);
    assert.ok(after < TRUE_BITS_PER_CODE + 0.05, `NLL ${after} bits per code, entropy ${TRUE_BITS_PER_CODE}`);
  });

  it('samples reproduce the structure of their class, with a uniform first row', async () => {
    const n = 200;
    const labels = Int32Array.from({ length: n }, (_, i) => i % 2);
    const codes = await samplePrior(prior, { n, labels, seed: 1 });
    assert.ok(obeying(codes, labels) >= 0.95 * n, `${obeying(codes, labels)} of ${n} samples obey their rule`);
    const counts = new Array<number>(K).fill(0);
    for (let i = 0; i < n; i++) for (let x = 0; x < W; x++) counts[codes[i * H * W + x]!]! += 1;
    // 800 draws of a uniform over 4 values: 200 each, standard deviation 12.
    for (const c of counts) assert.ok(c > 140 && c < 260, `first-row counts ${counts}`);
  });

  it('the class changes the samples: each class follows its own rule', async () => {
    const n = 64;
    const asClass0 = await samplePrior(prior, { n, classLabel: 0, seed: 7 });
    const asClass1 = await samplePrior(prior, { n, classLabel: 1, seed: 7 });
    assert.notDeepEqual(asClass0, asClass1);
    assert.ok(obeying(asClass0, new Int32Array(n).fill(0)) >= 0.9 * n);
    assert.ok(obeying(asClass1, new Int32Array(n).fill(1)) >= 0.9 * n);
    // The rules differ on every later row, so almost no sample obeys the other class's rule.
    assert.ok(obeying(asClass0, new Int32Array(n).fill(1)) <= 0.1 * n);
  });

  it('a seed repeats the samples exactly; another seed gives others', async () => {
    const a = await samplePrior(prior, { n: 16, classLabel: 1, seed: 3 });
    const b = await samplePrior(prior, { n: 16, classLabel: 1, seed: 3 });
    const c = await samplePrior(prior, { n: 16, classLabel: 1, seed: 4 });
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
  });

  it('calls onPosition once per position, in raster order, with the codes filled so far', async () => {
    const positions: number[] = [];
    const final = await samplePrior(prior, {
      n: 2,
      classLabel: 0,
      seed: 5,
      onPosition(codes, position) {
        positions.push(position);
        // Nothing after the position has been drawn yet: still 0 for the grid drawn last.
        for (let q = position + 1; q < H * W; q++) assert.equal(codes[H * W + q], 0);
      },
    });
    assert.deepEqual(positions, Array.from({ length: H * W }, (_, p) => p));
    assert.equal(final.length, 2 * H * W);
  });
});
