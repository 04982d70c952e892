/** The phoneme evaluation on hand-made alignments whose answer is worked out by hand. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { alignFrames, codeUsage, phonemeAccuracy } from '../../src/audio/phonemes.js';

const seg = (start: number, end: number, phone: string) => ({ start, end, phone });

test('each frame takes the phone under its centre sample', () => {
  // hop 10: centres 5, 15, 25, 35, 45.
  const u = { codes: [7, 8, 9, 1, 2], phones: [seg(0, 12, 'a'), seg(12, 26, 'b'), seg(26, 40, 'c')] };
  assert.deepEqual(alignFrames(u, 10), [[7, 'a'], [8, 'b'], [9, 'b'], [1, 'c']]);
});

test('codes map to their most frequent train phone; accuracy on test beside chance', () => {
  const hop = 10;
  // Train: code 1 sits on 'a' twice and 'b' once → 'a'; code 2 on 'b' → 'b'; 'a' is the commonest phone.
  const train = [
    { codes: [1, 1, 2, 2], phones: [seg(0, 20, 'a'), seg(20, 40, 'b')] },
    { codes: [1, 3], phones: [seg(0, 10, 'b'), seg(10, 20, 'a')] },
  ];
  // Test: code 1 on 'a' (right), 2 on 'b' (right), 2 on 'a' (wrong), 9 unseen → 'a' (right: the train majority).
  const test_ = [{ codes: [1, 2, 2, 9], phones: [seg(0, 10, 'a'), seg(10, 20, 'b'), seg(20, 30, 'a'), seg(30, 40, 'a')] }];
  const r = phonemeAccuracy(train, test_, hop);
  assert.equal(r.accuracy, 3 / 4);
  assert.equal(r.majority, 3 / 4, "'a' is 3 of the 4 test frames");
  assert.equal(r.uniform, 1 / 2);
  assert.equal(r.trainFrames, 6);
  assert.equal(r.testFrames, 4);
  assert.equal(r.codesMapped, 3);
});

test('code usage counts distinct codes and the perplexity of their histogram', () => {
  const u = codeUsage([0, 0, 1, 1, 2, 2, 3, 3], 512);
  assert.equal(u.used, 4);
  assert.ok(Math.abs(u.perplexity - 4) < 1e-12, 'uniform over 4 codes');
  const skewed = codeUsage([5, 5, 5, 6], 8);
  const h = -(0.75 * Math.log(0.75) + 0.25 * Math.log(0.25));
  assert.ok(Math.abs(skewed.perplexity - Math.exp(h)) < 1e-12);
});

test('spread picks evenly spaced items, all of a short list', async () => {
  const { spread } = await import('../../src/audio/evaluate.js');
  assert.deepEqual(spread([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 4), [0, 2, 5, 7]);
  assert.deepEqual(spread([1, 2], 5), [1, 2]);
});
