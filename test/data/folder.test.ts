/**
 * `folder:DIR` on small PNG/JPEG trees written here: classes from
 * sub-folders, the order, train/ and test/ splits, grey vs colour, resize,
 * limit (which decodes only the kept files), every error; and a few images
 * of the shared cifar10-jpg folder.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { loadDataset } from '../../src/data/index.js';
import { assertUserError, jpegBytes, literal, pngBytes, solid, tempDir, writeFile } from './helpers.js';

const CIFAR10_JPG = '/work/shared/datasets/cifar10-jpg';

/** A 2x2 RGBA image, [height, width, 4], with four distinct grey levels from `base`. */
function grey2x2(base: number): Uint8Array {
  return Uint8Array.from([0, 1, 2, 3].flatMap((k) => [base + k, base + k, base + k, 255]));
}

test('classes are sorted sub-folders, items ordered by class then file name, grey PNGs give 1 channel', async () => {
  const dir = tempDir();
  writeFile(path.join(dir, 'zebra', 'b.png'), pngBytes(2, 2, grey2x2(40)));
  writeFile(path.join(dir, 'zebra', 'a.PNG'), pngBytes(2, 2, grey2x2(30)));
  writeFile(path.join(dir, 'apple', '1.png'), pngBytes(2, 2, grey2x2(10)));
  writeFile(path.join(dir, 'apple', 'notes.txt'), 'not an image');
  writeFile(path.join(dir, 'apple', '.hidden.png'), 'not read');
  writeFile(path.join(dir, 'loose.png'), pngBytes(2, 2, grey2x2(0)));

  const data = await loadDataset(`folder:${dir}`);
  assert.deepEqual(data.classNames, ['apple', 'zebra']);
  assert.deepEqual([data.count, data.height, data.width, data.channels], [4, 2, 2, 1]);
  // loose.png (no class) first, then apple/1.png, zebra/a.PNG, zebra/b.png.
  assert.deepEqual(data.labels, Int32Array.from([-1, 0, 1, 1]));
  assert.deepEqual(data.images, Uint8Array.from([0, 1, 2, 3, 10, 11, 12, 13, 30, 31, 32, 33, 40, 41, 42, 43]));
  // Progress is reported as files are decoded, ending at the total.
  const reports: [number, number][] = [];
  await loadDataset(`folder:${dir}`, { onProgress: (done, total) => reports.push([done, total]) });
  assert.deepEqual(reports.at(-1), [4, 4]);
  // With no train/ or test/ the whole folder is both splits.
  const testSplit = await loadDataset(`folder:${dir}`, { split: 'test' });
  assert.deepEqual(testSplit.images, data.images);
});

test('colour PNG and JPEG give 3 channels, alpha dropped; train/ and test/ are the splits', async () => {
  const dir = tempDir();
  const red = solid(8, 8, [200, 30, 40]);
  const transparentBlue = solid(8, 8, [10, 20, 230]).map((v, k) => (k % 4 === 3 ? 0 : v));
  writeFile(path.join(dir, 'train', 'cat', '0.png'), pngBytes(8, 8, red));
  writeFile(path.join(dir, 'train', 'dog', '0.jpg'), jpegBytes(8, 8, solid(8, 8, [40, 200, 60])));
  writeFile(path.join(dir, 'test', 'dog', '0.png'), pngBytes(8, 8, transparentBlue));
  writeFile(path.join(dir, 'test', 'eel', '0.JPEG'), jpegBytes(8, 8, solid(8, 8, [128, 128, 128])));

  const train = await loadDataset(`folder:${dir}`);
  // Class names span both splits so a label means the same class in each.
  assert.deepEqual(train.classNames, ['cat', 'dog', 'eel']);
  assert.deepEqual([train.count, train.height, train.width, train.channels], [2, 8, 8, 3]);
  assert.deepEqual(train.labels, Int32Array.from([0, 1]));
  assert.deepEqual([...train.images.subarray(0, 3)], [200, 30, 40]);
  // JPEG is lossy: a flat colour comes back within a few levels.
  const jpegPixel = [...train.images.subarray(64 * 3, 64 * 3 + 3)];
  [40, 200, 60].forEach((v, c) => assert.ok(Math.abs(jpegPixel[c] - v) <= 4, `jpeg pixel ${jpegPixel}`));

  const testSplit = await loadDataset(`folder:${dir}`, { split: 'test' });
  assert.deepEqual(testSplit.labels, Int32Array.from([1, 2]));
  // One colour image makes the whole set 3-channel, even with a grey one in it.
  assert.equal(testSplit.channels, 3);
  assert.deepEqual([...testSplit.images.subarray(0, 3)], [10, 20, 230]);
  assert.equal(testSplit.images.length, 2 * 8 * 8 * 3);
});

