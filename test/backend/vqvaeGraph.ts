/**
 * A VQ-VAE-shaped training graph built from raw tfjs ops, independent of
 * src/model, for checking that every op a training step needs works on a
 * backend, and for timing a step. Layout after src/model/ (encoder.ts, decoder.ts) / Sonnet's example:
 *
 *   x [b, 28, 28, c]
 *   -> 4x4 s2 explicit pad 1, ReLU (fused)   [b, 14, 14, h/2]
 *   -> 4x4 s2 'same', ReLU                   [b, 7, 7, h]
 *   -> 3x3 'same'                            [b, 7, 7, h]
 *   -> residual: h + 1x1(ReLU(3x3(ReLU(h))))  (3x3 to r, 1x1 back to h)
 *   -> ReLU, 1x1 to d                        z [b, 7, 7, d]
 *   -> nearest code by ||z||^2 - 2 z·Eᵀ + ||e||^2, argMin; gather from E [k, d]
 *   -> straight-through z + stopgrad(q - z); codebook and commitment losses
 *   -> 3x3 'same' to h, residual, ReLU
 *   -> transposed 4x4 s2 'same' to h/2, ReLU  [b, 14, 14, h/2]
 *   -> transposed 4x4 s2 'same' to c          [b, 28, 28, c]
 *   loss = mse(recon, x) + codebook + 0.25 * commitment
 *
 * The code indices are read back and rebuilt off the tape, as the real
 * quantizer does: tfjs cannot differentiate through gather's int32 indices.
 */
import { tf } from '../../src/engine.js';

export interface GraphSizes {
  channels: number;
  hidden: number;
  resHidden: number;
  codeDim: number;
  codebookSize: number;
}

export const REFERENCE_SIZES: GraphSizes = { channels: 1, hidden: 128, resHidden: 32, codeDim: 64, codebookSize: 512 };

export type Params = Record<string, tf.Variable>;

/** Seeded variables; filters [kh, kw, in, out], transposed ones [kh, kw, out, in]. */
export function makeParams(sizes: GraphSizes, seed: number): Params {
  const { channels: c, hidden: h, resHidden: r, codeDim: d, codebookSize: k } = sizes;
  const shapes: Record<string, number[]> = {
    enc1: [4, 4, c, h / 2], enc1b: [h / 2],
    enc2: [4, 4, h / 2, h], enc2b: [h],
    enc3: [3, 3, h, h],
    encRes3: [3, 3, h, r], encRes1: [1, 1, r, h],
    encOut: [1, 1, h, d],
    codebook: [k, d],
    dec1: [3, 3, d, h],
    decRes3: [3, 3, h, r], decRes1: [1, 1, r, h],
    decT1: [4, 4, h / 2, h], decT1b: [h / 2],
    decT2: [4, 4, c, h / 2], decT2b: [c],
  };
  const params: Params = {};
  let s = seed;
  for (const [name, shape] of Object.entries(shapes)) {
    const fanIn = shape.length === 4 ? shape[0]! * shape[1]! * shape[2]! : 16;
    const bound = name === 'codebook' ? 1 : 1 / Math.sqrt(fanIn);
    params[name] = tf.variable(tf.randomUniform(shape, -bound, bound, 'float32', s++), true);
  }
  return params;
}

/** Identity forward, zero gradient: tfjs-core has no stopGradient. */
const stopGradient = tf.customGrad((x) => ({
  value: tf.clone(x as tf.Tensor),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
})) as (x: tf.Tensor) => tf.Tensor;

function residual(p: Params, prefix: string, x: tf.Tensor4D): tf.Tensor4D {
  const inner = tf.conv2d(tf.relu(x), p[`${prefix}3`] as tf.Tensor4D, 1, 'same');
  return tf.add(x, tf.conv2d(tf.relu(inner), p[`${prefix}1`] as tf.Tensor4D, 1, 'valid')) as tf.Tensor4D;
}

export interface StepOutput {
  loss: tf.Scalar;
  indices: tf.Tensor1D;
}

