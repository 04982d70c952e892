/**
 * Image grids as PNG files: many small images (MNIST digits, CIFAR pictures,
 * reconstructions, samples) tiled into one picture.
 *
 * Shape contract: `images` is row-major [count, height, width, channels]
 * (NHWC, as `ImageDataset.images`), one byte per value in 0..255, channels 1
 * (written as a greyscale PNG) or 3 (RGB). Image i goes to cell
 * (row = floor(i / columns), column = i % columns), left to right, top to
 * bottom; cells are `upscale` times the image size (nearest neighbour) and
 * `padding` pixels of `background` surround every cell.
 *
 * Example: 64 MNIST digits, 8 columns, upscale 2, padding 2 give an
 * 8 * 56 + 9 * 2 = 466 pixel square.
 *
 * `encodeComparisonGrid` interleaves two sets, for `vqvae reconstruct`: a row
 * of originals, below it the row of their reconstructions, then a wider gap
 * before the next pair of rows.
 */
import { PNG, type ColorType } from 'pngjs';

export interface GridOptions {
  /** Cells per row; default ceil(sqrt(count)), a near-square grid. */
  columns?: number;
  /** Pixels of background around and between cells; default 2. */
  padding?: number;
  /** Grey level (0..255) of padding and empty cells; default 255 (white). */
  background?: number;
  /** Integer nearest-neighbour magnification, so 28x28 digits are visible; default 1. */
  upscale?: number;
  /** After every `every` rows of cells, `gap` extra pixels of background. */
  rowBreaks?: { every: number; gap: number };
}

export interface ComparisonGridOptions extends Omit<GridOptions, 'rowBreaks'> {
  /** Extra background pixels between one original/reconstruction pair of rows and the next; default 3 * padding. */
  pairGap?: number;
}

/** A decoded PNG, always as RGBA. */
export interface DecodedPng {
  width: number;
  height: number;
  /** Row-major [height, width, 4]. */
  rgba: Uint8Array;
}

const DEFAULTS = { padding: 2, background: 255, upscale: 1 };

/** Where an image comes from and which cell it fills. */
interface Placement {
  images: Uint8Array;
  index: number;
  row: number;
  column: number;
}

/** Sizes shared by every cell; validated once. */
interface Geometry {
  height: number;
  width: number;
  channels: number;
  rows: number;
  columns: number;
  padding: number;
  upscale: number;
  background: number;
  rowBreaks: { every: number; gap: number } | undefined;
}

function checkInteger(name: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`pngGrid: ${name} must be an integer in [${min}, ${max}]; found ${value}`);
  }
}

function checkImages(name: string, images: Uint8Array, count: number, height: number, width: number, channels: number): void {
  checkInteger('count', count, 1);
  checkInteger('height', height, 1);
  checkInteger('width', width, 1);
  if (channels !== 1 && channels !== 3) {
    throw new RangeError(`pngGrid: channels must be 1 (grey) or 3 (RGB); found ${channels}`);
  }
  const expected = count * height * width * channels;
  if (images.length !== expected) {
    throw new RangeError(
      `pngGrid: ${name} has ${images.length} values; expected count*height*width*channels = ${count}*${height}*${width}*${channels} = ${expected}`,
    );
  }
}

function geometry(
  count: number,
  height: number,
  width: number,
  channels: number,
  options: GridOptions,
  rowsPerImageRow = 1,
): Geometry {
  const columns = options.columns ?? Math.ceil(Math.sqrt(count));
  const padding = options.padding ?? DEFAULTS.padding;
  const upscale = options.upscale ?? DEFAULTS.upscale;
  const background = options.background ?? DEFAULTS.background;
  checkInteger('columns', columns, 1);
  checkInteger('padding', padding, 0);
  checkInteger('upscale', upscale, 1);
  checkInteger('background', background, 0, 255);
  if (options.rowBreaks) {
    checkInteger('rowBreaks.every', options.rowBreaks.every, 1);
    checkInteger('rowBreaks.gap', options.rowBreaks.gap, 0);
  }
  const rows = Math.ceil(count / columns) * rowsPerImageRow;
  return { height, width, channels, rows, columns, padding, upscale, background, rowBreaks: options.rowBreaks };
}

/** Extra pixels above cell row `row` from the row breaks before it. */
function breaksAbove(g: Geometry, row: number): number {
  return g.rowBreaks ? Math.floor(row / g.rowBreaks.every) * g.rowBreaks.gap : 0;
}

/** The top-left pixel of a cell. */
function cellOrigin(g: Geometry, row: number, column: number): { x: number; y: number } {
  return {
    x: g.padding + column * (g.width * g.upscale + g.padding),
    y: g.padding + row * (g.height * g.upscale + g.padding) + breaksAbove(g, row),
  };
}

function canvasSize(g: Geometry): { width: number; height: number } {
  // A break after the last row would only add a blank band at the bottom.
  return {
    width: g.padding + g.columns * (g.width * g.upscale + g.padding),
    height: g.padding + g.rows * (g.height * g.upscale + g.padding) + breaksAbove(g, g.rows - 1),
  };
}

