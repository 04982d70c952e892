/**
 * The wasm UnsortedSegmentSum against a hand loop in float64 (exact for
 * int32; for float32 within 1e-6 of the largest value: at most ~30 terms per
 * sum here, each rounding by 2^-24) and against the cpu backend, and as the
 * gradient of tf.gather.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { UnsortedSegmentSum } from '@tensorflow/tfjs-core';

import { tf } from '../../src/engine.js';
import { assertClose, seededValues, useBackend, valuesOn } from './helpers.js';

/** out[j] = sum of rows i of x (x as [ids.length, rowSize]) with ids[i] = j; others dropped. */
function handSegmentSum(x: ArrayLike<number>, ids: ArrayLike<number>, k: number, rowSize: number): Float64Array {
  const out = new Float64Array(k * rowSize);
  for (let i = 0; i < ids.length; i++) {
    const j = ids[i]!;
    if (j < 0 || j >= k) continue;
    for (let e = 0; e < rowSize; e++) out[j * rowSize + e]! += x[i * rowSize + e]!;
  }
  return out;
}

function seededIds(n: number, k: number, seed: number): Int32Array {
  return Int32Array.from(seededValues(n, seed), (v) => Math.floor(((v + 1) / 2) * k));
}

describe('wasm UnsortedSegmentSum', () => {
  it('sums rows by id, drops ids outside [0, k), leaves empty segments at 0', async () => {
    const x = seededValues(6 * 3, 1);
    const ids = Int32Array.from([0, 2, 0, -1, 5, 2]);
    const got = await valuesOn('wasm', () => tf.unsortedSegmentSum(tf.tensor2d(x, [6, 3]), tf.tensor1d(ids, 'int32'), 4));
    assertClose(got, { shape: [4, 3], values: handSegmentSum(x, ids, 4, 3) }, 1e-6, 'float32');
    assert.deepEqual(Array.from(got.values.slice(3, 6)), [0, 0, 0]);
    assert.deepEqual(Array.from(got.values.slice(9, 12)), [0, 0, 0]);
  });

  it('sums int32 exactly and keeps the dtype', async () => {
    const x = Int32Array.from({ length: 40 }, (_, i) => i * 7 - 100);
    const ids = seededIds(10, 3, 2);
    await useBackend('wasm');
    const out = tf.unsortedSegmentSum(tf.tensor2d(x, [10, 4], 'int32'), tf.tensor1d(ids, 'int32'), 3);
    assert.equal(out.dtype, 'int32');
    assert.deepEqual(Array.from(out.dataSync()), Array.from(handSegmentSum(x, ids, 3, 4)));
    out.dispose();
  });

  it('takes segment ids over several leading axes', async () => {
    const x = seededValues(2 * 3 * 5, 3);
    const ids = Int32Array.from([2, 0, 2, 1, 1, 2]);
    // Through the kernel: the op's types allow only rank-1 ids, the kernel (and TensorFlow) more.
    const f = () =>
      tf.engine().runKernel(
        UnsortedSegmentSum,
        { x: tf.tensor3d(x, [2, 3, 5]), segmentIds: tf.tensor2d(ids, [2, 3], 'int32') },
        { numSegments: 3 },
      ) as tf.Tensor;
    const got = await valuesOn('wasm', f);
    // Not against cpu: its kernel throws on rank-2 ids (a broadcasting error).
    assertClose(got, { shape: [3, 5], values: handSegmentSum(x, ids, 3, 5) }, 1e-6, 'rank-2 ids');
  });

  it('matches the hand loop at the quantizer size: 6272 vectors of 64 into 512 codes', async () => {
    const x = seededValues(6272 * 64, 4);
    const ids = seededIds(6272, 512, 5);
    const f = () => tf.unsortedSegmentSum(tf.tensor2d(x, [6272, 64]), tf.tensor1d(ids, 'int32'), 512);
    const got = await valuesOn('wasm', f);
    assertClose(got, { shape: [512, 64], values: handSegmentSum(x, ids, 512, 64) }, 1e-6, 'large');
  });

  it('matches cpu', async () => {
    // Small: cpu's kernel makes one masked copy of x per segment.
    const x = seededValues(200 * 16, 9);
    const ids = seededIds(200, 32, 10);
    const f = () => tf.unsortedSegmentSum(tf.tensor2d(x, [200, 16]), tf.tensor1d(ids, 'int32'), 32);
    assertClose(await valuesOn('wasm', f), await valuesOn('cpu', f), 1e-6, 'cpu');
  });

  it('is the gradient of tf.gather from a codebook', async () => {
    const codebook = seededValues(16 * 8, 6);
    const ids = seededIds(50, 16, 7);
    const weights = seededValues(50 * 8, 8);
    // d/dE sum(gather(E, ids) * w) = rows of w summed by id.
    const grad = () =>
      tf.grad((e: tf.Tensor) => tf.sum(tf.mul(tf.gather(e, tf.tensor1d(ids, 'int32')), tf.tensor2d(weights, [50, 8]))))(
        tf.tensor2d(codebook, [16, 8]),
      );
    const got = await valuesOn('wasm', grad);
    assertClose(got, { shape: [16, 8], values: handSegmentSum(weights, ids, 16, 8) }, 1e-6, 'gather gradient');
  });

  it('rejects segment ids that are not a prefix of x, saying what it found', async () => {
    await useBackend('wasm');
    const x = tf.zeros([4, 3]);
    const ids = tf.zeros([3], 'int32');
    assert.throws(() => tf.engine().runKernel(UnsortedSegmentSum, { x, segmentIds: ids }, { numSegments: 2 }), {
      message: 'UnsortedSegmentSum: segmentIds shape [3] must be a prefix of x shape [4, 3]',
    });
    tf.dispose([x, ids]);
  });
});
