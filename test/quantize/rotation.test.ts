import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { VectorQuantizer } from '../../src/quantize/vectorQuantizer.js';
import { mulberry32 } from '../../src/random.js';

function randomArray(n: number, seed: number): Float32Array {
  const rng = mulberry32(seed);
  return Float32Array.from({ length: n }, () => rng() * 2 - 1);
}

/**
 * The paper's formula (Fifty et al. 2024, eq. 4 and section 4.1) as a d x d
 * matrix in float64: q~ = lambda R e with R = I - 2 r r^T + 2 q^ e^^T,
 * r = (e^ + q^)/||e^ + q^||, lambda = ||q||/||e||; with lambda R a constant,
 * d(c . q~)/de = (lambda R)^T c.
 */
function paperGradient(e: number[], q: number[], c: number[]): { gradient: number[]; rotatedUnit: number[] } {
  const d = e.length;
  const norm = (v: number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  const eHat = e.map((x) => x / norm(e));
  const qHat = q.map((x) => x / norm(q));
  const sum = eHat.map((x, i) => x + qHat[i]!);
  const r = sum.map((x) => x / norm(sum));
  const lambda = norm(q) / norm(e);
  const R: number[][] = [];
  for (let i = 0; i < d; i++) {
    R.push([]);
    for (let j = 0; j < d; j++) R[i]!.push((i === j ? 1 : 0) - 2 * r[i]! * r[j]! + 2 * qHat[i]! * eHat[j]!);
  }
  const gradient = Array.from({ length: d }, (_, j) => {
    let s = 0;
    for (let i = 0; i < d; i++) s += lambda * R[i]![j]! * c[i]!;
    return s;
  });
  const rotatedUnit = Array.from({ length: d }, (_, i) => R[i]!.reduce((s, x, j) => s + x * eHat[j]!, 0));
  return { gradient, rotatedUnit };
}

describe('rotation trick', () => {
  before(async () => {
    await tf.setBackend('cpu');
  });

  const k = 8;
  const d = 5;
  const shape: [number, number, number, number] = [1, 2, 3, d];
  const m = 6;

  it('outputs the nearest code exactly, and gives the encoder the gradient of the paper\'s formula', () => {
    const codebook = randomArray(k * d, 11);
    const z = randomArray(m * d, 12);
    const c = randomArray(m * d, 13); // the upstream gradient: loss = sum(c * quantized)
    const vq = new VectorQuantizer({ codebookSize: k, codeDim: d, gradient: 'rotation', initialCodebook: tf.tensor2d(codebook, [k, d]) });
    const input = tf.tensor4d(z, shape);
    const out = vq.apply(input);
    const indices = Array.from(out.indices.dataSync());
    const quantized = out.quantized.dataSync();
    for (let i = 0; i < m; i++) {
      assert.deepEqual(Array.from(quantized.subarray(i * d, i * d + d)), Array.from(codebook.subarray(indices[i]! * d, indices[i]! * d + d)));
    }
    const [grad] = tf.grads((x: tf.Tensor) => tf.sum(tf.mul(vq.apply(x as tf.Tensor4D).quantized, tf.tensor4d(c, shape))))([input]);
    const ours = grad!.dataSync();
    for (let i = 0; i < m; i++) {
      const e = Array.from(z.subarray(i * d, i * d + d));
      const q = Array.from(codebook.subarray(indices[i]! * d, indices[i]! * d + d));
      const { gradient, rotatedUnit } = paperGradient(e, q, Array.from(c.subarray(i * d, i * d + d)));
      // The matrix is the rotation that takes e^ to q^.
      const qNorm = Math.sqrt(q.reduce((s, x) => s + x * x, 0));
      rotatedUnit.forEach((v, j) => assert.ok(Math.abs(v - q[j]! / qNorm) < 1e-12));
      gradient.forEach((g, j) => assert.ok(Math.abs(ours[i * d + j]! - g) < 1e-5, `vector ${i} dim ${j}: ${ours[i * d + j]} vs ${g}`));
      // And it is not the straight-through gradient (which would be c itself).
      assert.ok(gradient.some((g, j) => Math.abs(g - c[i * d + j]!) > 1e-3));
    }
    vq.dispose();
  });

  it('gives the codebook only the codebook loss\'s gradient, as straight-through does', () => {
    const codebook = randomArray(k * d, 21);
    const z = randomArray(m * d, 22);
    const gradOf = (gradient: 'ste' | 'rotation') => {
      const vq = new VectorQuantizer({ codebookSize: k, codeDim: d, gradient, initialCodebook: tf.tensor2d(codebook, [k, d]) });
      const { grads } = tf.variableGrads(() => {
        const out = vq.apply(tf.tensor4d(z, shape));
        return tf.add(out.loss, tf.sum(out.quantized)) as tf.Scalar;
      }, [vq.codebook]);
      const values = Array.from(Object.values(grads)[0]!.dataSync());
      vq.dispose();
      return values;
    };
    assert.deepEqual(gradOf('rotation'), gradOf('ste'));
  });
});
