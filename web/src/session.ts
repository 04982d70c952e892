/**
 * The model as the page uses it: images in, code grids out, and back. Shapes:
 * pixels are bytes [n, H, W, C], code grids Int32Array [n, h, w] (raster order).
 * Every call frees its tensors. Built on the library's VqVae, as the CLI is.
 */
import * as tf from '@tensorflow/tfjs-core';
import { outputToPixels, pixelsToInput, type VqVae } from 'vqvae';

export class ModelSession {
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly gridHeight: number;
  readonly gridWidth: number;
  readonly codebookSize: number;

  constructor(readonly vqvae: VqVae) {
    const c = vqvae.config;
    this.height = c.imageHeight;
    this.width = c.imageWidth;
    this.channels = c.inputChannels;
    [this.gridHeight, this.gridWidth] = vqvae.codeGrid;
    this.codebookSize = c.codebookSize;
  }

  get imageSize(): { height: number; width: number; channels: number } {
    return { height: this.height, width: this.width, channels: this.channels };
  }

  /** Code indices of n images. */
  async encode(pixels: Uint8Array, n = 1): Promise<Int32Array> {
    const x = pixelsToInput(pixels, n, this.height, this.width, this.channels);
    const indices = this.vqvae.encodeIndices(x);
    x.dispose();
    const values = (await indices.data()) as Int32Array;
    indices.dispose();
    return Int32Array.from(values);
  }

  /** Images decoded from n code grids. */
  async decode(codes: Int32Array, n = 1): Promise<Uint8Array> {
    const indices = tf.tensor3d(codes, [n, this.gridHeight, this.gridWidth], 'int32');
    try {
      const out = this.vqvae.decodeIndices(indices);
      await out.data();
      const pixels = outputToPixels(out);
      out.dispose();
      return pixels;
    } finally {
      indices.dispose();
    }
  }

  /**
   * How many times each code is picked over a batch of images, in chunks of
   * `chunk`, awaiting `beforeChunk` before each (so the page can stay responsive).
   */
  async usage(images: Uint8Array, count: number, chunk = 64, beforeChunk?: () => Promise<void>): Promise<Int32Array> {
    const counts = new Int32Array(this.codebookSize);
    const size = this.height * this.width * this.channels;
    for (let start = 0; start < count; start += chunk) {
      await beforeChunk?.();
      const n = Math.min(chunk, count - start);
      const codes = await this.encode(images.subarray(start * size, (start + n) * size), n);
      for (const k of codes) counts[k]!++;
    }
    return counts;
  }

  /** Codes [first, first + n) each decoded alone: the whole grid set to that one code. */
  async codeImages(first: number, n: number): Promise<Uint8Array> {
    const cells = this.gridHeight * this.gridWidth;
    const codes = new Int32Array(n * cells);
    for (let i = 0; i < n; i++) codes.fill(first + i, i * cells, (i + 1) * cells);
    return this.decode(codes, n);
  }

  dispose(): void {
    this.vqvae.dispose();
  }
}

/** Perplexity exp(H) of code usage counts, and how many codes are used at all. */
export function usageSummary(counts: Int32Array): { perplexity: number; used: number; total: number } {
  let total = 0;
  let used = 0;
  for (const c of counts) {
    total += c;
    if (c > 0) used++;
  }
  let entropy = 0;
  for (const c of counts) if (c > 0) entropy -= (c / total) * Math.log(c / total);
  return { perplexity: Math.exp(entropy), used, total };
}
