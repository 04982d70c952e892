/**
 * The fused nearest-code search (native/src/nearest.cc, registered for
 * src/quantize/ops.ts's nearestCodes) against a float64 search of the
 * squared distances in plain JS, over many sizes (one code, one dimension,
 * the reference K 512 x D 64, odd sizes, batches across the block and thread
 * splits), against the tfjs ops on the cpu backend, on ties (the first of
 * equal codes) and on its argument checks.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { tf } from '../../src/engine.js';
import { nearestCodes } from '../../src/quantize/ops.js';
import { nativeOrFail, resultsOn, seededValues } from './helpers.js';

/** Exact squared distances in float64: the best index and every row's distances. */
function exactNearest(x: Float32Array, codes: Float32Array, m: number, k: number, d: number): { best: number[]; dist: Float64Array } {
  const dist = new Float64Array(m * k);
  const best: number[] = [];
  for (let i = 0; i < m; i++) {
    let bi = 0;
    for (let j = 0; j < k; j++) {
      let s = 0;
      for (let c = 0; c < d; c++) {
        const diff = x[i * d + c]! - codes[j * d + c]!;
        s += diff * diff;
      }
      dist[i * k + j] = s;
      if (s < dist[i * k + bi]!) bi = j;
    }
    best.push(bi);
  }
  return { best, dist };
}

/** Each index is the exact nearest, or within float32 rounding of it (||z||^2 + ||e||^2 scale). */
function assertNearest(what: string, got: ArrayLike<number>, x: Float32Array, codes: Float32Array, m: number, k: number, d: number): void {
  const { best, dist } = exactNearest(x, codes, m, k, d);
  let exact = 0;
  for (let i = 0; i < m; i++) {
    const j = got[i]!;
    assert.ok(Number.isInteger(j) && j >= 0 && j < k, `${what}: index ${j} at row ${i} not in 0..${k - 1}`);
    if (j === best[i]) {
      exact++;
      continue;
    }
    let scale = 0;
    for (let c = 0; c < d; c++) scale += x[i * d + c]! ** 2 + codes[j * d + c]! ** 2;
    const gap = dist[i * k + j]! - dist[i * k + best[i]!]!;
    assert.ok(gap <= 1e-5 * (scale + 1), `${what}: row ${i} took code ${j} at ${dist[i * k + j]} over ${best[i]} at ${dist[i * k + best[i]!]}`);
  }
  assert.ok(exact >= 0.98 * m, `${what}: only ${exact} of ${m} rows took the exact nearest code`);
}

const addon = nativeOrFail();
if (addon !== undefined) {
  describe('native nearest-code search', () => {
    const sizes: [number, number, number][] = [
      [1, 1, 1], [5, 1, 3], [7, 9, 1], [63, 17, 5], [64, 512, 64], [65, 512, 64], [130, 7, 100],
      [6272, 512, 64], [3001, 33, 16], [0, 4, 2],
    ];
    for (const [i, [m, k, d]] of sizes.entries()) {
      it(`m ${m}, k ${k}, d ${d}: the nearest code of every row (float64 search)`, () => {
        const x = Float32Array.from(seededValues(m * d, 10 + i));
        const codes = Float32Array.from(seededValues(k * d, 20 + i));
        const out = new Int32Array(m).fill(-1);
        addon.nearestCodes(x, codes, out, m, k, d);
        assertNearest(`m ${m} k ${k} d ${d}`, out, x, codes, m, k, d);
      });
    }

    it('takes the first of equal codes, as argMin does', () => {
      const codes = new Float32Array([1, 0, 0, 1, 1, 0, 0, 1, 5, 5]); // codes 0 = 2 and 1 = 3
      const x = new Float32Array([0.9, 0.1, 0.2, 0.8, 5, 5]);
      const out = new Int32Array(3);
      addon.nearestCodes(x, codes, out, 3, 5, 2);
      assert.deepEqual(Array.from(out), [0, 1, 4]);

      // k = 40: the vector path's lanes. Codes 5, 13, 30 and 37 are the same
      // point (lanes apart); the search must still name the first of them.
      const k = 40, d = 3;
      const many = Float32Array.from(seededValues(k * d, 61));
      for (const j of [13, 30, 37]) many.set(many.subarray(5 * d, 6 * d), j * d);
      const rows = Float32Array.from([...many.subarray(5 * d, 6 * d), NaN, 0, 0, ...many.subarray(39 * d, 40 * d)]);
      const found = new Int32Array(3);
      addon.nearestCodes(rows, many, found, 3, k, d);
      assert.deepEqual(Array.from(found), [5, 0, 39], 'first of equal codes; a NaN row gives 0, as argMin');
    });

    it('nearestCodes gives the cpu backend\'s indices through the fused search', async () => {
      for (const [i, [m, k, d]] of ([[128 * 49, 512, 64], [37, 11, 3]] as const).entries()) {
        const xs = seededValues(m * d, 40 + i);
        const cs = seededValues(k * d, 50 + i);
        const run = () => nearestCodes(tf.tensor2d(xs, [m, d]), tf.tensor2d(cs, [k, d]));
        const [native] = await resultsOn('native', run);
        const [cpu] = await resultsOn('cpu', run);
        assert.equal(native!.dtype, 'int32');
        assert.deepEqual(native!.shape, [m]);
        const x = Float32Array.from(xs);
        const codes = Float32Array.from(cs);
        assertNearest('native', native!.values, x, codes, m, k, d);
        assertNearest('cpu', cpu!.values, x, codes, m, k, d);
        let same = 0;
        for (let j = 0; j < m; j++) same += native!.values[j] === cpu!.values[j] ? 1 : 0;
        assert.ok(same >= 0.99 * m, `native and cpu agree on ${same} of ${m} rows`);
      }
    });

    it('checks its arguments before writing anything', () => {
      const out = new Int32Array(2).fill(-1);
      assert.throws(() => addon.nearestCodes(new Float32Array(4), new Float32Array(4), out, 2, 0, 2), /k must be >= 1, found 0/);
      assert.throws(() => addon.nearestCodes(new Float32Array(3), new Float32Array(4), out, 2, 2, 2), /argument 0 has 3 elements, needs 4/);
      assert.throws(() => addon.nearestCodes(new Float32Array(4), new Float32Array(4), new Float32Array(2) as never, 2, 2, 2), /argument 2 must be a Int32Array/);
      assert.deepEqual(Array.from(out), [-1, -1]);
    });
  });
}
