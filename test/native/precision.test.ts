/**
 * --precision bf16 on the native backend: where the CPU has AVX-512 bf16 or
 * AMX (oneDNN's ISA says), convolutions then really run in bf16 (results
 * move off the fp32 ones by about bf16's rounding, 2^-8 relative, never
 * more than 2e-2 of the largest value; a linear layer, since a ReLU mask
 * may flip where the output is near 0) and setting fp32 again gives the
 * fp32 results back exactly; elsewhere the request is refused with one line
 * naming the CPU's ISA, and nothing changes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { tf } from '../../src/engine.js';
import { isaName, setNativePrecision } from '../../src/backend/index.js';
import { convLayer } from '../../src/backend/native/layerOp.js';
import { nativeOrFail, seededValues } from './helpers.js';

function layerAndGrads(): Float32Array[] {
  return tf.tidy(() => {
    const x = tf.tensor4d(seededValues(8 * 14 * 14 * 32, 1), [8, 14, 14, 32]);
    const w = tf.tensor4d(seededValues(4 * 4 * 32 * 64, 2), [4, 4, 32, 64]);
    const b = tf.tensor1d(seededValues(64, 3));
    const f = (a: tf.Tensor, k: tf.Tensor, c: tf.Tensor) =>
      convLayer(a as tf.Tensor4D, k as tf.Tensor4D, c as tf.Tensor1D, { stride: 2, pad: 'same' });
    const y = f(x, w, b);
    const r = tf.tensor(seededValues(y.size, 4), y.shape);
    const grads = tf.grads((a: tf.Tensor, k: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(f(a, k, c), r)))([x, w, b]);
    return [y, ...grads].map((t) => t.dataSync() as Float32Array);
  });
}

function relativeError(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / scale;
}

const addon = nativeOrFail();
if (addon !== undefined) {
  describe('native bf16 precision', () => {
    it(addon.info().bf16 ? 'bf16 convolutions stay within bf16 rounding of fp32, and fp32 comes back exactly' : 'bf16 is refused on this CPU', async () => {
      await tf.setBackend('native');
      assert.equal(setNativePrecision('fp32'), undefined);
      const fp32 = layerAndGrads();
      if (!addon.info().bf16) {
        assert.equal(setNativePrecision('bf16'), `this CPU lacks AVX-512 bf16 and AMX (oneDNN ISA ${isaName(addon.info().isa)})`);
        assert.equal(addon.info().precision, 'fp32');
        return;
      }
      try {
        assert.equal(setNativePrecision('bf16'), undefined);
        const bf16 = layerAndGrads();
        const [y, dx] = [relativeError(bf16[0]!, fp32[0]!), relativeError(bf16[1]!, fp32[1]!)];
        assert.ok(y > 1e-5 && y < 2e-2, `output: relative error ${y} is not bf16's`);
        assert.ok(dx > 1e-5 && dx < 2e-2, `input gradient: relative error ${dx} is not bf16's`);
        for (let i = 2; i < 4; i++) assert.ok(relativeError(bf16[i]!, fp32[i]!) < 2e-2, `gradient ${i}`);
      } finally {
        setNativePrecision('fp32');
      }
      const again = layerAndGrads();
      again.forEach((a, i) => assert.deepEqual(a, fp32[i], `output ${i} after fp32 again`));
    });
  });
}
