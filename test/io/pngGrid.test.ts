/**
 * PNG grids, decoded back with pngjs directly: canvas size, every pixel of
 * every cell (with nearest-neighbour upscaling) equal to the source image's
 * pixel, padding and empty cells in the background colour, greyscale vs RGB
 * colour types, the comparison grid's bands of originals over
 * reconstructions with the wider gap between bands, and argument errors.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PNG } from 'pngjs';
import { decodePng, encodeComparisonGrid, encodeImageGrid, writePng } from '../../src/io/pngGrid.js';

/** [count, h, w, c] images whose every value is distinct-ish: a function of (i, y, x, ch). */
function patterned(count: number, h: number, w: number, c: number): Uint8Array {
  const images = new Uint8Array(count * h * w * c);
  for (let i = 0; i < count; i++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let ch = 0; ch < c; ch++) images[((i * h + y) * w + x) * c + ch] = (i * 37 + y * 11 + x * 5 + ch * 70 + 1) % 250;
  return images;
}

/** RGBA of pixel (x, y) of a decoded PNG. */
function rgbaAt(png: { width: number; data: Uint8Array }, x: number, y: number): number[] {
  const k = (y * png.width + x) * 4;
  return Array.from(png.data.subarray(k, k + 4));
}

test('a greyscale grid puts source pixel (y, x) of image i at its upscaled place in cell i', () => {
  const [count, h, w, c] = [5, 3, 2, 1];
  const images = patterned(count, h, w, c);
  const [columns, padding, upscale, background] = [3, 1, 2, 7];
  const png = PNG.sync.read(Buffer.from(encodeImageGrid(images, count, h, w, c, { columns, padding, upscale, background })));
  assert.equal(png.colorType, 0, 'greyscale PNG');
  // 3 columns of 2*2 pixels, 2 rows of 3*2 pixels, a 1-pixel line around and between.
  assert.equal(png.width, 1 + 3 * (4 + 1));
  assert.equal(png.height, 1 + 2 * (6 + 1));

  const covered = new Set<number>();
  for (let i = 0; i < count; i++) {
    const originX = padding + (i % columns) * (w * upscale + padding);
    const originY = padding + Math.floor(i / columns) * (h * upscale + padding);
    for (let y = 0; y < h * upscale; y++) {
      for (let x = 0; x < w * upscale; x++) {
        const source = images[(i * h + Math.floor(y / upscale)) * w + Math.floor(x / upscale)]!;
        assert.deepEqual(rgbaAt(png, originX + x, originY + y), [source, source, source, 255], `image ${i} (${x}, ${y})`);
        covered.add((originY + y) * png.width + originX + x);
      }
    }
  }
  // Everything else - padding and the empty sixth cell - is background.
  for (let p = 0; p < png.width * png.height; p++) {
    if (!covered.has(p)) assert.deepEqual(rgbaAt(png, p % png.width, Math.floor(p / png.width)), [7, 7, 7, 255], `pixel ${p}`);
  }
});

test('an RGB grid keeps the channels; the default layout is a near-square grid with white padding', () => {
  const [count, h, w, c] = [4, 2, 3, 3];
  const images = patterned(count, h, w, c);
  const png = PNG.sync.read(Buffer.from(encodeImageGrid(images, count, h, w, c)));
  assert.equal(png.colorType, 2, 'RGB PNG');
  // Defaults: ceil(sqrt(4)) = 2 columns, padding 2, upscale 1.
  assert.equal(png.width, 2 + 2 * (3 + 2));
  assert.equal(png.height, 2 + 2 * (2 + 2));
  // Image 3 is in row 1, column 1; its pixel (y=1, x=2):
  const k = ((3 * h + 1) * w + 2) * c;
  assert.deepEqual(rgbaAt(png, 2 + 5 + 2, 2 + 4 + 1), [images[k], images[k + 1], images[k + 2], 255]);
  assert.deepEqual(rgbaAt(png, 0, 0), [255, 255, 255, 255]);
});

test('a 28x28 digit grid with upscale 2 has the documented size', () => {
  const png = decodePng(encodeImageGrid(new Uint8Array(64 * 28 * 28), 64, 28, 28, 1, { columns: 8, upscale: 2 }));
  assert.equal(png.width, 8 * 56 + 9 * 2);
  assert.equal(png.height, 8 * 56 + 9 * 2);
  assert.equal(png.rgba.length, png.width * png.height * 4);
});

