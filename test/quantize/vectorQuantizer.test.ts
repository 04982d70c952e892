import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { VectorQuantizer } from '../../src/quantize/vectorQuantizer.js';
import { VectorQuantizerEMA } from '../../src/quantize/vectorQuantizerEma.js';
import { UserError } from '../../src/errors.js';
import { mulberry32 } from '../../src/random.js';

function randomArray(n: number, seed: number, scale = 1): Float32Array {
  const rng = mulberry32(seed);
  return Float32Array.from({ length: n }, () => (rng() * 2 - 1) * scale);
}

/** Nearest code of each vector by exhaustive search, in float64. */
function bruteForceNearest(z: Float32Array, codebook: Float32Array, k: number, d: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < z.length / d; i++) {
    let best = -1;
    let bestDistance = Infinity;
    for (let j = 0; j < k; j++) {
      let dist = 0;
      for (let c = 0; c < d; c++) dist += (z[i * d + c]! - codebook[j * d + c]!) ** 2;
      if (dist < bestDistance) {
        bestDistance = dist;
        best = j;
      }
    }
    out.push(best);
  }
  return out;
}

describe('VectorQuantizer', () => {
  before(async () => {
    await tf.setBackend('cpu');
  });

  const k = 16;
  const d = 4;
  const shape: [number, number, number, number] = [2, 3, 5, d];
  const m = 2 * 3 * 5;

  function setup(seed = 1) {
    const codebook = randomArray(k * d, seed);
    const z = randomArray(m * d, seed + 1);
    const vq = new VectorQuantizer({ codebookSize: k, codeDim: d, beta: 0.25, initialCodebook: tf.tensor2d(codebook, [k, d]) });
    return { codebook, z, vq, input: tf.tensor4d(z, shape) };
  }

  it('picks the same codes as a brute-force nearest-neighbour search', () => {
    for (const seed of [1, 7, 42]) {
      const { codebook, z, vq, input } = setup(seed);
      const out = vq.apply(input);
      assert.deepEqual(Array.from(out.indices.dataSync()), bruteForceNearest(z, codebook, k, d));
      assert.deepEqual(out.indices.shape, [2, 3, 5]);
      vq.dispose();
    }
  });

  it('nearestIndices (encoding) gives the brute-force codes and apply\'s, plain and cosine, vq and ema', () => {
    for (const seed of [3, 11]) {
      const codebook = randomArray(k * d, seed);
      const z = randomArray(m * d, seed + 1);
      const unit = (v: Float32Array) => {
        const out = new Float32Array(v.length);
        for (let i = 0; i < v.length / d; i++) {
          const norm = Math.hypot(...v.subarray(i * d, (i + 1) * d));
          for (let c = 0; c < d; c++) out[i * d + c] = v[i * d + c]! / Math.max(norm, 1e-12);
        }
        return out;
      };
      for (const cosine of [false, true]) {
        const quantizers = [
          new VectorQuantizer({ codebookSize: k, codeDim: d, cosine, initialCodebook: tf.tensor2d(codebook, [k, d]) }),
          new VectorQuantizerEMA({ codebookSize: k, codeDim: d, cosine, initialCodebook: tf.tensor2d(codebook, [k, d]) }),
        ];
        for (const q of quantizers) {
          const input = tf.tensor4d(z, shape);
          const fast = q.nearestIndices(input);
          const full = q.apply(input);
          // EMA with cosine stores unit codes; the search compares unit vectors either way.
          const expected = cosine ? bruteForceNearest(unit(z), unit(codebook), k, d) : bruteForceNearest(z, codebook, k, d);
          assert.deepEqual(fast.shape, [2, 3, 5]);
          assert.deepEqual(Array.from(fast.dataSync()), expected, `${q.constructor.name} cosine ${cosine}`);
          assert.deepEqual(Array.from(fast.dataSync()), Array.from(full.indices.dataSync()));
          tf.dispose([input, fast, ...Object.values(full)]);
          q.dispose();
        }
      }
    }
  });

  it('outputs the chosen codes, and lookup(indices) equals the quantized output', () => {
    const { codebook, vq, input } = setup();
    const out = vq.apply(input);
    const indices = out.indices.dataSync();
    const quantized = out.quantized.dataSync();
    for (let i = 0; i < m; i++) {
      for (let c = 0; c < d; c++) {
        assert.ok(Math.abs(quantized[i * d + c]! - codebook[indices[i]! * d + c]!) < 1e-6);
      }
    }
    // z + (e - z) rounds to e within float32 precision, not always exactly.
    const looked = vq.lookup(out.indices).dataSync();
    looked.forEach((v, i) => assert.ok(Math.abs(v - quantized[i]!) < 1e-6, `lookup[${i}]`));
  });

  it('passes the gradient at the quantized output straight to the encoder output (straight-through)', () => {
    const { vq, input } = setup();
    const upstream = tf.tensor4d(randomArray(m * d, 99), shape);
    // Any function of the quantized output: its gradient w.r.t. z_e must equal its gradient w.r.t. z_q.
    const f = (z: tf.Tensor) => tf.sum(tf.mul(vq.apply(z as tf.Tensor4D).quantized, upstream));
    const [dz] = tf.grads(f)([input]);
    assert.deepEqual(Array.from(dz!.dataSync()), Array.from(upstream.dataSync()));
    // And the codebook receives nothing through that path.
    const { grads } = tf.variableGrads(() => f(input) as tf.Scalar, [vq.codebook]);
    assert.ok(Array.from(Object.values(grads)[0]!.dataSync()).every((v) => v === 0));
  });

  it('computes codebook loss + beta * commitment loss and their gradients as by hand', () => {
    const { codebook, z, vq, input } = setup();
    const nearest = bruteForceNearest(z, codebook, k, d);
    let sq = 0;
    const dz = new Float64Array(m * d);
    const de = new Float64Array(k * d);
    for (let i = 0; i < m; i++) {
      for (let c = 0; c < d; c++) {
        const diff = z[i * d + c]! - codebook[nearest[i]! * d + c]!;
        sq += diff * diff;
        dz[i * d + c] = (0.25 * 2 * diff) / (m * d); // commitment term only reaches z_e
        de[nearest[i]! * d + c] += (-2 * diff) / (m * d); // codebook term only reaches e
      }
    }
    const expected = 1.25 * (sq / (m * d));
    const out = vq.apply(input);
    assert.ok(Math.abs(out.loss.dataSync()[0]! - expected) < 1e-6 * expected);
    assert.ok(Math.abs(out.commitmentLoss.dataSync()[0]! - sq / (m * d)) < 1e-6);
    const [gz] = tf.grads((x: tf.Tensor) => vq.apply(x as tf.Tensor4D).loss)([input]);
    Array.from(gz!.dataSync()).forEach((g, i) => assert.ok(Math.abs(g - dz[i]!) < 1e-7, `dz[${i}]`));
    const { grads } = tf.variableGrads(() => vq.apply(input).loss, [vq.codebook]);
    Array.from(Object.values(grads)[0]!.dataSync()).forEach((g, i) => assert.ok(Math.abs(g - de[i]!) < 1e-7, `de[${i}]`));
  });

  it('reports perplexity and codes used of the batch', () => {
    const codebook = tf.tensor2d([0, 0, 10, 10, -10, 10], [3, 2]);
    const vq = new VectorQuantizer({ codebookSize: 3, codeDim: 2, initialCodebook: codebook });
    // Three vectors near code 0, one near code 1, none near code 2.
    const out = vq.apply(tf.tensor4d([0, 0.1, 0.2, 0, 0, -0.1, 9, 9], [1, 2, 2, 2]));
    const p = [0.75, 0.25];
    const perplexity = Math.exp(-p.reduce((s, q) => s + q * Math.log(q), 0));
    assert.deepEqual(Array.from(out.indices.dataSync()), [0, 0, 0, 1]);
    assert.ok(Math.abs(out.perplexity.dataSync()[0]! - perplexity) < 1e-5);
    assert.equal(out.codesUsed.dataSync()[0], 2);
  });

  it('rejects inputs whose last dimension is not the code dimension, naming both', () => {
    const { vq } = setup();
    assert.throws(() => vq.apply(tf.zeros([1, 2, 2, d + 1]) as tf.Tensor4D), {
      message: `quantizer expects inputs [batch, height, width, ${d}], found [1, 2, 2, ${d + 1}]`,
    });
  });

  it('rejects code indices outside the codebook with a user error', () => {
    const { vq } = setup();
    assert.throws(
      () => vq.lookup(tf.tensor3d([0, 3, k, 1], [1, 2, 2], 'int32')),
      (e: unknown) =>
        e instanceof UserError &&
        e.message === `code index ${k} at position 2 is out of range: the codebook has ${k} codes (0..${k - 1})`,
    );
  });

  it('rejects a codebook size of 0', () => {
    assert.throws(() => new VectorQuantizer({ codebookSize: 0, codeDim: 4 }), {
      message: 'codebook size must be an integer >= 1, found 0',
    });
  });
});
