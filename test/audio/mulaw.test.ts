/** mu-law companding: the formula, the round trip, and the level table. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { muLawCompress, muLawDecode, muLawEncode, muLawExpand } from '../../src/audio/mulaw.js';

test('compress follows sign(x) ln(1 + 255|x|) / ln 256 and expand inverts it', () => {
  for (const x of [-1, -0.5, -0.01, 0, 0.001, 0.25, 0.9, 1]) {
    const expected = Math.sign(x) * Math.log(1 + 255 * Math.abs(x)) / Math.log(256);
    assert.ok(Math.abs(muLawCompress(x) - expected) < 1e-12, `f(${x})`);
    assert.ok(Math.abs(muLawExpand(muLawCompress(x)) - x) < 1e-12, `f^-1(f(${x}))`);
  }
  assert.equal(muLawCompress(3), 1, 'clipped above');
  assert.equal(muLawCompress(-3), -1, 'clipped below');
});

test('encode → decode round trip stays within half a level in the companded domain', () => {
  const xs = Float32Array.from({ length: 20001 }, (_, i) => -1 + i / 10000);
  const codes = muLawEncode(xs);
  const back = muLawDecode(codes);
  let maxCompandedError = 0;
  for (let i = 0; i < xs.length; i++) {
    assert.ok(codes[i]! >= 0 && codes[i]! <= 255);
    maxCompandedError = Math.max(maxCompandedError, Math.abs(muLawCompress(back[i]!) - muLawCompress(xs[i]!)));
  }
  // One level spans 2 / 255 of the companded range: at most half of it.
  assert.ok(maxCompandedError <= 1 / 255 + 1e-6, `max companded error ${maxCompandedError}`);
  // Every level is reached by the sweep, and each level decodes to itself.
  assert.equal(new Set(codes).size, 256);
  const levels = Int32Array.from({ length: 256 }, (_, i) => i);
  assert.deepEqual([...muLawEncode(muLawDecode(levels))], [...levels]);
  // Near zero the steps are fine: small samples come back within 0.0005.
  for (const x of [0.001, -0.002, 0.003]) assert.ok(Math.abs(muLawDecode(muLawEncode([x]))[0]! - x) < 5e-4);
});

test('decode rejects a level outside 0..255', () => {
  assert.throws(() => muLawDecode([0, 256]), /mu-law level 256 at 1 is outside 0..255/);
});
