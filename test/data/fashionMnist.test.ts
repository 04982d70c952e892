/**
 * IDX reading through `fashion-mnist:DIR`, on small IDX pairs written here
 * (gzipped and plain), every malformed-file error, and the real files under
 * /usr/share/datasets/fashion-mnist when they are installed.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { FASHION_MNIST_DIR, loadDataset } from '../../src/data/index.js';
import { loadFashionMnist } from '../../src/data/fashionMnist.js';
import { IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC } from '../../src/data/idx.js';
import { UserError } from '../../src/errors.js';
import { assertUserError, byteRange, gzip, idxBytes, literal, tempDir, writeFile } from './helpers.js';

/** `count` images of 3x2 pixels where pixel p of image i is 10*i + p. */
function fixturePixels(count: number): Uint8Array {
  return Uint8Array.from({ length: count * 6 }, (_, k) => 10 * Math.floor(k / 6) + (k % 6));
}

/** Writes an IDX pair for `prefix` (train or t10k) into dir. */
function writePair(dir: string, prefix: string, labels: readonly number[], gzipped: boolean): void {
  const suffix = gzipped ? '.gz' : '';
  const pack = gzipped ? gzip : (b: Uint8Array) => b;
  const count = labels.length;
  writeFile(path.join(dir, `${prefix}-images-idx3-ubyte${suffix}`), pack(idxBytes(IDX_IMAGES_MAGIC, [count, 3, 2], fixturePixels(count))));
  writeFile(path.join(dir, `${prefix}-labels-idx1-ubyte${suffix}`), pack(idxBytes(IDX_LABELS_MAGIC, [count], Uint8Array.from(labels))));
}

test('reads a gzipped train pair and a plain test pair', async () => {
  const dir = tempDir();
  writePair(dir, 'train', [3, 1, 4, 1], true);
  writePair(dir, 't10k', [9, 2], false);

  const train = await loadDataset(`fashion-mnist:${dir}`);
  assert.equal(train.spec, `fashion-mnist:${dir}`);
  assert.equal(train.split, 'train');
  assert.deepEqual([train.count, train.height, train.width, train.channels], [4, 3, 2, 1]);
  assert.deepEqual(train.images, fixturePixels(4));
  assert.deepEqual(train.labels, Int32Array.from([3, 1, 4, 1]));
  assert.equal(train.classNames?.[9], 'Ankle boot');
  assert.equal(train.classNames?.[0], 'T-shirt/top');

  const testSplit = await loadDataset(`fashion-mnist:${dir}`, { split: 'test' });
  assert.deepEqual([testSplit.count, testSplit.height, testSplit.width], [2, 3, 2]);
  assert.deepEqual(testSplit.images, fixturePixels(2));
  assert.deepEqual(testSplit.labels, Int32Array.from([9, 2]));
});

test('limit keeps the first items; a limit above the count keeps all', async () => {
  const dir = tempDir();
  writePair(dir, 'train', [5, 6, 7, 8], true);
  const two = await loadDataset(`fashion-mnist:${dir}`, { limit: 2 });
  assert.equal(two.count, 2);
  assert.deepEqual(two.images, fixturePixels(2));
  assert.deepEqual(two.labels, Int32Array.from([5, 6]));
  const all = await loadDataset(`fashion-mnist:${dir}`, { limit: 100 });
  assert.equal(all.count, 4);
});

test('gzip is recognised by its magic even without .gz in the name', async () => {
  const dir = tempDir();
  writePair(dir, 'train', [1, 2], false);
  const images = path.join(dir, 'train-images-idx3-ubyte');
  fs.writeFileSync(images, gzip(fs.readFileSync(images)));
  const data = await loadDataset(`fashion-mnist:${dir}`);
  assert.deepEqual(data.images, fixturePixels(2));
});

test('a missing directory or file names it', async () => {
  const dir = tempDir();
  await assertUserError(
    () => loadDataset(`fashion-mnist:${dir}/absent`),
    literal(`fashion-mnist:${dir}/absent: directory ${dir}/absent not found`),
  );
  writePair(dir, 'train', [1], true);
  fs.rmSync(path.join(dir, 'train-labels-idx1-ubyte.gz'));
  await assertUserError(
    () => loadDataset(`fashion-mnist:${dir}`),
    literal(`missing file ${path.join(dir, 'train-labels-idx1-ubyte.gz')} (or train-labels-idx1-ubyte)`),
  );
  await assertUserError(
    () => loadDataset(`fashion-mnist:${dir}`, { split: 'test' }),
    literal(`missing file ${path.join(dir, 't10k-images-idx3-ubyte.gz')}`),
  );
});

