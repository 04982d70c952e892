/**
 * The prior's negative log-likelihood of code grids: the mean over grids and
 * positions of -log p(z_i | z_<i, class), in nats (the training loss) and in
 * bits per code (nats / ln 2). A uniform prior over K codes costs log2 K bits
 * per code (9 for K = 512), the yardstick for a trained one.
 */
import '../engine.js';
import * as tf from '@tensorflow/tfjs-core';
import { shareOf, type ShardedSum } from '../distributed/shard.js';
import { sliceCodes, type CodeSet } from './codeSet.js';
import type { PixelCnn } from './pixelcnn.js';

/** Sum over every position of -log softmax(logits)[code], [n, h, w] → scalar, in nats. */
export function codeNllSum(prior: PixelCnn, codes: tf.Tensor3D, labels?: tf.Tensor1D, top?: tf.Tensor3D): tf.Scalar {
  return tf.tidy(() => {
    const logProbabilities = tf.logSoftmax(prior.logits(codes, labels, top));
    const picked = tf.mul(logProbabilities, tf.oneHot(codes, prior.config.codebookSize));
    return tf.neg(tf.sum(picked)) as tf.Scalar;
  });
}

/** Mean -log p per code in nats over a batch: the training loss. */
export function codeNllMean(prior: PixelCnn, codes: tf.Tensor3D, labels?: tf.Tensor1D, top?: tf.Tensor3D): tf.Scalar {
  return tf.tidy(() => tf.div(codeNllSum(prior, codes, labels, top), codes.size));
}

export interface NllResult {
  natsPerCode: number;
  bitsPerCode: number;
  /** Grids scored. */
  grids: number;
}

export interface NllOptions {
  /** Grids per forward pass (default 256). */
  batch?: number;
  /** Only the first N grids. */
  limit?: number;
  onProgress?: (done: number, total: number) => void;
  /** The processes of a data-parallel run: each scores its share of the grids, the sums are combined. */
  communicator?: ShardedSum;
}

/** The prior's NLL over a set of grids, summed in float64. Changes nothing. */
export function priorNll(prior: PixelCnn, set: CodeSet, options: NllOptions = {}): NllResult {
  const batch = options.batch ?? 256;
  const total = Math.min(set.count, options.limit ?? set.count);
  const comm = options.communicator;
  const [first, last] = comm ? shareOf(total, comm.rank, comm.size) : [0, total];
  let nats = 0;
  for (let start = first; start < last; start += batch) {
    const end = Math.min(last, start + batch);
    const { codes, labels, top } = sliceCodes(set, start, end);
    nats += tf.tidy(() => codeNllSum(prior, codes, labels, top).dataSync()[0]!);
    tf.dispose([codes, ...(labels ? [labels] : []), ...(top ? [top] : [])]);
    options.onProgress?.(end - first, last - first);
  }
  if (comm && comm.size > 1) nats = comm.allReduceSum([nats])[0]!;
  const natsPerCode = nats / (total * set.height * set.width);
  return { natsPerCode, bitsPerCode: natsPerCode / Math.LN2, grids: total };
}
