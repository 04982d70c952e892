/**
 * The rotation trick (Fifty et al. 2024, "Restructuring Vector Quantization
 * with the Rotation Trick", section 4): the forward pass gives the nearest
 * code q exactly, as the straight-through estimator does, but the gradient
 * that reaches the encoder output e is the gradient at q carried back by the
 * rotation and scaling that take e to q, with both treated as constants:
 *
 *   q~ = sg(lambda R) e,   lambda = ||q|| / ||e||,
 *   R = I - 2 r r^T + 2 q^ e^^T,   e^ = e/||e||, q^ = q/||q||, r = (e^ + q^)/||e^ + q^||
 *
 * R is a rotation with R e^ = q^, so q~ = q. Backward, d/de = lambda R^T dy,
 * computed without forming R (the paper's section 4.2):
 *
 *   R^T dy = dy - 2 r (r . dy) + 2 e^ (q^ . dy)
 *
 * Inside the codebook's own loss the code q still learns by that loss; the
 * trick gives q nothing, like sg(q - e) in the straight-through estimator.
 *
 * Axis legend: m - vectors, d - code dimension.
 */
import * as tf from '@tensorflow/tfjs-core';

/** A tiny norm floor: a zero vector has no direction, and gets lambda R = 0 instead of NaN. */
const EPS = 1e-12;

function unit(x: tf.Tensor2D): { unit: tf.Tensor2D; norm: tf.Tensor2D } {
  const norm = tf.sqrt(tf.sum(tf.square(x), 1, true)) as tf.Tensor2D; // [m, 1]
  return { unit: tf.div(x, tf.maximum(norm, EPS)) as tf.Tensor2D, norm };
}

/**
 * Rows `codes` [m, d] (the nearest code of each row of `vectors` [m, d]) in
 * the forward pass; the rotation trick's gradient to `vectors` backward, and
 * no gradient to `codes`.
 */
export const rotateToCodes: (vectors: tf.Tensor2D, codes: tf.Tensor2D) => tf.Tensor2D = tf.customGrad(
  (vectors, codes, save) => {
    void save;
    const e = vectors as tf.Tensor2D;
    const q = codes as tf.Tensor2D;
    return {
      value: tf.clone(q),
      gradFunc: (dy: tf.Tensor) => {
        const g = dy as tf.Tensor2D;
        const { unit: eHat, norm: eNorm } = unit(e);
        const { unit: qHat, norm: qNorm } = unit(q);
        const { unit: r } = unit(tf.add(eHat, qHat) as tf.Tensor2D);
        const lambda = tf.div(qNorm, tf.maximum(eNorm, EPS));
        const rDot = tf.sum(tf.mul(r, g), 1, true);
        const qDot = tf.sum(tf.mul(qHat, g), 1, true);
        const rotated = tf.add(tf.sub(g, tf.mul(tf.mul(r, rDot), 2)), tf.mul(tf.mul(eHat, qDot), 2));
        return [tf.mul(rotated, lambda), tf.zerosLike(q)];
      },
    };
  },
) as (vectors: tf.Tensor2D, codes: tf.Tensor2D) => tf.Tensor2D;
