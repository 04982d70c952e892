/**
 * The addon checks every argument before doing any work, and its errors name
 * what was expected and what was found: a bad permutation, an empty
 * reduction axis, an out-of-range gather index (tfjs's own message, nothing
 * written), a short or wrongly typed array, bad layer flags and geometry.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { nativeOrFail } from './helpers.js';

const addon = nativeOrFail();
if (addon !== undefined) {
  describe('native addon argument checks', () => {
    it('transpose rejects a perm that is not a permutation of the axes', () => {
      const x = new Float32Array(6);
      const out = new Float32Array(6);
      assert.throws(() => addon.transpose(x, out, [2, 3], [0, 2]), /perm\[1\] is 2, expected a permutation of 0\.\.1/);
      assert.throws(() => addon.transpose(x, out, [2, 3], [1, 1]), /perm\[1\] is 1, expected a permutation of 0\.\.1/);
      assert.throws(() => addon.transpose(x, out, [2, 3], [0]), /perm has 1 entries, expected the rank 2/);
      assert.deepEqual(Array.from(out), [0, 0, 0, 0, 0, 0]);
    });

    it('argReduce rejects an empty axis instead of reading past it', () => {
      assert.throws(() => addon.argReduce(true, new Float32Array(4), new Int32Array(4), 4, 0, 1), /r >= 1, found \[4, 0, 1\]/);
    });

    it('gather reports an index out of range with tfjs\'s message and writes nothing', () => {
      const x = new Float32Array([1, 2, 3, 4, 5, 6]);
      const out = new Float32Array(4).fill(-1);
      assert.throws(() => addon.gather(x, new Int32Array([1, 3]), out, 1, 3, 2), /GatherV2: the index value 3 is not in \[0, 2\]/);
      assert.deepEqual(Array.from(out), [-1, -1, -1, -1]);
      addon.gather(x, new Int32Array([2, 0]), out, 1, 3, 2);
      assert.deepEqual(Array.from(out), [5, 6, 1, 2]);
    });

    it('arrays too short or of the wrong type are named with their lengths', () => {
      assert.throws(() => addon.reduce(0, new Float32Array(5), new Float32Array(2), 2, 3, 1), /argument 1 has 5 elements, needs 6/);
      assert.throws(() => addon.unary(0, new Int32Array(3) as never, new Float32Array(3)), /argument 1 must be a Float32Array/);
    });

    it('layer flags and conv geometry are checked', () => {
      const g = [1, 4, 4, 1, 4, 4, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0];
      const a = new Float32Array(16);
      const w = new Float32Array(1);
      assert.throws(() => addon.convLayer(a, w, w, a, null, g, 9), /flags must be in \[0, 7\], found 9/);
      assert.throws(() => addon.convLayer(a, w, w, a, null, g.slice(1), 0), /17 numbers/);
      assert.throws(() => addon.conv2d(a, w, null, a, [1, 4, 4, 1, 4, 4, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 0], false), /must be >= 1, found 0/);
    });
  });
}
