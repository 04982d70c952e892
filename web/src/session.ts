/**
 * The model as the page uses it: images in, code grids out, and back. A model
 * has one or more code levels, each a grid [h, w] of indices into its own
 * codebook: one for the paper's model (VQ, EMA, SimVQ, FSQ alike), one per
 * depth for residual VQ (whose codes are [h, w, depth]: level d is the d-th
 * codebook's grid), top and bottom for a two-level VQ-VAE-2 model (an rvq
 * level of it one grid per depth, "top depth 1", ...). Shapes:
 * pixels are bytes [n, H, W, C], each level's codes an Int32Array [n, h, w]
 * (raster order). Every call frees its tensors. Built on the library's
 * models, as the CLI is.
 */
import * as tf from '@tensorflow/tfjs-core';
import { outputToPixels, pixelsToInput, type HierarchicalVqVae, type ModelConfig, type VqVae } from 'vqvae';

/** One code grid of the model. */
export interface CodeLevel {
  /** What the page calls it: "codes", "depth 2", "top", "bottom". */
  name: string;
  height: number;
  width: number;
  codebookSize: number;
}

/** The two model kinds behind one shape: level tensors [n, h, w] in and out. */
interface LevelCoder {
  readonly config: ModelConfig;
  readonly levels: CodeLevel[];
  encode(x: tf.Tensor4D): tf.Tensor3D[];
  decode(levels: tf.Tensor3D[]): tf.Tensor4D;
  dispose(): void;
}

function oneLevelCoder(vqvae: VqVae): LevelCoder {
  const [height, width] = vqvae.codeGrid;
  const depth = vqvae.codeDepth;
  const codebookSize = vqvae.config.codebookSize;
  const levels =
    depth === 1
      ? [{ name: 'codes', height, width, codebookSize }]
      : Array.from({ length: depth }, (_, d) => ({ name: `depth ${d + 1}`, height, width, codebookSize }));
  return {
    config: vqvae.config,
    levels,
    // RVQ indices are [n, h, w, depth]: level d is the slice [..., d].
    encode: (x) => tf.tidy(() => {
      const indices = vqvae.encodeIndices(x);
      return depth === 1 ? [indices as tf.Tensor3D] : tf.unstack(indices, 3) as tf.Tensor3D[];
    }),
    decode: (grids) => tf.tidy(() => vqvae.decodeIndices(depth === 1 ? grids[0]! : (tf.stack(grids, 3) as tf.Tensor4D))),
    dispose: () => vqvae.dispose(),
  };
}

function twoLevelCoder(vqvae: HierarchicalVqVae): LevelCoder {
  const { model, top: topSizes } = vqvae.config;
  const sizes = { top: topSizes.codebookSize, bottom: model.codebookSize };
  const shapes = vqvae.codeShapes;
  // An rvq level's indices [n, h, w, depth] are `depth` grids on the page, as one level's (oneLevelCoder).
  const depthOf = (level: 'top' | 'bottom') => shapes[level][2] ?? 1;
  const levels = (['top', 'bottom'] as const).flatMap((level) => {
    const [height, width] = shapes[level] as [number, number];
    const depth = depthOf(level);
    return Array.from({ length: depth }, (_, d) => ({ name: depth === 1 ? level : `${level} depth ${d + 1}`, height, width, codebookSize: sizes[level] }));
  });
  const split = (indices: tf.Tensor, depth: number): tf.Tensor3D[] => (depth === 1 ? [indices as tf.Tensor3D] : (tf.unstack(indices, 3) as tf.Tensor3D[]));
  const join = (grids: tf.Tensor3D[]): tf.Tensor3D | tf.Tensor4D => (grids.length === 1 ? grids[0]! : (tf.stack(grids, 3) as tf.Tensor4D));
  return {
    config: model,
    levels,
    encode: (x) => tf.tidy(() => {
      const indices = vqvae.encodeIndices(x);
      return [...split(indices.top, depthOf('top')), ...split(indices.bottom, depthOf('bottom'))];
    }),
    decode: (grids) => tf.tidy(() => vqvae.decodeIndices({ top: join(grids.slice(0, depthOf('top'))), bottom: join(grids.slice(depthOf('top'))) })),
    dispose: () => vqvae.dispose(),
  };
}

