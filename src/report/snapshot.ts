/**
 * A picture of the model at one step for the report: the first 16 test images
 * over their reconstructions (a PNG as a data: URL) and the code usage on up
 * to 512 test images.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ImageDataset } from '../data/dataset.js';
import { encodeComparisonGrid } from '../io/pngGrid.js';
import type { VqVae } from '../model/vqvae.js';
import { outputToPixels } from '../model/vqvae.js';
import { codeCounts } from '../quantize/ops.js';
import { sliceImages } from '../train/batches.js';
import type { EvalMetrics } from '../train/evaluate.js';
import type { Snapshot } from './trainingReport.js';

const GRID_IMAGES = 16;
const USAGE_IMAGES = 512;
const CHUNK = 128;

export function takeSnapshot(model: VqVae, data: ImageDataset, step: number, metrics: EvalMetrics): Snapshot {
  const { height, width, channels } = data;
  const n = Math.min(GRID_IMAGES, data.count);
  const x = sliceImages(data, 0, n);
  const out = model.forward(x);
  const pixels = outputToPixels(out.reconstruction);
  tf.dispose([x, ...Object.values(out)]);
  const png = encodeComparisonGrid(data.images.subarray(0, n * height * width * channels), pixels, n, height, width, channels, {
    columns: 8,
    upscale: height < 64 ? 2 : 1,
  });

  const k = model.config.codebookSize;
  const usage = new Float64Array(k);
  const m = Math.min(USAGE_IMAGES, data.count);
  for (let start = 0; start < m; start += CHUNK) {
    const counts = tf.tidy(() => {
      const batch = sliceImages(data, start, Math.min(start + CHUNK, m));
      return codeCounts(model.encodeIndices(batch), k);
    });
    counts.dataSync().forEach((c, i) => (usage[i]! += c));
    counts.dispose();
  }
  return {
    step,
    mse: metrics.mse,
    psnrDb: metrics.psnrDb,
    perplexity: metrics.perplexity,
    codesUsed: metrics.codesUsed,
    images: metrics.images,
    grid: `data:image/png;base64,${Buffer.from(png).toString('base64')}`,
    usage: Array.from(usage),
    usageImages: m,
  };
}
