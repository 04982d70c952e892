/**
 * `cifar10:DIR` on small binary batches written here: the planar (CHW)
 * record layout turned into HWC, checked pixel by pixel against a direct
 * reading of the record; the nested `cifar-10-batches-bin/` layout; class
 * names from batches.meta.txt; limit across batch files; malformed files.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { CIFAR10_CLASS_NAMES, loadDataset } from '../../src/data/index.js';
import { assertUserError, literal, tempDir, writeFile } from './helpers.js';

const RECORD = 3073;

/**
 * A record with `label` and pseudo-random pixel bytes (a 32-bit LCG), so the
 * three planes, rows and columns all differ and any mix-up shows.
 */
function record(label: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(RECORD);
  bytes[0] = label;
  let state = seed >>> 0;
  for (let k = 1; k < RECORD; k++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    bytes[k] = state >>> 24;
  }
  return bytes;
}

function batch(...records: Uint8Array[]): Uint8Array {
  return Buffer.concat(records);
}

/** The value at row y, column x, channel c of a record, read the way the CIFAR-10 page describes it. */
function recordPixel(rec: Uint8Array, y: number, x: number, c: number): number {
  const planeOffset = [1, 1 + 1024, 1 + 2048][c];
  return rec[planeOffset + y * 32 + x];
}

/** A directory with all five train batches (one record each unless given) and a test batch. */
function writeRelease(dir: string, test: Uint8Array, trainRecords?: Uint8Array[]): void {
  for (let n = 1; n <= 5; n++) {
    writeFile(path.join(dir, `data_batch_${n}.bin`), trainRecords?.[n - 1] ?? record(n, 100 + n));
  }
  writeFile(path.join(dir, 'test_batch.bin'), test);
}

test('a batch of 3 records becomes 3 HWC images, pixel for pixel', async () => {
  const dir = tempDir();
  const records = [record(7, 1), record(0, 2), record(9, 3)];
  writeRelease(dir, batch(...records));

  const data = await loadDataset(`cifar10:${dir}`, { split: 'test' });
  assert.deepEqual([data.count, data.height, data.width, data.channels], [3, 32, 32, 3]);
  assert.deepEqual(data.labels, Int32Array.from([7, 0, 9]));
  assert.deepEqual(data.classNames, CIFAR10_CLASS_NAMES);
  let mismatches = 0;
  records.forEach((rec, i) => {
    for (let y = 0; y < 32; y++) {
      for (let x = 0; x < 32; x++) {
        for (let c = 0; c < 3; c++) {
          if (data.images[((i * 32 + y) * 32 + x) * 3 + c] !== recordPixel(rec, y, x, c)) mismatches++;
        }
      }
    }
  });
  assert.equal(mismatches, 0);
});

test('train reads data_batch_1..5 in order; limit stops inside them', async () => {
  const dir = tempDir();
  const trainRecords = [batch(record(1, 11), record(2, 12)), batch(record(3, 13), record(4, 14)), record(5, 15), record(6, 16), record(7, 17)];
  writeRelease(dir, record(0, 1), trainRecords);

  const all = await loadDataset(`cifar10:${dir}`);
  assert.equal(all.count, 7);
  assert.deepEqual(all.labels, Int32Array.from([1, 2, 3, 4, 5, 6, 7]));

  const three = await loadDataset(`cifar10:${dir}`, { limit: 3 });
  assert.equal(three.count, 3);
  assert.deepEqual(three.labels, Int32Array.from([1, 2, 3]));
  assert.deepEqual(three.images, all.images.subarray(0, 3 * 3072));

  // The limit is met by batches 1 and 2, so a broken batch 5 is never read.
  fs.writeFileSync(path.join(dir, 'data_batch_5.bin'), new Uint8Array(10));
  assert.equal((await loadDataset(`cifar10:${dir}`, { limit: 4 })).count, 4);
});

test('accepts DIR/cifar-10-batches-bin and reads class names from batches.meta.txt', async () => {
  const dir = tempDir();
  const inner = path.join(dir, 'cifar-10-batches-bin');
  writeRelease(inner, record(2, 5));
  writeFile(path.join(inner, 'batches.meta.txt'), 'a\nb\nc\n\n');
  const data = await loadDataset(`cifar10:${dir}`, { split: 'test' });
  assert.deepEqual(data.classNames, ['a', 'b', 'c']);
  assert.deepEqual(data.labels, Int32Array.from([2]));
});

test('a batch whose size is not a multiple of 3073 is named with its size', async () => {
  const dir = tempDir();
  writeRelease(dir, batch(record(1, 1), record(2, 2)).subarray(0, 2 * RECORD - 5));
  const file = path.join(dir, 'test_batch.bin');
  await assertUserError(
    () => loadDataset(`cifar10:${dir}`, { split: 'test' }),
    literal(`${file}: size 6141 bytes is not a positive multiple of 3073 (1 label byte + 3072 pixel bytes per CIFAR-10 record)`),
  );
});

test('missing batches, a missing directory and a bad label are named', async () => {
  const dir = tempDir();
  await assertUserError(() => loadDataset(`cifar10:${dir}/nope`), literal(`cifar10:${dir}/nope: directory ${dir}/nope not found`));
  writeRelease(dir, record(1, 1));
  fs.rmSync(path.join(dir, 'data_batch_3.bin'));
  await assertUserError(
    () => loadDataset(`cifar10:${dir}`),
    literal(`missing ${path.join(dir, 'data_batch_3.bin')}; expected the CIFAR-10 binary release (data_batch_1.bin,`),
  );
  fs.writeFileSync(path.join(dir, 'test_batch.bin'), record(10, 1));
  await assertUserError(
    () => loadDataset(`cifar10:${dir}`, { split: 'test' }),
    literal(`${path.join(dir, 'test_batch.bin')}: record 0 has label 10, expected 0..9`),
  );
});
