/**
 * An image data set held in memory as raw 8-bit pixels.
 *
 * Shape contract: `images` is row-major [count, height, width, channels]
 * (NHWC), one byte per value in 0..255; `labels` is [count], the class index
 * of each image, or -1 where the source has no labels. A batch of 128 MNIST
 * digits is 128 * 28 * 28 * 1 bytes; the model scales them to floats itself.
 */
export type Split = 'train' | 'test';

export interface ImageDataset {
  /** The SPEC it was loaded from, e.g. `mnist` or `folder:/data/cifar10-jpg`. */
  readonly spec: string;
  readonly split: Split;
  readonly count: number;
  readonly height: number;
  readonly width: number;
  /** 1 (grey) or 3 (RGB). */
  readonly channels: number;
  /** [count, height, width, channels], values 0..255. */
  readonly images: Uint8Array;
  /** [count] class indices, -1 where unknown. */
  readonly labels: Int32Array;
  /** Names of the classes, index-aligned with `labels`, where known. */
  readonly classNames?: readonly string[];
}

export interface LoadOptions {
  /** Which split to read; default 'train'. */
  split?: Split;
  /** Keep only the first N items, in the data set's own order. */
  limit?: number;
  /**
   * Folder data only: resize every image to [height, width] (bilinear).
   * Without it, an image whose size differs from the first one is an error.
   */
  resize?: readonly [number, number];
  /**
   * Called as image files are decoded (folder data, the one slow source:
   * 50,000 JPEGs take about 10 s), with the count done and the total.
   */
  onProgress?: (done: number, total: number) => void;
}