/** The loss of one batch; call inside tf.variableGrads / tf.grads. */
export function vqvaeLoss(p: Params, x: tf.Tensor4D, sizes: GraphSizes): StepOutput {
  const [b, height, width] = x.shape;
  let h = tf.fused.conv2d({
    x, filter: p.enc1 as tf.Tensor4D, strides: 2, pad: [[0, 0], [1, 1], [1, 1], [0, 0]],
    bias: p.enc1b, activation: 'relu',
  });
  h = tf.relu(tf.add(tf.conv2d(h, p.enc2 as tf.Tensor4D, 2, 'same'), p.enc2b as tf.Tensor)) as tf.Tensor4D;
  h = tf.conv2d(h, p.enc3 as tf.Tensor4D, 1, 'same');
  h = residual(p, 'encRes', h);
  const z = tf.conv2d(tf.relu(h), p.encOut as tf.Tensor4D, 1, 'valid');

  const flat = tf.reshape(z, [-1, sizes.codeDim]) as tf.Tensor2D;
  const codebook = p.codebook as tf.Tensor2D;
  const nearest = tf.tidy(() => {
    const distances = tf.add(
      tf.sub(tf.sum(tf.square(flat), 1, true), tf.mul(tf.matMul(flat, codebook, false, true), 2)),
      tf.sum(tf.square(codebook), 1),
    );
    return tf.argMin(distances, 1);
  });
  const indices = tf.tensor1d(nearest.dataSync() as Int32Array, 'int32');
  nearest.dispose();
  const q = tf.gather(codebook, indices);
  const codebookLoss = tf.mean(tf.square(tf.sub(stopGradient(flat), q)));
  const commitmentLoss = tf.mean(tf.squaredDifference(flat, stopGradient(q)));
  const straightThrough = tf.add(flat, stopGradient(tf.sub(q, flat)));

  let g = tf.conv2d(tf.reshape(straightThrough, z.shape) as tf.Tensor4D, p.dec1 as tf.Tensor4D, 1, 'same');
  g = tf.relu(residual(p, 'decRes', g));
  g = tf.relu(tf.add(
    tf.conv2dTranspose(g, p.decT1 as tf.Tensor4D, [b, height / 2, width / 2, sizes.hidden / 2], 2, 'same'),
    p.decT1b as tf.Tensor,
  )) as tf.Tensor4D;
  const recon = tf.add(
    tf.conv2dTranspose(g, p.decT2 as tf.Tensor4D, [b, height, width, sizes.channels], 2, 'same'),
    p.decT2b as tf.Tensor,
  );
  const mse = tf.mean(tf.squaredDifference(recon, x));
  const loss = tf.add(mse, tf.add(codebookLoss, tf.mul(commitmentLoss, 0.25))) as tf.Scalar;
  return { loss, indices };
}

/**
 * The bookkeeping of an EMA quantizer and of metrics (paper appendix): code
 * counts by oneHot and by unsortedSegmentSum, per-code sums, smoothed means,
 * perplexity. Off the gradient path; returns its results for comparison.
 */
export function emaStatistics(flat: tf.Tensor2D, indices: tf.Tensor1D, k: number): tf.Tensor[] {
  return tf.tidy(() => {
    const oneHot = tf.oneHot(indices, k); // [m, k] int32
    const counts = tf.sum(tf.cast(oneHot, 'float32'), 0); // [k]
    const sums = tf.unsortedSegmentSum(flat, indices, k); // [k, d]
    const countsBySegment = tf.unsortedSegmentSum(tf.onesLike(indices), indices, k); // int32 [k]
    const total = tf.sum(counts);
    const smoothed = tf.mul(tf.div(tf.add(counts, 1e-5), tf.add(total, k * 1e-5)), total);
    const means = tf.div(sums, tf.expandDims(smoothed, 1));
    const p = tf.div(counts, total);
    const perplexity = tf.exp(tf.neg(tf.sum(tf.mul(p, tf.log(tf.add(p, 1e-10))))));
    const rms = tf.sqrt(tf.mean(tf.square(flat), [0, 1]));
    return [counts, sums, countsBySegment, means, perplexity, rms];
  });
}

/** One Adam step of the graph on `x`; returns the loss value. */
export function trainStep(p: Params, x: tf.Tensor4D, sizes: GraphSizes, optimizer: tf.Optimizer): number {
  const { value, grads } = tf.variableGrads(() => {
    const out = vqvaeLoss(p, x, sizes);
    out.indices.dispose();
    return out.loss;
  });
  optimizer.applyGradients(Object.entries(grads).map(([name, tensor]) => ({ name, tensor })));
  const loss = value.dataSync()[0]!;
  tf.dispose([value, ...Object.values(grads)]);
  return loss;
}