test('rowBreaks add the gap after every N rows of cells', () => {
  const images = patterned(6, 1, 1, 1);
  const png = PNG.sync.read(Buffer.from(encodeImageGrid(images, 6, 1, 1, 1, { columns: 1, padding: 1, rowBreaks: { every: 2, gap: 3 } })));
  // Rows at y = 1, 3, then +3: 8, 10, then +3: 15, 17; height 1 + 6 * 2 + 2 * 3.
  assert.equal(png.height, 1 + 6 * 2 + 2 * 3);
  const rowsY = [1, 3, 8, 10, 15, 17];
  rowsY.forEach((y, i) => assert.equal(rgbaAt(png, 1, y)[0], images[i], `row ${i}`));
});

test('the comparison grid puts each reconstruction right below its original, pairs of rows set apart', () => {
  const [count, h, w, c] = [5, 2, 2, 1];
  const originals = new Uint8Array(count * h * w).map((_, k) => 10 + Math.floor(k / (h * w)));
  const reconstructions = new Uint8Array(count * h * w).map((_, k) => 200 + Math.floor(k / (h * w)));
  const [columns, padding, pairGap] = [3, 1, 4];
  const png = PNG.sync.read(
    Buffer.from(encodeComparisonGrid(originals, reconstructions, count, h, w, c, { columns, padding, pairGap, background: 0 })),
  );
  // 2 bands of (originals row, reconstructions row), one pairGap between the bands.
  assert.equal(png.width, 1 + 3 * (2 + 1));
  assert.equal(png.height, 1 + 4 * (2 + 1) + 4);
  for (let i = 0; i < count; i++) {
    const x = padding + (i % columns) * (w + padding);
    const band = Math.floor(i / columns);
    const yOriginal = padding + band * (2 * (h + padding) + pairGap);
    const yReconstruction = yOriginal + h + padding;
    assert.equal(rgbaAt(png, x, yOriginal)[0], 10 + i, `original ${i}`);
    assert.equal(rgbaAt(png, x + 1, yOriginal + 1)[0], 10 + i, `original ${i}, far corner`);
    assert.equal(rgbaAt(png, x, yReconstruction)[0], 200 + i, `reconstruction ${i}`);
  }
  // The rows between the bands are all background.
  for (let y = 1 + 2 * (h + padding); y < 1 + 2 * (h + padding) + pairGap; y++) {
    for (let x = 0; x < png.width; x++) assert.equal(rgbaAt(png, x, y)[0], 0, `gap pixel (${x}, ${y})`);
  }
  // The second band has two pairs: its third column is empty in both rows.
  assert.equal(rgbaAt(png, 1 + 2 * 3, 1 + 2 * 3 + 4)[0], 0);
  assert.equal(rgbaAt(png, 1 + 2 * 3, 1 + 3 * 3 + 4)[0], 0);
});

test('writePng writes raw grey and RGB pixels that decode back unchanged', () => {
  const grey = Uint8Array.from([0, 50, 100, 150, 200, 250]);
  assert.deepEqual(Array.from(decodePng(writePng(grey, 3, 2, 1)).rgba.filter((_, k) => k % 4 === 0)), Array.from(grey));
  const rgb = Uint8Array.from([1, 2, 3, 4, 5, 6]);
  assert.deepEqual(Array.from(decodePng(writePng(rgb, 2, 1, 3)).rgba), [1, 2, 3, 255, 4, 5, 6, 255]);
});

test('wrong sizes and options are errors that say what was expected', () => {
  assert.throws(
    () => encodeImageGrid(new Uint8Array(10), 2, 2, 2, 1),
    /images has 10 values; expected count\*height\*width\*channels = 2\*2\*2\*1 = 8/,
  );
  assert.throws(() => encodeImageGrid(new Uint8Array(16), 2, 2, 2, 4), /channels must be 1 \(grey\) or 3 \(RGB\); found 4/);
  assert.throws(() => encodeImageGrid(new Uint8Array(8), 2, 2, 2, 1, { upscale: 1.5 }), /upscale must be an integer in \[1, /);
  assert.throws(() => encodeImageGrid(new Uint8Array(8), 2, 2, 2, 1, { background: 300 }), /background must be an integer in \[0, 255\]; found 300/);
  assert.throws(
    () => encodeComparisonGrid(new Uint8Array(8), new Uint8Array(4), 2, 2, 2, 1),
    /reconstructions has 4 values; expected/,
  );
  assert.throws(() => encodeImageGrid(new Uint8Array(0), 0, 2, 2, 1), /count must be an integer in \[1, /);
});
