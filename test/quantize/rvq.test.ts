import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { UserError } from '../../src/errors.js';
import { ResidualVQ } from '../../src/quantize/rvq.js';
import { VectorQuantizer } from '../../src/quantize/vectorQuantizer.js';
import { VectorQuantizerEMA } from '../../src/quantize/vectorQuantizerEma.js';
import { mulberry32 } from '../../src/random.js';

function randomArray(n: number, seed: number, scale = 1): Float32Array {
  const rng = mulberry32(seed);
  return Float32Array.from({ length: n }, () => (rng() * 2 - 1) * scale);
}

/** Index of the nearest row of `codebook` [k, d] to `r` [d], in float64. */
function nearest(r: Float64Array, codebook: Float32Array, k: number, d: number): number {
  let best = 0;
  let bestDistance = Infinity;
  for (let j = 0; j < k; j++) {
    let s = 0;
    for (let c = 0; c < d; c++) s += (r[c]! - codebook[j * d + c]!) ** 2;
    if (s < bestDistance) [best, bestDistance] = [j, s];
  }
  return best;
}

describe('ResidualVQ', () => {
  before(async () => {
    await tf.setBackend('cpu');
  });

  const k = 16;
  const d = 4;
  const depth = 4;
  const shape: [number, number, number, number] = [2, 4, 5, d];
  const m = 2 * 4 * 5;

  /**
   * Codebooks fitted level by level in float64 as a residual quantizer is
   * meant to be (each a jittered sample of the residuals the levels before it leave),
   * and the greedy residual search over them: indices and the mean squared
   * error ||z - (e_0 + ... + e_i)||^2 after each level.
   */
  function fitted(z: Float32Array) {
    const codebooks: Float32Array[] = [];
    const residual = Float64Array.from(z);
    const chosen: number[][] = [];
    const errors: number[] = [];
    const rng = mulberry32(77);
    for (let level = 0; level < depth; level++) {
      const book = new Float32Array(k * d);
      for (let j = 0; j < k; j++) {
        const from = Math.floor(rng() * m);
        // Jittered, so that no residual is met exactly and no two codes tie.
        for (let c = 0; c < d; c++) book[j * d + c] = residual[from * d + c]! * (1 + 0.1 * (rng() - 0.5));
      }
      codebooks.push(book);
      const picks: number[] = [];
      let error = 0;
      for (let i = 0; i < m; i++) {
        const r = residual.subarray(i * d, (i + 1) * d);
        const j = nearest(r, book, k, d);
        picks.push(j);
        for (let c = 0; c < d; c++) {
          r[c] = r[c]! - book[j * d + c]!;
          error += r[c]! ** 2;
        }
      }
      chosen.push(picks);
      errors.push(error / (m * d));
    }
    return { codebooks, chosen, errors };
  }

  function make(codebooks: Float32Array[]) {
    return new ResidualVQ({
      codebookSize: k,
      codeDim: d,
      depth,
      layer: (i, o) => new VectorQuantizer({ ...o, initialCodebook: tf.tensor2d(codebooks[i]!, [k, d]) }),
    });
  }

  it('picks, level by level, the nearest code of each residual; the error does not grow with depth', () => {
    const z = randomArray(m * d, 21);
    const { codebooks, chosen, errors } = fitted(z);
    const rvq = make(codebooks);
    const out = rvq.apply(tf.tensor4d(z, shape));
    assert.deepEqual(out.indices.shape, [2, 4, 5, depth]);
    const indices = out.indices.dataSync();
    for (let level = 0; level < depth; level++) {
      assert.deepEqual(Array.from({ length: m }, (_, i) => indices[i * depth + level]), chosen[level], `level ${level}`);
    }
    for (let level = 1; level < depth; level++) {
      assert.ok(errors[level]! <= errors[level - 1]!, `error at depth ${level + 1}: ${errors[level]} > ${errors[level - 1]}`);
    }
    assert.ok(errors[depth - 1]! < 0.5 * errors[0]!, `depth ${depth} error ${errors[depth - 1]} vs depth 1 ${errors[0]}`);
    // The quantized output's own error is the last level's.
    const q = out.quantized.dataSync();
    const error = z.reduce((s, v, i) => s + (v - q[i]!) ** 2, 0) / (m * d);
    assert.ok(Math.abs(error - errors[depth - 1]!) < 1e-6, `${error} vs ${errors[depth - 1]}`);
    rvq.dispose();
  });

  it('lookup(indices) equals the quantized output; the encoder gets the gradient straight through', () => {
    const rvq = new ResidualVQ({ codebookSize: k, codeDim: d, depth, seed: 5 });
    const input = tf.tensor4d(randomArray(m * d, 22, 0.5), shape);
    const out = rvq.apply(input);
    const q = out.quantized.dataSync();
    Array.from(rvq.lookup(out.indices as tf.Tensor4D).dataSync()).forEach((v, i) => assert.ok(Math.abs(v - q[i]!) < 1e-6, `[${i}]`));
    const upstream = tf.tensor4d(randomArray(m * d, 23), shape);
    const [dz] = tf.grads((x: tf.Tensor) => tf.sum(tf.mul(rvq.apply(x as tf.Tensor4D).quantized, upstream)))([input]);
    Array.from(dz!.dataSync()).forEach((v, i) => assert.ok(Math.abs(v - upstream.dataSync()[i]!) < 1e-6, `dz[${i}]`));
    rvq.dispose();
  });

  it('adds up the layers\' losses, each (1 + beta) times the mean squared error of its residual', () => {
    const z = randomArray(m * d, 24);
    const { codebooks, errors } = fitted(z);
    const rvq = make(codebooks);
    const loss = rvq.apply(tf.tensor4d(z, shape)).loss.dataSync()[0]!;
    // Layer i's residual is what levels 0..i-1 leave; its error is errors[i].
    const expected = errors.reduce((s, e) => s + 1.25 * e, 0);
    assert.ok(Math.abs(loss - expected) < 1e-5 * expected, `${loss} vs ${expected}`);
    // Every codebook learns: the loss reaches each one.
    const { grads } = tf.variableGrads(() => rvq.apply(tf.tensor4d(z, shape)).loss, Object.values(rvq.trainable()));
    assert.equal(Object.keys(grads).length, depth);
    for (const g of Object.values(grads)) assert.ok(Array.from(g.dataSync()).some((v) => v !== 0));
    assert.deepEqual(Object.keys(rvq.state()), [0, 1, 2, 3].map((i) => `quantizer.layers.${i}.codebook`));
    rvq.dispose();
  });

  it('updates EMA layers each on the residual the forward pass gave it, from the codes before the update', () => {
    const z = randomArray(m * d, 25);
    const { codebooks } = fitted(z);
    const ema = (i: number) => new VectorQuantizerEMA({ codebookSize: k, codeDim: d, decay: 0.5, initialCodebook: tf.tensor2d(codebooks[i]!, [k, d]) });
    const rvq = new ResidualVQ({ codebookSize: k, codeDim: d, depth, layer: (i) => ema(i) });
    const input = tf.tensor4d(z, shape);
    const out = rvq.apply(input);
    const indices = out.indices.dataSync();
    rvq.update(input, out.indices);
    // Each layer alone, updated on r_i = z - e_0 - ... - e_{i-1} with the codebooks as they were.
    const residual = Float32Array.from(z);
    for (let level = 0; level < depth; level++) {
      const alone = ema(level);
      const picks = Int32Array.from({ length: m }, (_, i) => indices[i * depth + level]!);
      alone.update(tf.tensor4d(residual, shape), tf.tensor3d(picks, [2, 4, 5], 'int32'));
      const layer = rvq.layers[level]! as VectorQuantizerEMA;
      assert.deepEqual(Array.from(layer.codebook.dataSync()), Array.from(alone.codebook.dataSync()), `layer ${level}`);
      assert.notDeepEqual(Array.from(layer.codebook.dataSync()), Array.from(codebooks[level]!), `layer ${level} moved`);
      for (let i = 0; i < m; i++) for (let c = 0; c < d; c++) residual[i * d + c] = residual[i * d + c]! - codebooks[level]![picks[i]! * d + c]!;
      alone.dispose();
    }
    rvq.dispose();
  });

  it('rejects codes of another shape with a user error naming the expected one', () => {
    const rvq = new ResidualVQ({ codebookSize: k, codeDim: d, depth });
    assert.throws(
      () => rvq.lookup(tf.zeros([1, 2, 2], 'int32') as tf.Tensor3D),
      (e: unknown) => e instanceof UserError && e.message === 'codes of this residual quantizer must be [batch, height, width, 4], found [1, 2, 2]',
    );
    assert.throws(() => new ResidualVQ({ codebookSize: k, codeDim: d, depth: 0 }), /RVQ depth must be an integer >= 1, found 0/);
    rvq.dispose();
  });
});