test('train/ without test/ is an error for the test split', async () => {
  const dir = tempDir();
  writeFile(path.join(dir, 'train', 'a', '0.png'), pngBytes(2, 2, grey2x2(0)));
  assert.equal((await loadDataset(`folder:${dir}`)).count, 1);
  await assertUserError(
    () => loadDataset(`folder:${dir}`, { split: 'test' }),
    literal(`folder:${dir}: ${dir} has train/ but no test/ sub-folder; expected both train/ and test/, or neither`),
  );
});

test('resize brings every image to [height, width] bilinearly', async () => {
  const dir = tempDir();
  // A 2x2 image with corners 0, 255 / 255, 0 and a 3x5 one.
  const corners = Uint8Array.from([0, 255, 255, 0].flatMap((v) => [v, v, v, 255]));
  writeFile(path.join(dir, 'a.png'), pngBytes(2, 2, corners));
  writeFile(path.join(dir, 'b.png'), pngBytes(5, 3, solid(5, 3, [90, 90, 90])));

  const data = await loadDataset(`folder:${dir}`, { resize: [4, 4] });
  assert.deepEqual([data.count, data.height, data.width, data.channels], [2, 4, 4, 1]);
  // The hand-worked 2x2 -> 4x4 values of resize.test.ts.
  assert.deepEqual(data.images.subarray(0, 16), Uint8Array.from([0, 64, 191, 255, 64, 96, 159, 191, 191, 159, 96, 64, 255, 191, 64, 0]));
  assert.deepEqual(data.images.subarray(16), new Uint8Array(16).fill(90));
});

test('images of mixed sizes without resize name the file, both sizes and --resize', async () => {
  const dir = tempDir();
  writeFile(path.join(dir, 'a', '0.png'), pngBytes(2, 2, grey2x2(0)));
  writeFile(path.join(dir, 'a', '1.png'), pngBytes(2, 3, solid(2, 3, [1, 1, 1])));
  await assertUserError(
    () => loadDataset(`folder:${dir}`),
    literal(`${path.join(dir, 'a', '1.png')} is 3x2 (HxW) but the first image, ${path.join(dir, 'a', '0.png')}, is 2x2; pass --resize HxW`),
  );
});

test('an undecodable image is named', async () => {
  const dir = tempDir();
  writeFile(path.join(dir, 'a', '0.png'), pngBytes(2, 2, grey2x2(0)));
  writeFile(path.join(dir, 'a', '1.jpg'), 'this is not a JPEG');
  await assertUserError(() => loadDataset(`folder:${dir}`), literal(`cannot decode ${path.join(dir, 'a', '1.jpg')} as JPEG: `));
  const truncated = pngBytes(2, 2, grey2x2(0)).subarray(0, 40);
  writeFile(path.join(dir, 'a', '1.jpg'), truncated); // a PNG by signature, whatever the name
  await assertUserError(() => loadDataset(`folder:${dir}`), literal(`cannot decode ${path.join(dir, 'a', '1.jpg')} as PNG: `));
});

test('limit keeps the first N in order and decodes only those', async () => {
  const dir = tempDir();
  writeFile(path.join(dir, 'a', '0.png'), pngBytes(2, 2, grey2x2(0)));
  writeFile(path.join(dir, 'a', '1.png'), pngBytes(2, 2, grey2x2(50)));
  writeFile(path.join(dir, 'b', '0.png'), 'broken, but beyond the limit');
  const two = await loadDataset(`folder:${dir}`, { limit: 2 });
  assert.equal(two.count, 2);
  assert.deepEqual(two.labels, Int32Array.from([0, 0]));
  assert.deepEqual(two.classNames, ['a', 'b']);
  assert.deepEqual(two.images, Uint8Array.from([0, 1, 2, 3, 50, 51, 52, 53]));
  await assertUserError(() => loadDataset(`folder:${dir}`, { limit: 3 }), /cannot decode .*b\/0\.png as PNG/);
});

test('no images, or no directory, is an error', async () => {
  const dir = tempDir();
  writeFile(path.join(dir, 'cats', 'readme.txt'), 'no images here');
  await assertUserError(
    () => loadDataset(`folder:${dir}`),
    literal(`folder:${dir}: no image files (.png, .jpg, .jpeg) in ${dir} or its class sub-folders`),
  );
  await assertUserError(() => loadDataset(`folder:${dir}/missing`), literal(`folder:${dir}/missing: directory ${dir}/missing not found`));
});

test('the shared cifar10-jpg folder: a few 32x32 colour images with CIFAR-10 classes', async () => {
  if (!fs.existsSync(CIFAR10_JPG)) {
    await assertUserError(() => loadDataset(`folder:${CIFAR10_JPG}`, { limit: 5 }), /directory .* not found/);
    return;
  }
  const data = await loadDataset(`folder:${CIFAR10_JPG}`, { split: 'test', limit: 5 });
  assert.deepEqual([data.count, data.height, data.width, data.channels], [5, 32, 32, 3]);
  assert.deepEqual(data.classNames, ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']);
  assert.deepEqual(data.labels, Int32Array.from([0, 0, 0, 0, 0]));
});
