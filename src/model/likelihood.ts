/**
 * The categorical pixel likelihood (`likelihood: 'categorical'`, as in the
 * PixelCNN and VQ-VAE papers' bits-per-dimension figures): the decoder gives
 * 256 logits for every pixel value, p(x|z) = prod softmax(logits)[byte].
 *
 * Axes: b - batch, H, W - image, C - image channels, v - the 256 byte values.
 * Logits are [b, H, W, C, 256]; images are in the model's input scale
 * x = byte / 255 - 0.5, from which the bytes are recovered exactly.
 *
 * - reconstruction shown and scored by MSE: the mean of the categorical,
 *   sum_v p(v) (v / 255 - 0.5), in input scale;
 * - training loss: -log p(x|z) averaged over pixel values, in nats (so it does
 *   not grow with the image size); in bits per dimension it is that / ln 2.
 */
import '../engine.js';
import * as tf from '@tensorflow/tfjs-core';
import { PIXEL_LEVELS } from './decoder.js';

/** Decoder output [b, H, W, C * 256] → logits [b, H, W, C, 256]. */
export function pixelLogits(raw: tf.Tensor4D, channels: number): tf.Tensor5D {
  const [b, h, w] = raw.shape;
  return tf.reshape(raw, [b, h, w, channels, PIXEL_LEVELS]);
}

/** The categorical's mean in input scale, [b, H, W, C]. */
export function categoricalMean(logits: tf.Tensor5D): tf.Tensor4D {
  return tf.tidy(() => {
    const levels = tf.sub(tf.div(tf.range(0, PIXEL_LEVELS, 1, 'float32'), PIXEL_LEVELS - 1), 0.5);
    return tf.sum(tf.mul(tf.softmax(logits), levels), -1) as tf.Tensor4D;
  });
}

/** Images in input scale → their bytes as int32 (exact: round((x + 0.5) * 255)). */
export function pixelBytes(x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => tf.cast(tf.round(tf.mul(tf.add(x, 0.5), PIXEL_LEVELS - 1)), 'int32') as tf.Tensor4D);
}

/** -log p(byte) of every pixel value, in nats: [b, H, W, C]. */
export function pixelNll(logits: tf.Tensor5D, x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const picked = tf.mul(tf.logSoftmax(logits), tf.oneHot(pixelBytes(x), PIXEL_LEVELS));
    return tf.neg(tf.sum(picked, -1)) as tf.Tensor4D;
  });
}
