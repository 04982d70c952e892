/** The seeded generator and permutation behind the `mnist` split and the training order. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mulberry32, permutation } from '../src/random.js';

const seededPermutation = (n: number, seed: number) => permutation(n, mulberry32(seed));

test('mulberry32 is deterministic and stays in [0, 1)', () => {
  const a = mulberry32(42);
  const b = mulberry32(42);
  const c = mulberry32(43);
  const fromA = Array.from({ length: 1000 }, a);
  assert.deepEqual(fromA, Array.from({ length: 1000 }, b));
  assert.notDeepEqual(fromA.slice(0, 10), Array.from({ length: 10 }, c));
  assert.ok(fromA.every((v) => v >= 0 && v < 1));
  // A uniform generator's mean of 1000 draws is 0.5 +- ~0.009 (1 sigma).
  const mean = fromA.reduce((s, v) => s + v, 0) / fromA.length;
  assert.ok(Math.abs(mean - 0.5) < 0.05, `mean ${mean}`);
});

test('seededPermutation is a permutation, the same for the same seed', () => {
  const order = seededPermutation(1000, 7);
  assert.deepEqual([...order].sort((x, y) => x - y), Array.from({ length: 1000 }, (_, i) => i));
  assert.deepEqual(order, seededPermutation(1000, 7));
  assert.notDeepEqual(order, seededPermutation(1000, 8));
  // Not the identity: a shuffle of 1000 leaves about one item in place.
  const fixed = order.filter((v, i) => v === i).length;
  assert.ok(fixed < 10, `${fixed} fixed points`);
});
