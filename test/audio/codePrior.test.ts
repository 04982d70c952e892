/**
 * The 1-D prior over audio code sequences (src/audio/codePrior.ts):
 *
 * - causality by perturbation: the logits at t do not move when any code at
 *   or after t changes, and do move when a code t - r .. t - 1 changes, with
 *   r = 1 + the sum of the dilations worked out here from the dilations;
 * - the NLL with -1 padding equals a float64 log-softmax of the logits over
 *   the unpadded codes only;
 * - sampling at a tiny temperature equals greedy decoding with full forward
 *   passes over the whole prefix (so the sampler's receptive-field window
 *   loses nothing), and the speaker changes what is drawn;
 * - the code-file reader's one-line errors, and the training windows.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../src/backend/select.js';
import { CodePrior, priorDilations, sampleCodes, type CodePriorConfig } from '../../src/audio/codePrior.js';
import { gatherWindows, readCodeSequences, windowBatch } from '../../src/audio/codePriorRun.js';
import { writeNpyFile } from '../../src/io/npyFile.js';
import { mulberry32 } from '../../src/random.js';
import { assertUserError } from '../data/helpers.js';
import { tempDir } from '../e2e/helpers.js';

before(async () => {
  await selectBackend('auto');
});

const SMALL: CodePriorConfig = { codebookSize: 7, channels: 6, dilations: [1, 2, 4, 1], speakers: 3, window: 16 };

function randomCodes(rng: () => number, n: number, k: number): Int32Array {
  return Int32Array.from({ length: n }, () => Math.floor(rng() * k));
}

function logitsOf(prior: CodePrior, codes: Int32Array, speaker: number | undefined): Float32Array {
  return tf.tidy(() => prior.logits(tf.tensor2d(codes, [1, codes.length], 'int32'), speaker === undefined ? undefined : tf.tensor1d([speaker], 'int32')).dataSync() as Float32Array);
}

test('dilations: 1, 2, ..., 32 repeated', () => {
  assert.deepEqual(priorDilations(8), [1, 2, 4, 8, 16, 32, 1, 2]);
});

test('causality: logits at t depend on exactly the codes t - r .. t - 1', () => {
  const prior = new CodePrior(SMALL, 5);
  const r = 1 + SMALL.dilations.reduce((a, b) => a + b, 0); // 9
  assert.equal(prior.receptiveField, r);
  const t = 24;
  const rng = mulberry32(1);
  const codes = randomCodes(rng, t, SMALL.codebookSize);
  const base = logitsOf(prior, codes, 1);
  const k = SMALL.codebookSize;
  for (const j of [0, 5, 10, 16, 23]) {
    const changed = Int32Array.from(codes);
    changed[j] = (codes[j]! + 3) % k;
    const moved = logitsOf(prior, changed, 1);
    for (let p = 0; p < t; p++) {
      let diff = 0;
      for (let c = 0; c < k; c++) diff = Math.max(diff, Math.abs(moved[p * k + c]! - base[p * k + c]!));
      const inField = j < p && j >= p - r;
      if (inField) assert.ok(diff > 1e-6, `logits at ${p} must depend on code ${j}`);
      else assert.ok(diff === 0, `logits at ${p} must not depend on code ${j} (changed by ${diff})`);
    }
  }
  prior.dispose();
});

test('the speaker moves every position; an unconditional prior refuses one', () => {
  const prior = new CodePrior(SMALL, 2);
  const codes = randomCodes(mulberry32(4), 10, SMALL.codebookSize);
  const a = logitsOf(prior, codes, 0);
  const b = logitsOf(prior, codes, 2);
  for (let p = 0; p < 10; p++) assert.notDeepEqual(a.subarray(p * 7, p * 7 + 7), b.subarray(p * 7, p * 7 + 7));
  assert.throws(() => logitsOf(prior, codes, undefined), /conditioned on 3 speakers/);
  prior.dispose();
  const plain = new CodePrior({ ...SMALL, speakers: 0 }, 2);
  assert.throws(() => logitsOf(plain, codes, 0), /unconditional/);
  plain.dispose();
});

test('NLL with -1 padding: only the real codes count (float64 log-softmax)', () => {
  const prior = new CodePrior(SMALL, 9);
  const k = SMALL.codebookSize;
  const rng = mulberry32(8);
  const rows = [randomCodes(rng, 12, k), randomCodes(rng, 7, k)];
  const padded = new Int32Array(2 * 12).fill(-1);
  padded.set(rows[0]!, 0);
  padded.set(rows[1]!, 12);
  let expected = 0;
  let count = 0;
  rows.forEach((row, i) => {
    const logits = logitsOf(prior, row, i);
    for (let p = 0; p < row.length; p++) {
      let max = -Infinity;
      for (let c = 0; c < k; c++) max = Math.max(max, logits[p * k + c]!);
      let total = 0;
      for (let c = 0; c < k; c++) total += Math.exp(logits[p * k + c]! - max);
      expected += Math.log(total) + max - logits[p * k + row[p]!]!;
      count++;
    }
  });
  const { nats, count: counted } = prior.nll(tf.tensor2d(padded, [2, 12], 'int32'), tf.tensor1d([0, 1], 'int32'));
  assert.equal(counted.dataSync()[0], count);
  assert.ok(Math.abs(nats.dataSync()[0]! - expected) < 1e-3 * expected, `${nats.dataSync()[0]} vs ${expected}`);
  const loss = prior.loss(tf.tensor2d(padded, [2, 12], 'int32'), tf.tensor1d([0, 1], 'int32')).dataSync()[0]!;
  assert.ok(Math.abs(loss - expected / count) < 1e-3 * (expected / count));
  prior.dispose();
});

test('sampling at a tiny temperature is greedy decoding over the whole prefix', () => {
  const prior = new CodePrior(SMALL, 3);
  const length = 30; // longer than the receptive field (9): the sampler's window is exercised
  for (const speaker of [0, 2]) {
    const sampled = sampleCodes(prior, { n: 1, length, speaker, temperature: 1e-4, seed: 1 });
    const greedy = new Int32Array(length);
    for (let t = 0; t < length; t++) {
      const logits = logitsOf(prior, greedy.subarray(0, t + 1), speaker);
      const at = logits.subarray(t * 7, t * 7 + 7);
      greedy[t] = at.indexOf(Math.max(...at));
    }
    assert.deepEqual([...sampled], [...greedy], `speaker ${speaker}`);
  }
  // Seeded and in range; two sequences drawn at once differ.
  const a = sampleCodes(prior, { n: 2, length: 12, speaker: 1, seed: 4 });
  assert.deepEqual(a, sampleCodes(prior, { n: 2, length: 12, speaker: 1, seed: 4 }));
  assert.ok(a.every((v) => v >= 0 && v < 7));
  assert.notDeepEqual([...a.subarray(0, 12)], [...a.subarray(12)]);
  assertUserError(() => sampleCodes(prior, { n: 1, length: 4 }), /conditioned on 3 speakers/);
  assertUserError(() => sampleCodes(prior, { n: 1, length: 4, speaker: 3 }), /speaker 3 is out of range/);
  prior.dispose();
});

test('code files: [N, frames] with -1 padding read; bad ones are one clear error', () => {
  const dir = tempDir('vqvae-code-prior-');
  const file = (name: string, data: Int32Array | Float32Array, shape: number[]) => {
    const p = path.join(dir, name);
    writeNpyFile(p, data, shape);
    return p;
  };
  const good = file('good.npy', Int32Array.from([1, 2, 3, -1, 4, -1, -1, -1]), [2, 4]);
  const labels = file('labels.npy', Int32Array.from([0, 1]), [2]);
  const set = readCodeSequences(good, labels);
  assert.deepEqual([...set.lengths], [3, 1]);
  assert.deepEqual([...set.labels!], [0, 1]);
  assertUserError(() => readCodeSequences(good, undefined, { codebookSize: 4 }), /code 4 at row 1, frame 0 is out of range: expected 0\.\.3/);
  assertUserError(() => readCodeSequences(file('gap.npy', Int32Array.from([1, -1, 2]), [1, 3])), /row 0 has code 2 at frame 2 after padding/);
  assertUserError(() => readCodeSequences(file('empty.npy', Int32Array.from([-1, -1]), [1, 2])), /row 0 holds no codes/);
  assertUserError(() => readCodeSequences(file('float.npy', Float32Array.from([1, 2]), [1, 2])), /codes must be integers/);
  assertUserError(() => readCodeSequences(file('grid.npy', Int32Array.from([1, 2]), [1, 1, 2])), /audio codes must have shape \[N, frames\]/);
  assertUserError(() => readCodeSequences(good, file('short.npy', Int32Array.from([0]), [1])), /labels must have shape \[2\]/);
  fs.rmSync(dir, { recursive: true, force: true });

  // Windows: within each row, -1 past its end; a seeded step always draws the same ones.
  const windows = gatherWindows(set, [0, 1], [1, 0], 3);
  assert.deepEqual([...windows], [2, 3, -1, 4, -1, -1]);
  assert.deepEqual(windowBatch(set, 4, 2, 7, 3), windowBatch(set, 4, 2, 7, 3));
  const { rows, starts } = windowBatch(set, 64, 2, 7, 3);
  rows.forEach((r, i) => assert.ok(starts[i]! >= 0 && starts[i]! <= Math.max(0, set.lengths[r]! - 2)));
});
