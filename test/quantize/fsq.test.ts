import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { UserError } from '../../src/errors.js';
import { checkLevels, FiniteScalarQuantizer } from '../../src/quantize/fsq.js';
import { mulberry32 } from '../../src/random.js';

function randomArray(n: number, seed: number, scale = 1): Float32Array {
  const rng = mulberry32(seed);
  return Float32Array.from({ length: n }, () => (rng() * 2 - 1) * scale);
}

/** The paper's bound in float64, per scalar of L levels: (bounded value, d bounded / d z). */
function boundByHand(z: number, L: number): { bounded: number; slope: number } {
  const halfL = ((L - 1) * 1.001) / 2;
  const offset = L % 2 === 0 ? 0.5 : 0;
  const shift = Math.atanh(offset / halfL);
  const t = Math.tanh(z + shift);
  return { bounded: t * halfL - offset, slope: (1 - t * t) * halfL };
}

describe('FiniteScalarQuantizer', () => {
  before(async () => {
    await tf.setBackend('cpu');
  });

  it('maps every index 0..K-1 to a distinct grid code and back (a bijection over all K = 8*5*5*5)', () => {
    const levels = [8, 5, 5, 5];
    const fsq = new FiniteScalarQuantizer({ levels, codeDim: 4 });
    const K = 1000;
    assert.equal(fsq.codebookSize, K);
    const all = tf.tensor3d(Int32Array.from({ length: K }, (_, i) => i), [1, 1, K], 'int32');
    const codes = fsq.lookup(all).dataSync();
    // Each code by the mixed-radix formula, first scalar fastest: level_i = floor(k / prod_{j<i} L_j) mod L_i.
    const seen = new Set<string>();
    const inputs = new Float32Array(K * 4);
    for (let k = 0; k < K; k++) {
      let place = 1;
      const key: number[] = [];
      for (let c = 0; c < 4; c++) {
        const L = levels[c]!;
        const level = Math.floor(k / place) % L;
        place *= L;
        const half = Math.floor(L / 2);
        assert.equal(codes[k * 4 + c], Math.fround((level - half) / half), `code ${k}, scalar ${c}`);
        key.push(level);
        // An input whose bound lands exactly on that level: z = atanh((v + offset) / half_l) - shift.
        const halfL = ((L - 1) * 1.001) / 2;
        const offset = L % 2 === 0 ? 0.5 : 0;
        inputs[k * 4 + c] = Math.atanh((level - half + offset) / halfL) - Math.atanh(offset / halfL);
      }
      seen.add(key.join(','));
    }
    assert.equal(seen.size, K);
    const out = fsq.apply(tf.tensor4d(inputs, [1, 1, K, 4]));
    assert.deepEqual(Array.from(out.indices.dataSync()), Array.from({ length: K }, (_, i) => i));
    assert.deepEqual(Array.from(out.quantized.dataSync()), Array.from(codes));
    assert.equal(out.codesUsed.dataSync()[0], K);
    assert.ok(Math.abs(out.perplexity.dataSync()[0]! - K) < 1e-2 * K);
    fsq.dispose();
  });

  it('bounds, rounds and passes the gradient straight through the round, as worked by hand', () => {
    const levels = [5, 4]; // an odd and an even level count
    const fsq = new FiniteScalarQuantizer({ levels, codeDim: 2 });
    const z = Float32Array.of(0, 0, 0.3, -0.7, 2.0, -3.0, -0.6, 0.25, 0.9, 1.4, -1.2, 0.05);
    const m = z.length / 2;
    const upstream = randomArray(z.length, 5);
    const expectedCodes: number[] = [];
    const expectedIndices: number[] = [];
    const expectedGrad: number[] = [];
    for (let i = 0; i < m; i++) {
      let index = 0;
      let place = 1;
      for (let c = 0; c < 2; c++) {
        const L = levels[c]!;
        const half = Math.floor(L / 2);
        const { bounded, slope } = boundByHand(z[i * 2 + c]!, L);
        const rounded = Math.round(bounded);
        assert.ok(Math.abs(bounded - rounded) < 0.49, 'no example sits near a rounding boundary');
        expectedCodes.push(rounded / half);
        index += (rounded + half) * place;
        place *= L;
        // round_ste: d code / d z = d bounded / d z / (L // 2).
        expectedGrad.push((upstream[i * 2 + c]! * slope) / half);
      }
      expectedIndices.push(index);
    }
    // A few of those by eye: z = 0 is the middle level of both (index 2 + 2 * 5 = 12).
    assert.equal(expectedIndices[0], 12);
    assert.deepEqual(expectedCodes.slice(0, 2), [0, 0]);

    const input = tf.tensor4d(z, [1, 2, 3, 2]);
    const out = fsq.apply(input);
    assert.deepEqual(out.indices.shape, [1, 2, 3]);
    assert.deepEqual(Array.from(out.indices.dataSync()), expectedIndices);
    Array.from(out.quantized.dataSync()).forEach((v, i) => assert.equal(v, Math.fround(expectedCodes[i]!), `code ${i}`));
    assert.equal(out.loss.dataSync()[0], 0);
    const g = tf.tensor4d(upstream, [1, 2, 3, 2]);
    const [dz] = tf.grads((x: tf.Tensor) => tf.sum(tf.mul(fsq.apply(x as tf.Tensor4D).quantized, g)))([input]);
    Array.from(dz!.dataSync()).forEach((v, i) => assert.ok(Math.abs(v - expectedGrad[i]!) < 1e-5, `dz[${i}] ${v} vs ${expectedGrad[i]}`));
    fsq.dispose();
  });

  it('keeps indices in range for inputs far outside the bound (the corner codes)', () => {
    const fsq = new FiniteScalarQuantizer({ levels: [4, 3], codeDim: 2 });
    const out = fsq.apply(tf.tensor4d([-1e4, -1e4, 1e4, 1e4, -1e4, 1e4], [1, 1, 3, 2]));
    // levels 0,0 → 0; 3,2 → 3 + 2 * 4 = 11; 0,2 → 8.
    assert.deepEqual(Array.from(out.indices.dataSync()), [0, 11, 8]);
    fsq.dispose();
  });

  it('projects D to len(levels) and back when they differ; lookup(indices) equals the quantized output', () => {
    const fsq = new FiniteScalarQuantizer({ levels: [8, 8, 8], codeDim: 6, seed: 3 });
    const state = fsq.state();
    assert.deepEqual(
      Object.fromEntries(Object.entries(state).map(([n, v]) => [n, v.shape])),
      {
        'quantizer.project_in.weight': [6, 3],
        'quantizer.project_in.bias': [3],
        'quantizer.project_out.weight': [3, 6],
        'quantizer.project_out.bias': [6],
      },
    );
    const input = tf.tensor4d(randomArray(2 * 3 * 3 * 6, 8, 2), [2, 3, 3, 6]);
    const out = fsq.apply(input);
    assert.deepEqual(out.quantized.shape, [2, 3, 3, 6]);
    const looked = fsq.lookup(out.indices).dataSync();
    Array.from(out.quantized.dataSync()).forEach((v, i) => assert.ok(Math.abs(v - looked[i]!) < 1e-6, `[${i}]`));
    // The projections learn: the gradient of a function of the output reaches both.
    const { grads } = tf.variableGrads(() => tf.sum(tf.square(fsq.apply(input).quantized)) as tf.Scalar, Object.values(fsq.trainable()));
    for (const [name, grad] of Object.entries(grads)) {
      assert.ok(Array.from(grad.dataSync()).some((v) => v !== 0), `gradient of ${name}`);
    }
    fsq.dispose();
  });

  it('rejects levels that are not integers >= 2 and indices outside 0..K-1, as user errors', () => {
    for (const levels of [[1, 5], [2.5], []]) {
      assert.throws(() => checkLevels(levels), (e: unknown) => e instanceof UserError && /FSQ levels must be integers >= 2/.test(e.message));
    }
    const fsq = new FiniteScalarQuantizer({ levels: [3, 3], codeDim: 2 });
    assert.throws(() => fsq.lookup(tf.tensor3d([0, 9], [1, 1, 2], 'int32')), (e: unknown) => e instanceof UserError && /code index 9 at position 1/.test(e.message));
    fsq.dispose();
  });
});
