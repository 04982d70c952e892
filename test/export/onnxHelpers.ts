/**
 * Helpers for the ONNX tests: small random models saved as model
 * directories, seeded pixels and codes, and running an exported file in
 * onnxruntime-node, which is independent of this project's code.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as ort from 'onnxruntime-node';
import { saveModel } from '../../src/model/checkpoint.js';
import { makeModelConfig, type ModelConfig } from '../../src/model/config.js';
import { pixelsToInput, VqVae } from '../../src/model/vqvae.js';
import { FiniteScalarQuantizer } from '../../src/quantize/fsq.js';
import { ResidualVQ } from '../../src/quantize/rvq.js';
import { SimVQ } from '../../src/quantize/simvq.js';
import { mulberry32 } from '../../src/random.js';

/** Sizes that keep a model small enough for a test (the defaults of src/model/config.ts otherwise). */
export const SMALL = { hidden: 16, resHidden: 8, codebookSize: 32, codeDim: 8 } as const;

/**
 * A freshly initialised model (seeded) saved into `dir`; returns its config.
 * A fresh codebook sits far from a fresh encoder's outputs, so one code
 * would take every vector. Instead each code is drawn uniformly from the box
 * that the encoder's outputs on seeded images fill (per dimension, mean +-
 * sqrt(3) standard deviations), so that images use many codes, and with
 * clear winners: codes copied from encoder outputs would sit so close to
 * similar inputs that float32 rounding (about 1e-8 of ||z||^2) decides
 * between two of them, in one engine one way and in another the other.
 */
export function saveRandomModel(dir: string, overrides: Partial<ModelConfig>, seed: number): ModelConfig {
  const model = new VqVae(makeModelConfig({ ...SMALL, ...overrides }), seed);
  const { imageHeight: H, imageWidth: W, inputChannels: C, codebookSize: K, codeDim: D } = model.config;
  const batch = 8;
  const x = pixelsToInput(testImages(batch, H, W, C, seed + 1), batch, H, W, C);
  const encoded = model.encode(x);
  const pool = encoded.dataSync() as Float32Array;
  tf.dispose([x, encoded]);
  const { mean, std } = moments(pool, D);
  const bias = model.state()['encoder.pre_quantize.bias']!;
  bias.assign(tf.tidy(() => tf.sub(bias, tf.tensor1d(mean))));
  const rng = mulberry32(seed + 2);
  const box = (scale: number) =>
    tf.tensor2d(Float32Array.from({ length: K * D }, (_, i) => (rng() * 2 - 1) * Math.sqrt(3) * std[i % D]! * scale), [K, D]);
  const q = model.quantizer;
  if (q instanceof ResidualVQ) {
    // Each codebook on the scale of what the ones before it leave, roughly halving.
    q.layers.forEach((layer, i) => layer.codebook.assign(box(0.5 ** i)));
  } else if (q instanceof SimVQ) {
    // C W = C: the frozen codebook in the box, W the identity.
    q.codebook.assign(box(1));
    q.transform.weight.assign(tf.eye(D));
  } else if (q instanceof FiniteScalarQuantizer) {
    // No codebook to place: the encoder's outputs scaled to unit spread, so the bound spreads them over the levels.
    const spread = std.reduce((a, b) => a + b, 0) / D;
    for (const name of ['encoder.pre_quantize.weight', 'encoder.pre_quantize.bias']) {
      const v = model.state()[name]!;
      v.assign(tf.tidy(() => tf.div(v, spread)));
    }
  } else {
    q.codebook.assign(box(1));
  }
  saveModel(dir, model);
  const config = model.config;
  model.dispose();
  return config;
}

/** Mean and standard deviation of each of the D dimensions of the vectors in `pool`. */
function moments(pool: Float32Array, D: number): { mean: number[]; std: number[] } {
  const count = pool.length / D;
  const mean = new Array<number>(D).fill(0);
  const std = new Array<number>(D).fill(0);
  for (let i = 0; i < pool.length; i++) mean[i % D]! += pool[i]! / count;
  for (let i = 0; i < pool.length; i++) std[i % D]! += (pool[i]! - mean[i % D]!) ** 2 / count;
  return { mean, std: std.map(Math.sqrt) };
}

/**
 * `batch` seeded images, each a random brightness and gradient plus noise,
 * so that their encoder outputs spread out more than those of pure noise.
 */
export function testImages(batch: number, height: number, width: number, channels: number, seed: number): Uint8Array {
  const rng = mulberry32(seed);
  const pixels = new Uint8Array(batch * height * width * channels);
  let i = 0;
  for (let b = 0; b < batch; b++) {
    const base = rng() * 255;
    const gx = (rng() - 0.5) * 8;
    const gy = (rng() - 0.5) * 8;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        for (let c = 0; c < channels; c++) {
          const v = base + gx * x + gy * y + (rng() - 0.5) * 60;
          pixels[i++] = Math.max(0, Math.min(255, Math.round(v)));
        }
      }
    }
  }
  return pixels;
}

/** `count` seeded values in 0..limit-1. */
export function seededInts(count: number, limit: number, seed: number): number[] {
  const rng = mulberry32(seed);
  return Array.from({ length: count }, () => Math.floor(rng() * limit));
}

/** Runs the ONNX file on `feeds` and returns every output. */
export async function runOnnx(file: string, feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
  const session = await ort.InferenceSession.create(file);
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

export { ort };
