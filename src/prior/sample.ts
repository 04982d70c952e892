/**
 * Ancestral sampling from the PixelCNN prior in raster order: for each
 * position y*w + x in turn, the logits there given the codes filled so far,
 * divided by the temperature, a softmax, and one draw per grid. The draws
 * come from the seeded generator of random.ts, so a seed repeats the samples
 * exactly on one backend.
 *
 * Cost: per row, one pass of the vertical stack over the rows so far
 * (`PixelCnn.rowContext`: what it gives row y depends only on the rows
 * above), then per position one pass of the horizontal stack over that row
 * alone (`logitsOfRow`); 64 grids of 7x7 cost about 5 full forward passes
 * at batch 64, not 49.
 */
import '../engine.js';
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../errors.js';
import { mulberry32 } from '../random.js';
import type { PixelCnn } from './pixelcnn.js';

export interface SampleOptions {
  /** Number of grids to draw. */
  n: number;
  /** One class for every grid (class-conditional priors). */
  classLabel?: number;
  /** A class per grid [n], instead of `classLabel`. */
  labels?: Int32Array;
  /** Divides the logits: below 1 sharper, above 1 flatter; default 1 (the model's distribution). */
  temperature?: number;
  /** Seed of the draws; default 0. */
  seed?: number;
  /** Called after each position is filled (raster order), for drawing the grids as they fill. */
  onPosition?: (codes: Int32Array, position: number) => void | Promise<void>;
  /** The top-level grids [n, ht, wt] to draw bottom grids for (a prior conditioned on a top grid). */
  top?: Int32Array;
}

/** The labels of each grid, checked against the prior; undefined for an unconditional prior. */
export function sampleLabels(prior: PixelCnn, options: Pick<SampleOptions, 'n' | 'classLabel' | 'labels'>): Int32Array | undefined {
  const { numClasses } = prior.config;
  const { n } = options;
  if (numClasses === 0) {
    if (options.classLabel !== undefined || options.labels !== undefined) {
      throw new UserError('this prior is unconditional (trained without labels): it takes no class');
    }
    return undefined;
  }
  let labels: Int32Array;
  if (options.labels !== undefined) {
    if (options.labels.length !== n) throw new UserError(`labels: expected ${n} (one per sample), found ${options.labels.length}`);
    labels = options.labels;
  } else if (options.classLabel !== undefined) {
    labels = new Int32Array(n).fill(options.classLabel);
  } else {
    throw new UserError(`this prior is conditioned on ${numClasses} classes: give a class in 0..${numClasses - 1}`);
  }
  for (const label of labels) {
    if (!Number.isInteger(label) || label < 0 || label >= numClasses) {
      throw new UserError(`class ${label} is out of range: the prior knows ${numClasses} classes (0..${numClasses - 1})`);
    }
  }
  return labels;
}

/** Draws `n` code grids; returns them row-major [n, h, w]. */
export async function samplePrior(prior: PixelCnn, options: SampleOptions): Promise<Int32Array> {
  const { n } = options;
  const { height: h, width: w, codebookSize: K } = prior.config;
  const temperature = options.temperature ?? 1;
  if (!Number.isInteger(n) || n < 1) throw new UserError(`the number of samples must be an integer >= 1, found ${n}`);
  if (!(temperature > 0) || !Number.isFinite(temperature)) throw new UserError(`temperature must be a number > 0, found ${temperature}`);
  const labelValues = sampleLabels(prior, options);
  const top = topTensor(prior, n, options.top);
  const rng = mulberry32(options.seed ?? 0);
  const codes = new Int32Array(n * h * w);
  const labels = labelValues ? tf.tensor1d(labelValues, 'int32') : undefined;
  const probabilities = new Float64Array(K);
  try {
    for (let y = 0; y < h; y++) {
      // The vertical stack's part of row y depends only on rows above: once per row.
      const rows = new Int32Array(n * (y + 1) * w);
      for (let i = 0; i < n; i++) rows.set(codes.subarray(i * h * w, i * h * w + (y + 1) * w), i * (y + 1) * w);
      const context = tf.tidy(() => prior.rowContext(tf.tensor3d(rows, [n, y + 1, w], 'int32'), labels, top));
      try {
        const row = new Int32Array(n * w);
        for (let x = 0; x < w; x++) {
          for (let i = 0; i < n; i++) row.set(codes.subarray(i * h * w + y * w, i * h * w + (y + 1) * w), i * w);
          const logits = tf.tidy(() => {
            const all = prior.logitsOfRow(tf.tensor3d(row, [n, 1, w], 'int32'), context, labels);
            return tf.slice(all, [0, 0, x, 0], [n, 1, 1, K]).dataSync() as Float32Array;
          });
          for (let i = 0; i < n; i++) {
            codes[i * h * w + y * w + x] = draw(logits.subarray(i * K, (i + 1) * K), temperature, probabilities, rng());
          }
          await options.onPosition?.(codes, y * w + x);
        }
      } finally {
        tf.dispose(context);
      }
    }
  } finally {
    labels?.dispose();
    top?.dispose();
  }
  return codes;
}

