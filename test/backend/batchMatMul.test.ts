/**
 * The wrapped wasm BatchMatMul against the cpu backend: every transpose
 * combination, batch 1 with extra axes, batched products (passed through
 * unchanged), degenerate sizes, and a matMul gradient. Tolerance 1e-5 of the
 * largest value: sums of at most 64 products, in another order.
 */
import { describe, it } from 'node:test';

import { tf } from '../../src/engine.js';
import { assertClose, seededValues, valuesOn } from './helpers.js';

const CASES: [number[], number[], boolean, boolean][] = [
  [[5, 3], [3, 4], false, false],
  [[3, 5], [3, 4], true, false],
  [[5, 3], [4, 3], false, true],
  [[3, 5], [4, 3], true, true],
  [[1, 64, 33], [1, 40, 64], true, true],
  [[1, 1, 7, 9], [9, 6], false, false],
  [[1, 9, 7], [1, 6, 9], true, true],
  [[2, 9, 7], [2, 6, 9], true, true],
  [[3, 4, 5], [1, 5, 2], false, false],
  [[1, 7], [5, 7], false, true],
  [[7, 1], [7, 5], true, false],
  [[40, 64], [50, 64], false, true],
];

describe('wasm BatchMatMul (transposes made before XNNPACK)', () => {
  for (const [aShape, bShape, ta, tb] of CASES) {
    it(`matches cpu: [${aShape}] x [${bShape}], transposeA ${ta}, transposeB ${tb}`, async () => {
      const size = (s: number[]) => s.reduce((x, y) => x * y, 1);
      const a = seededValues(size(aShape), size(aShape));
      const b = seededValues(size(bShape), size(bShape) + 1);
      const f = () => tf.matMul(tf.tensor(a, aShape), tf.tensor(b, bShape), ta, tb);
      assertClose(await valuesOn('wasm', f), await valuesOn('cpu', f), 1e-5, 'product');
    });
  }

  it('gives the gradients of a distance-matrix product like cpu', async () => {
    const z = seededValues(30 * 8, 1);
    const e = seededValues(16 * 8, 2);
    for (const which of [0, 1]) {
      const f = () => {
        const g = tf.grads((zz: tf.Tensor, ee: tf.Tensor) => tf.sum(tf.square(tf.matMul(zz, ee, false, true))));
        return g([tf.tensor2d(z, [30, 8]), tf.tensor2d(e, [16, 8])])[which]!;
      };
      assertClose(await valuesOn('wasm', f), await valuesOn('cpu', f), 1e-5, `gradient ${which}`);
    }
  });
});
