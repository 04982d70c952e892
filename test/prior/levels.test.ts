/**
 * The priors of the two-level model on a distribution with known structure:
 * top grids 2x2 of Kt = 3 codes, uniform and independent; each bottom grid
 * 4x4 of K = 4 codes is fixed by its top grid: bottom (y, x) = (top (y/2, x/2)
 * + x mod 2) mod 4. So a bottom prior conditioned on the top grid can reach 0
 * bits per code, and one that ignored it could not go below the entropy of
 * the first row's codes. Sampling the top grid, then the bottom grid given it,
 * must reproduce the rule.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { selectBackend } from '../../src/backend/select.js';
import { UserError } from '../../src/errors.js';
import type { CodeSet } from '../../src/prior/codeSet.js';
import { makePriorConfig } from '../../src/prior/config.js';
import { priorNll } from '../../src/prior/nll.js';
import { PixelCnn } from '../../src/prior/pixelcnn.js';
import { sampleLevels, samplePrior } from '../../src/prior/sample.js';
import { trainPrior } from '../../src/prior/train.js';
import { mulberry32 } from '../../src/random.js';
import { Adam } from '../../src/train/adam.js';

const KT = 3;
const K = 4;

function bottomOf(top: ArrayLike<number>, offset = 0): Int32Array {
  return Int32Array.from({ length: 16 }, (_, i) => {
    const y = Math.floor(i / 4);
    const x = i % 4;
    return (top[offset + Math.floor(y / 2) * 2 + Math.floor(x / 2)]! + (x % 2)) % K;
  });
}

function makeSets(count: number, seed: number): { top: CodeSet; bottom: CodeSet } {
  const rng = mulberry32(seed);
  const top = Int32Array.from({ length: count * 4 }, () => Math.floor(rng() * KT));
  const bottom = new Int32Array(count * 16);
  for (let i = 0; i < count; i++) bottom.set(bottomOf(top, i * 4), i * 16);
  return {
    top: { source: 'synthetic top', count, height: 2, width: 2, codes: top },
    bottom: { source: 'synthetic bottom', count, height: 4, width: 4, codes: bottom, top: { height: 2, width: 2, codes: top } },
  };
}

async function fit(prior: PixelCnn, data: CodeSet, totalSteps: number): Promise<void> {
  const result = await trainPrior({ prior, optimizer: new Adam({ learningRate: 1e-2 }), data, batch: 32, totalSteps, seed: 0, checkpointEverySeconds: 0 });
  assert.equal(result.stopReason, 'done');
}

describe('top and bottom priors on a synthetic two-level distribution', () => {
  let topPrior: PixelCnn;
  let bottomPrior: PixelCnn;
  const test = makeSets(512, 2);

  before(async () => {
    await selectBackend('auto');
    const train = makeSets(1024, 1);
    topPrior = new PixelCnn(makePriorConfig({ codebookSize: KT, height: 2, width: 2, channels: 16, layers: 1 }), 0);
    bottomPrior = new PixelCnn(makePriorConfig({ codebookSize: K, height: 4, width: 4, channels: 12, layers: 1, topCodebookSize: KT, topHeight: 2, topWidth: 2 }), 0);
    await fit(topPrior, train.top, 20);
    await fit(bottomPrior, train.bottom, 60);
  });

  it('the bottom prior uses the top grid: near 0 bits per code given it, far more given the wrong one', () => {
    const given = priorNll(bottomPrior, test.bottom).bitsPerCode;
    // The same bottom grids with each one's top grid taken from the next sample.
    const shifted = Int32Array.from(test.bottom.top!.codes, (_, i) => test.bottom.top!.codes[(i + 4) % test.bottom.top!.codes.length]!);
    const wrong = priorNll(bottomPrior, { ...test.bottom, top: { height: 2, width: 2, codes: shifted } }).bitsPerCode;
    console.log(`# two levels: bottom prior ${given.toFixed(3)} bits per code given its top grid, ${wrong.toFixed(3)} given another`);
    assert.ok(given < 0.15, `bottom NLL ${given} bits per code`);
    assert.ok(wrong > given + 1, `given another top grid: ${wrong} bits per code`);
  });

  it('sampleLevels draws top grids, then bottom grids that follow them', async () => {
    const n = 120;
    const { top, bottom } = await sampleLevels(topPrior, bottomPrior, { n, seed: 4 });
    assert.equal(top.length, n * 4);
    assert.equal(bottom.length, n * 16);
    let good = 0;
    for (let i = 0; i < n; i++) if (bottomOf(top, i * 4).every((v, j) => v === bottom[i * 16 + j])) good += 1;
    assert.ok(good >= 0.95 * n, `${good} of ${n} bottom grids follow their top grid`);
    // The top codes are drawn from the top prior: all three values, about 160 each of 480.
    const counts = [0, 0, 0];
    for (const v of top) counts[v]! += 1;
    for (const c of counts) assert.ok(c > 110 && c < 210, `top counts ${counts}`);
    // Drawing the bottom level alone with the same top grids and seed + 1 gives the same bottom grids.
    assert.deepEqual(await samplePrior(bottomPrior, { n, top, seed: 5 }), bottom);
  });

  it('refuses a bottom prior without top codes, a top prior with them, and priors that do not fit together', async () => {
    await assert.rejects(samplePrior(bottomPrior, { n: 2 }), (e: unknown) => e instanceof UserError && /give the top codes/.test(e.message));
    await assert.rejects(samplePrior(topPrior, { n: 1, top: new Int32Array(4) }), (e: unknown) => e instanceof UserError && /not conditioned on a top code grid/.test(e.message));
    await assert.rejects(samplePrior(bottomPrior, { n: 1, top: new Int32Array([0, 1, 2, 3]) }), (e: unknown) => e instanceof UserError && /top code 3 at 3 is out of range/.test(e.message));
    await assert.rejects(sampleLevels(bottomPrior, bottomPrior, { n: 1 }), (e: unknown) => e instanceof UserError && /expects 2x2 top grids of 3 codes but the top prior draws 4x4 of 4/.test(e.message));
  });
});
