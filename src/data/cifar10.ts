/**
 * The `cifar10:DIR` SPEC: the CIFAR-10 binary release (Krizhevsky 2009),
 * `cifar-10-binary.tar.gz` unpacked. DIR holds (or has a sub-directory
 * `cifar-10-batches-bin/` holding):
 *   data_batch_1.bin .. data_batch_5.bin   train, 10,000 records each
 *   test_batch.bin                         test, 10,000 records
 *   batches.meta.txt                       class names, one per line (optional)
 *
 * A record is 3073 bytes: 1 label byte, then 3072 pixel bytes stored planar,
 * all 1024 red values (32x32 row-major), then 1024 green, then 1024 blue,
 * i.e. CHW. We convert to HWC: out[y, x, c] = record[1 + c*1024 + y*32 + x].
 *
 * Output: [count, 32, 32, 3] bytes in file order (batch 1 first).
 */
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.js';
import type { ImageDataset, Split } from './dataset.js';
import { isDirectory, isFile, readBytes } from './files.js';
import { keptCount } from './loadOptions.js';

const SIDE = 32;
const PLANE = SIDE * SIDE;
const CHANNELS = 3;
const PIXEL_BYTES = PLANE * CHANNELS;
const RECORD_BYTES = 1 + PIXEL_BYTES;

export const CIFAR10_CLASS_NAMES = [
  'airplane', 'automobile', 'bird', 'cat', 'deer',
  'dog', 'frog', 'horse', 'ship', 'truck',
] as const;

const TRAIN_FILES = [1, 2, 3, 4, 5].map((n) => `data_batch_${n}.bin`);
const TEST_FILES = ['test_batch.bin'];

export function loadCifar10(spec: string, dir: string, split: Split, limit: number | undefined): ImageDataset {
  const batchDir = findBatchDir(spec, dir);
  const files = (split === 'train' ? TRAIN_FILES : TEST_FILES).map((name) => path.join(batchDir, name));
  const missing = files.filter((file) => !isFile(file));
  if (missing.length > 0) {
    throw new UserError(`${spec}: missing ${missing.join(', ')}; expected the CIFAR-10 binary release (${files.map((f) => path.basename(f)).join(', ')})`);
  }
  const classNames = readClassNames(batchDir);

  // Read batches in order only until the limit is met.
  const batches: Buffer[] = [];
  let available = 0;
  for (const file of files) {
    if (limit !== undefined && available >= limit) break;
    const bytes = readBytes(file);
    if (bytes.length === 0 || bytes.length % RECORD_BYTES !== 0) {
      throw new UserError(`${file}: size ${bytes.length} bytes is not a positive multiple of ${RECORD_BYTES} (1 label byte + ${PIXEL_BYTES} pixel bytes per CIFAR-10 record)`);
    }
    batches.push(bytes);
    available += bytes.length / RECORD_BYTES;
  }

  const count = keptCount(available, limit);
  const images = new Uint8Array(count * PIXEL_BYTES);
  const labels = new Int32Array(count);
  let item = 0;
  for (let b = 0; b < batches.length && item < count; b++) {
    const bytes = batches[b];
    for (let r = 0; r < bytes.length / RECORD_BYTES && item < count; r++, item++) {
      const record = bytes.subarray(r * RECORD_BYTES, (r + 1) * RECORD_BYTES);
      if (record[0] >= classNames.length) {
        throw new UserError(`${files[b]}: record ${r} has label ${record[0]}, expected 0..${classNames.length - 1}`);
      }
      labels[item] = record[0];
      planarToInterleaved(record.subarray(1), images.subarray(item * PIXEL_BYTES, (item + 1) * PIXEL_BYTES));
    }
  }
  return { spec, split, count, height: SIDE, width: SIDE, channels: CHANNELS, images, labels, classNames };
}

/** CHW (three 32x32 planes) to HWC (RGB triples). */
function planarToInterleaved(chw: Uint8Array, hwc: Uint8Array): void {
  for (let p = 0; p < PLANE; p++) {
    hwc[p * 3] = chw[p];
    hwc[p * 3 + 1] = chw[PLANE + p];
    hwc[p * 3 + 2] = chw[2 * PLANE + p];
  }
}

/** DIR itself, or DIR/cifar-10-batches-bin as the tarball unpacks. */
function findBatchDir(spec: string, dir: string): string {
  if (!isDirectory(dir)) throw new UserError(`${spec}: directory ${dir} not found`);
  const nested = path.join(dir, 'cifar-10-batches-bin');
  const hasBatchesHere = [...TRAIN_FILES, ...TEST_FILES].some((name) => isFile(path.join(dir, name)));
  return !hasBatchesHere && isDirectory(nested) ? nested : dir;
}

/** Names from batches.meta.txt (blank lines dropped), else the standard ten. */
function readClassNames(batchDir: string): readonly string[] {
  const meta = path.join(batchDir, 'batches.meta.txt');
  if (!isFile(meta)) return CIFAR10_CLASS_NAMES;
  const names = fs.readFileSync(meta, 'utf8').split(/\r?\n/).map((line) => line.trim()).filter((line) => line !== '');
  if (names.length === 0) throw new UserError(`${meta}: expected class names, one per line, found none`);
  return names;
}