/** A loaded image model: a one-level VqVae (any quantizer) or a two-level HierarchicalVqVae. */
export type ImageModel = { kind: 'vqvae'; vqvae: VqVae } | { kind: 'vqvae2'; vqvae: HierarchicalVqVae };

export class ModelSession {
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly levels: readonly CodeLevel[];
  private readonly coder: LevelCoder;

  constructor(model: ImageModel) {
    this.coder = model.kind === 'vqvae' ? oneLevelCoder(model.vqvae) : twoLevelCoder(model.vqvae);
    const c = this.coder.config;
    this.height = c.imageHeight;
    this.width = c.imageWidth;
    this.channels = c.inputChannels;
    this.levels = this.coder.levels;
  }

  /** The first level's grid and codebook (the only one of a one-level model with one code per cell). */
  get gridHeight(): number {
    return this.levels[0]!.height;
  }

  get gridWidth(): number {
    return this.levels[0]!.width;
  }

  get codebookSize(): number {
    return this.levels[0]!.codebookSize;
  }

  get imageSize(): { height: number; width: number; channels: number } {
    return { height: this.height, width: this.width, channels: this.channels };
  }

  /** Code indices of n images, one Int32Array [n, h, w] per level. */
  async encode(pixels: Uint8Array, n = 1): Promise<Int32Array[]> {
    const x = pixelsToInput(pixels, n, this.height, this.width, this.channels);
    const levels = this.coder.encode(x);
    x.dispose();
    const out: Int32Array[] = [];
    for (const t of levels) out.push(Int32Array.from((await t.data()) as Int32Array));
    tf.dispose(levels);
    return out;
  }

  /** Images decoded from n images' codes, one Int32Array [n, h, w] per level. */
  async decode(codes: readonly Int32Array[], n = 1): Promise<Uint8Array> {
    const grids = this.levels.map((level, i) => tf.tensor3d(codes[i]!, [n, level.height, level.width], 'int32'));
    try {
      const out = this.coder.decode(grids);
      await out.data();
      const pixels = outputToPixels(out);
      out.dispose();
      return pixels;
    } finally {
      tf.dispose(grids);
    }
  }

  /**
   * How many times each code of each level is picked over a batch of images,
   * in chunks of `chunk`, awaiting `beforeChunk` before each (so the page can
   * stay responsive).
   */
  async usage(images: Uint8Array, count: number, chunk = 64, beforeChunk?: () => Promise<void>): Promise<Int32Array[]> {
    const counts = this.levels.map((level) => new Int32Array(level.codebookSize));
    const size = this.height * this.width * this.channels;
    for (let start = 0; start < count; start += chunk) {
      await beforeChunk?.();
      const n = Math.min(chunk, count - start);
      const codes = await this.encode(images.subarray(start * size, (start + n) * size), n);
      codes.forEach((level, i) => {
        for (const k of level) counts[i]![k]!++;
      });
    }
    return counts;
  }

  /**
   * Codes [first, first + n) of `level` each decoded alone: that level's
   * whole grid set to the code, the other levels keeping `base` (one image's
   * codes, e.g. those of the empty canvas).
   */
  async codeImages(level: number, first: number, n: number, base: readonly Int32Array[]): Promise<Uint8Array> {
    const codes = this.levels.map((l, i) => {
      const cells = l.height * l.width;
      const out = new Int32Array(n * cells);
      for (let j = 0; j < n; j++) {
        if (i === level) out.fill(first + j, j * cells, (j + 1) * cells);
        else out.set(base[i]!, j * cells);
      }
      return out;
    });
    return this.decode(codes, n);
  }

  dispose(): void {
    this.coder.dispose();
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