test('for the default directory, a missing directory or file says how to install it', async () => {
  const dir = tempDir();
  const source = { spec: 'fashion-mnist', dir: path.join(dir, 'absent'), isDefaultDir: true };
  assert.throws(
    () => loadFashionMnist(source, 'train', undefined),
    (error: unknown) => error instanceof UserError
      && error.message === `fashion-mnist: directory ${source.dir} not found; install it with \`apt-get install dataset-fashion-mnist\`, or pass fashion-mnist:DIR`,
  );
  assert.throws(
    () => loadFashionMnist({ ...source, dir }, 'train', undefined),
    (error: unknown) => error instanceof UserError
      && error.message.includes(`missing file ${path.join(dir, 'train-images-idx3-ubyte.gz')}`)
      && error.message.includes('apt-get install dataset-fashion-mnist'),
  );
});

test('a truncated IDX file says how many bytes it needs and has', async () => {
  const dir = tempDir();
  writePair(dir, 'train', [1, 2, 3], false);
  const images = path.join(dir, 'train-images-idx3-ubyte');
  const full = fs.readFileSync(images); // 16 header + 3*6 pixels = 34 bytes
  fs.writeFileSync(images, full.subarray(0, 30));
  await assertUserError(
    () => loadDataset(`fashion-mnist:${dir}`),
    literal(`${images}: truncated IDX file: header [3, 3, 2] needs 34 bytes, found 30`),
  );
  fs.writeFileSync(images, full.subarray(0, 10));
  await assertUserError(() => loadDataset(`fashion-mnist:${dir}`), literal(`${images}: truncated IDX file: expected at least 16 header bytes, found 10`));
  fs.writeFileSync(images, Buffer.concat([full, Buffer.from([0])]));
  await assertUserError(() => loadDataset(`fashion-mnist:${dir}`), /IDX file longer than its header says: header \[3, 3, 2\] needs 34 bytes, found 35/);
});

test('a truncated gzip file is named', async () => {
  const dir = tempDir();
  writePair(dir, 'train', [1, 2, 3], true);
  const labels = path.join(dir, 'train-labels-idx1-ubyte.gz');
  const full = fs.readFileSync(labels);
  fs.writeFileSync(labels, full.subarray(0, full.length - 12));
  await assertUserError(() => loadDataset(`fashion-mnist:${dir}`), literal(`${labels}: not a valid gzip file (truncated or corrupt?)`));
});

test('a wrong magic number shows expected and found', async () => {
  const dir = tempDir();
  writePair(dir, 'train', [1, 2], false);
  const images = path.join(dir, 'train-images-idx3-ubyte');
  // A labels file where the images should be.
  fs.copyFileSync(path.join(dir, 'train-labels-idx1-ubyte'), images);
  await assertUserError(
    () => loadDataset(`fashion-mnist:${dir}`),
    literal(`${images}: wrong IDX magic number: expected 0x00000803 (unsigned-byte images [count, rows, cols]), found 0x00000801`),
  );
});

test('an image/label count mismatch names both files and counts', async () => {
  const dir = tempDir();
  writePair(dir, 'train', [1, 2, 3], true);
  writeFile(path.join(dir, 'train-labels-idx1-ubyte.gz'), gzip(idxBytes(IDX_LABELS_MAGIC, [2], Uint8Array.from([1, 2]))));
  await assertUserError(
    () => loadDataset(`fashion-mnist:${dir}`),
    literal(`${path.join(dir, 'train-images-idx3-ubyte.gz')} holds 3 images but ${path.join(dir, 'train-labels-idx1-ubyte.gz')} holds 2 labels`),
  );
});

test('a label outside 0..9 is named', async () => {
  const dir = tempDir();
  writePair(dir, 'train', [1, 10], false);
  await assertUserError(() => loadDataset(`fashion-mnist:${dir}`), /train-labels-idx1-ubyte: label 1 is 10, expected 0\.\.9/);
});

test('the installed fashion-mnist: 60,000 + 10,000 28x28 grey images, or the install hint', async () => {
  if (!fs.existsSync(FASHION_MNIST_DIR)) {
    await assertUserError(() => loadDataset('fashion-mnist'), /apt-get install dataset-fashion-mnist/, literal(FASHION_MNIST_DIR));
    return;
  }
  const train = await loadDataset('fashion-mnist');
  assert.deepEqual([train.count, train.height, train.width, train.channels], [60_000, 28, 28, 1]);
  assert.equal(train.images.length, 60_000 * 784);
  const perClass = new Array<number>(10).fill(0);
  for (const label of train.labels) perClass[label]++;
  assert.deepEqual(perClass, new Array<number>(10).fill(6000));
  const testSplit = await loadDataset('fashion-mnist', { split: 'test', limit: 500 });
  assert.equal(testSplit.count, 500);
  assert.deepEqual(byteRange(testSplit.images), [0, 255]);
});
