/**
 * Batches of a data set in a seeded order that `--resume` can pick up again.
 *
 * Epoch e visits the images in permutation(seed, e); step s (from 0) takes
 * the (s mod B)-th slice of `batch` images of epoch floor(s / B), with
 * B = floor(count / batch) full batches per epoch (the remainder waits for a
 * later epoch's shuffle). So the batch at step s depends only on the seed and
 * s, and a resumed run sees exactly the batches the uninterrupted one would.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ImageDataset } from '../data/dataset.js';
import { shareOf } from '../distributed/shard.js';
import { UserError } from '../errors.js';
import { pixelsToInput } from '../model/vqvae.js';
import { mulberry32, permutation } from '../random.js';

/**
 * The seeded order alone, for any data held as `count` items (images, code
 * grids): `indicesAt(step)` gives the items of step `step`.
 */
export class EpochOrder {
  readonly batchesPerEpoch: number;
  private epoch = -1;
  private order: Int32Array = new Int32Array(0);

  /**
   * `share` [rank, ranks]: a data-parallel rank's part of every batch, the
   * same order cut in `ranks` equal contiguous parts (src/distributed/shard.ts).
   */
  constructor(readonly count: number, readonly batch: number, readonly seed: number, readonly share: readonly [number, number] = [0, 1]) {
    if (!Number.isInteger(batch) || batch < 1) throw new UserError(`--batch must be an integer >= 1, found ${batch}`);
    if (batch > count) throw new UserError(`--batch ${batch} is larger than the data (${count} items)`);
    this.batchesPerEpoch = Math.floor(count / batch);
  }

  /** Indices of the items of step `step` (this share's part of them). */
  indicesAt(step: number): Int32Array {
    const epoch = Math.floor(step / this.batchesPerEpoch);
    if (epoch !== this.epoch) {
      // Mix seed and epoch so that neighbouring seeds give unrelated orders.
      this.order = permutation(this.count, mulberry32((this.seed * 0x9e3779b1 + epoch * 0x85ebca6b) >>> 0));
      this.epoch = epoch;
    }
    const start = (step % this.batchesPerEpoch) * this.batch;
    const [from, to] = shareOf(this.batch, ...this.share);
    return this.order.subarray(start + from, start + to);
  }
}

export class BatchSampler {
  readonly batchesPerEpoch: number;
  private readonly order: EpochOrder;

  constructor(readonly data: ImageDataset, readonly batch: number, readonly seed: number, share: readonly [number, number] = [0, 1]) {
    if (!Number.isInteger(batch) || batch < 1) throw new UserError(`--batch must be an integer >= 1, found ${batch}`);
    if (batch > data.count) {
      throw new UserError(`--batch ${batch} is larger than the data: ${data.spec} (${data.split}) has ${data.count} images`);
    }
    this.order = new EpochOrder(data.count, batch, seed, share);
    this.batchesPerEpoch = this.order.batchesPerEpoch;
  }

  /** Indices into the data set of the images of step `step`. */
  indicesAt(step: number): Int32Array {
    return this.order.indicesAt(step);
  }

  /** The batch of step `step` as model input [batch, H, W, C]. */
  batchAt(step: number): tf.Tensor4D {
    return gatherImages(this.data, this.indicesAt(step));
  }
}

/** Images at `indices` as model input [n, H, W, C]. */
export function gatherImages(data: ImageDataset, indices: ArrayLike<number>): tf.Tensor4D {
  const size = data.height * data.width * data.channels;
  const pixels = new Uint8Array(indices.length * size);
  for (let i = 0; i < indices.length; i++) {
    const start = indices[i]! * size;
    pixels.set(data.images.subarray(start, start + size), i * size);
  }
  return pixelsToInput(pixels, indices.length, data.height, data.width, data.channels);
}

/** Images [start, end) as model input. */
export function sliceImages(data: ImageDataset, start: number, end: number): tf.Tensor4D {
  const size = data.height * data.width * data.channels;
  return pixelsToInput(data.images.subarray(start * size, end * size), end - start, data.height, data.width, data.channels);
}

/** Variance of the pixels scaled to [0, 1]: Sonnet divides the reconstruction MSE by it. */
export function pixelVariance(data: ImageDataset): number {
  let sum = 0;
  let sumSquares = 0;
  const { images } = data;
  for (let i = 0; i < images.length; i++) {
    const v = images[i]!;
    sum += v;
    sumSquares += v * v;
  }
  const n = images.length;
  const mean = sum / n;
  return (sumSquares / n - mean * mean) / (255 * 255);
}
