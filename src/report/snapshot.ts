/**
 * A picture of the model at one step for the report: the first 16 test images
 * over their reconstructions (a PNG as a data: URL) and the code usage on up
 * to 512 test images; for a two-level model (model/hierarchical.ts) the
 * bottom level's usage as for one level and the top level's beside it.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ImageDataset } from '../data/dataset.js';
import { encodeComparisonGrid } from '../io/pngGrid.js';
import type { HierarchicalVqVae } from '../model/hierarchical.js';
import type { VqVae } from '../model/vqvae.js';
import { outputToPixels } from '../model/vqvae.js';
import { codeCounts } from '../quantize/ops.js';
import { sliceImages } from '../train/batches.js';
import type { EvalMetrics } from '../train/evaluate.js';
import type { HierarchicalEvalMetrics } from '../train/hierarchicalEvaluate.js';
import type { Snapshot } from './trainingReport.js';

const GRID_IMAGES = 16;
const USAGE_IMAGES = 512;
const CHUNK = 128;

/** A forward pass's reconstruction, every other tensor of it disposed. */
function reconstructionOf(out: { reconstruction: tf.Tensor4D }): tf.Tensor4D {
  const { reconstruction, ...rest } = out;
  tf.dispose(tensorsOf(rest));
  return reconstruction;
}

/** The first test images over `reconstruct`'s output, as a PNG data: URL. */
function comparisonGrid(data: ImageDataset, reconstruct: (x: tf.Tensor4D) => tf.Tensor4D): string {
  const { height, width, channels } = data;
  const n = Math.min(GRID_IMAGES, data.count);
  const x = sliceImages(data, 0, n);
  const reconstruction = reconstruct(x);
  const pixels = outputToPixels(reconstruction);
  tf.dispose([x, reconstruction]);
  const png = encodeComparisonGrid(data.images.subarray(0, n * height * width * channels), pixels, n, height, width, channels, {
    columns: 8,
    upscale: height < 64 ? 2 : 1,
  });
  return `data:image/png;base64,${Buffer.from(png).toString('base64')}`;
}

/** Times each code of each codebook (sizes[j] codes) was picked on the first test images; indicesOf gives a batch's indices per codebook. */
function codeUsage(data: ImageDataset, sizes: number[], indicesOf: (x: tf.Tensor4D) => tf.Tensor[]): { usage: number[][]; images: number } {
  const usage = sizes.map((k) => new Float64Array(k));
  const m = Math.min(USAGE_IMAGES, data.count);
  for (let start = 0; start < m; start += CHUNK) {
    const counts = tf.tidy(() => {
      const batch = sliceImages(data, start, Math.min(start + CHUNK, m));
      return indicesOf(batch).map((indices, j) => codeCounts(indices, sizes[j]!));
    });
    counts.forEach((c, j) => c.dataSync().forEach((v, i) => (usage[j]![i]! += v)));
    tf.dispose(counts);
  }
  return { usage: usage.map((u) => Array.from(u)), images: m };
}

export function takeSnapshot(model: VqVae, data: ImageDataset, step: number, metrics: EvalMetrics): Snapshot {
  const grid = comparisonGrid(data, (x) => reconstructionOf(model.forward(x)));
  const { usage, images } = codeUsage(data, [model.config.codebookSize], (x) => [model.encodeIndices(x)]);
  const { mse, psnrDb, perplexity, codesUsed } = metrics;
  return { step, mse, psnrDb, perplexity, codesUsed, images: metrics.images, grid, usage: usage[0]!, usageImages: images };
}

/** The two-level model's snapshot: perplexity, codes used and usage are the bottom level's; `top` the top level's. */
export function takeLevelsSnapshot(model: HierarchicalVqVae, data: ImageDataset, step: number, metrics: HierarchicalEvalMetrics): Snapshot {
  const grid = comparisonGrid(data, (x) => reconstructionOf(model.forward(x)));
  const sizes = [model.config.model.codebookSize, model.config.top.codebookSize];
  const { usage, images } = codeUsage(data, sizes, (x) => {
    const { top, bottom } = model.encodeIndices(x);
    return [bottom, top];
  });
  const { mse, psnrDb, bottom, top } = metrics;
  return {
    step, mse, psnrDb, perplexity: bottom.perplexity, codesUsed: bottom.codesUsed, images: metrics.images, grid,
    usage: usage[0]!, usageImages: images,
    top: { perplexity: top.perplexity, codesUsed: top.codesUsed, usage: usage[1]! },
  };
}

/** Every tensor in a (nested) forward output. */
function tensorsOf(value: unknown): tf.Tensor[] {
  if (value instanceof tf.Tensor) return [value];
  if (value && typeof value === 'object') return Object.values(value).flatMap(tensorsOf);
  return [];
}