/** Copies one image into its cell, each source pixel becoming an upscale x upscale block. */
function drawCell(canvas: Uint8Array, canvasWidth: number, g: Geometry, p: Placement): void {
  const { x, y } = cellOrigin(g, p.row, p.column);
  const c = g.channels;
  const imageSize = g.height * g.width * c;
  const source = p.images.subarray(p.index * imageSize, (p.index + 1) * imageSize);
  for (let sy = 0; sy < g.height; sy++) {
    const sourceRow = source.subarray(sy * g.width * c, (sy + 1) * g.width * c);
    // Build the first scaled line of this source row, then repeat it.
    const firstLine = (y + sy * g.upscale) * canvasWidth * c;
    for (let sx = 0; sx < g.width; sx++) {
      const pixel = sourceRow.subarray(sx * c, sx * c + c);
      for (let u = 0; u < g.upscale; u++) {
        canvas.set(pixel, firstLine + (x + sx * g.upscale + u) * c);
      }
    }
    const lineStart = firstLine + x * c;
    const lineLength = g.width * g.upscale * c;
    for (let v = 1; v < g.upscale; v++) {
      canvas.copyWithin(lineStart + v * canvasWidth * c, lineStart, lineStart + lineLength);
    }
  }
}

/** Draws the placements on a background canvas and encodes it as PNG. */
function render(g: Geometry, placements: Placement[]): Uint8Array {
  const size = canvasSize(g);
  const canvas = Buffer.alloc(size.width * size.height * g.channels, g.background);
  for (const placement of placements) drawCell(canvas, size.width, g, placement);
  return writePng(canvas, size.width, size.height, g.channels);
}

/**
 * Encodes raw 8-bit pixels, row-major [height, width, channels], channels 1
 * (greyscale PNG) or 3 (RGB PNG), without an alpha channel.
 */
export function writePng(pixels: Uint8Array, width: number, height: number, channels: number): Uint8Array {
  if (channels !== 1 && channels !== 3) {
    throw new RangeError(`writePng: channels must be 1 or 3; found ${channels}`);
  }
  if (pixels.length !== width * height * channels) {
    throw new RangeError(`writePng: expected ${width}*${height}*${channels} = ${width * height * channels} values, found ${pixels.length}`);
  }
  const colorType: ColorType = channels === 1 ? 0 : 2;
  // Only width, height and data are read by the sync packer; the constructor
  // is left without a size so it does not allocate an RGBA buffer we discard.
  const png = new PNG();
  png.width = width;
  png.height = height;
  png.data = Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength);
  return PNG.sync.write(png, { colorType, inputColorType: colorType, inputHasAlpha: false, bitDepth: 8 });
}

/**
 * Tiles `count` images (see the file header for the layout) into one PNG.
 * Returns the PNG file's bytes.
 */
export function encodeImageGrid(
  images: Uint8Array,
  count: number,
  height: number,
  width: number,
  channels: number,
  options: GridOptions = {},
): Uint8Array {
  checkImages('images', images, count, height, width, channels);
  const g = geometry(count, height, width, channels, options);
  const placements = Array.from({ length: count }, (_, index) => ({
    images,
    index,
    row: Math.floor(index / g.columns),
    column: index % g.columns,
  }));
  return render(g, placements);
}

/**
 * Originals above their reconstructions: band b holds originals
 * [b * columns, (b + 1) * columns) in its top row and the matching
 * reconstructions in the row below; bands are `pairGap` pixels further apart.
 * Both arrays are [count, height, width, channels].
 */
export function encodeComparisonGrid(
  originals: Uint8Array,
  reconstructions: Uint8Array,
  count: number,
  height: number,
  width: number,
  channels: number,
  options: ComparisonGridOptions = {},
): Uint8Array {
  checkImages('originals', originals, count, height, width, channels);
  checkImages('reconstructions', reconstructions, count, height, width, channels);
  const padding = options.padding ?? DEFAULTS.padding;
  const rowBreaks = { every: 2, gap: options.pairGap ?? 3 * padding };
  // Default columns: about as wide as a square grid of the pairs would be tall.
  const columns = options.columns ?? Math.ceil(Math.sqrt(2 * count));
  const g = geometry(count, height, width, channels, { ...options, columns, rowBreaks }, 2);
  const placements: Placement[] = [];
  for (let index = 0; index < count; index++) {
    const row = 2 * Math.floor(index / columns);
    const column = index % columns;
    placements.push({ images: originals, index, row, column });
    placements.push({ images: reconstructions, index, row: row + 1, column });
  }
  return render(g, placements);
}

/** Decodes a PNG (any colour type pngjs reads) to RGBA. */
export function decodePng(bytes: Uint8Array): DecodedPng {
  const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  return { width: png.width, height: png.height, rgba: new Uint8Array(png.data) };
}
