/** Bilinear resizing against values worked by hand (half-pixel centres). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resizeBilinear } from '../../src/data/resize.js';

test('2x2 to 4x4 matches the hand-worked values', () => {
  // Output row/column k samples source position (k + 0.5) / 2 - 0.5, clamped:
  // 0, 0.25, 0.75, 1. With corners a=0, b=255 (top), c=255, d=0 (bottom),
  // the value is 255 * (u + v - 2uv) for those weights u (rows), v (columns).
  const source = Uint8Array.from([0, 255, 255, 0]);
  const expected = Uint8Array.from([
    0, 64, 191, 255,
    64, 96, 159, 191,
    191, 159, 96, 64,
    255, 191, 64, 0,
  ]);
  assert.deepEqual(resizeBilinear(source, 2, 2, 1, 4, 4), expected);
});

test('channels are interpolated independently', () => {
  // One row of two RGB pixels, [10, 20, 30] and [110, 220, 30], to 1x4.
  const out = resizeBilinear(Uint8Array.from([10, 20, 30, 110, 220, 30]), 1, 2, 3, 1, 4);
  assert.deepEqual(out, Uint8Array.from([
    10, 20, 30,
    35, 70, 30, // 10 + 100 * 0.25, 20 + 200 * 0.25
    85, 170, 30,
    110, 220, 30,
  ]));
});

test('the same size is the identity; shrinking by 2 averages 2x2 blocks', () => {
  const source = Uint8Array.from({ length: 16 }, (_, i) => i * 10);
  assert.deepEqual(resizeBilinear(source, 4, 4, 1, 4, 4), source);
  // 4 -> 2 samples positions 0.5 and 2.5: the mean of each 2x2 block.
  assert.deepEqual(resizeBilinear(source, 4, 4, 1, 2, 2), Uint8Array.from([
    Math.round((0 + 10 + 40 + 50) / 4), Math.round((20 + 30 + 60 + 70) / 4),
    Math.round((80 + 90 + 120 + 130) / 4), Math.round((100 + 110 + 140 + 150) / 4),
  ]));
});