/** The top grids as a tensor [n, ht, wt], checked against the prior; undefined for a prior without a top grid. */
function topTensor(prior: PixelCnn, n: number, top: Int32Array | undefined): tf.Tensor3D | undefined {
  const { topCodebookSize: Kt, topHeight: ht, topWidth: wt } = prior.config;
  if (Kt === 0) {
    if (top) throw new UserError('this prior is not conditioned on a top code grid: it takes no top codes');
    return undefined;
  }
  if (!top) throw new UserError(`this prior draws bottom grids given ${ht}x${wt} top grids: give the top codes`);
  if (top.length !== n * ht * wt) throw new UserError(`top codes: expected ${n} grids of ${ht}x${wt} (${n * ht * wt} codes), found ${top.length}`);
  const bad = top.findIndex((v) => v < 0 || v >= Kt);
  if (bad >= 0) throw new UserError(`top code ${top[bad]} at ${bad} is out of range: the prior knows ${Kt} top codes`);
  return tf.tensor3d(top, [n, ht, wt], 'int32');
}

export interface LevelSamples {
  /** [n, ht, wt] */
  top: Int32Array;
  /** [n, hb, wb] */
  bottom: Int32Array;
}

/**
 * The two-level model's ancestral sampling (VQ-VAE-2, section 3.2): top
 * grids from the top prior, then bottom grids from the bottom prior given
 * them, with the same classes and temperature; the bottom draws use seed + 1.
 */
export async function sampleLevels(
  topPrior: PixelCnn,
  bottomPrior: PixelCnn,
  options: Omit<SampleOptions, 'top'> & { onLevel?: (level: 'top' | 'bottom') => void },
): Promise<LevelSamples> {
  const { topCodebookSize, topHeight, topWidth } = bottomPrior.config;
  const { codebookSize, height, width } = topPrior.config;
  if (topCodebookSize === 0 || topHeight !== height || topWidth !== width || topCodebookSize < codebookSize) {
    throw new UserError(
      `the bottom prior expects ${topHeight}x${topWidth} top grids of ${topCodebookSize} codes but the top prior draws ${height}x${width} of ${codebookSize}`,
    );
  }
  options.onLevel?.('top');
  const top = await samplePrior(topPrior, options);
  options.onLevel?.('bottom');
  const bottom = await samplePrior(bottomPrior, { ...options, top, seed: (options.seed ?? 0) + 1 });
  return { top, bottom };
}

/** Inverse-CDF draw from softmax(logits / temperature), in float64. */
function draw(logits: Float32Array, temperature: number, scratch: Float64Array, u: number): number {
  let max = -Infinity;
  for (let k = 0; k < logits.length; k++) max = Math.max(max, logits[k]!);
  let total = 0;
  for (let k = 0; k < logits.length; k++) {
    scratch[k] = Math.exp((logits[k]! - max) / temperature);
    total += scratch[k]!;
  }
  let target = u * total;
  for (let k = 0; k < logits.length; k++) {
    target -= scratch[k]!;
    if (target < 0) return k;
  }
  // Rounding left a sliver above the last code: take the last one with mass.
  for (let k = logits.length - 1; k >= 0; k--) if (scratch[k]! > 0) return k;
  return logits.length - 1;
}
