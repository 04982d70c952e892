/**
 * Shared helpers for the data tests: temporary directories and fixture
 * writers (IDX, CIFAR-10 batches, PNG/JPEG files), written at test time so
 * no binary fixtures are committed, and an assertion that an error is a
 * UserError whose message says what the test expects.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { encode as encodeJpeg } from 'jpeg-js';
import { PNG } from 'pngjs';
import { isOneLineUserError } from '../shared/assertions.js';
import { makeTempDir } from '../shared/tempDirs.js';

export { literal } from '../shared/assertions.js';

/** A fresh directory under the OS temp dir, removed when the process exits. */
export function tempDir(prefix = 'vqvae-data-'): string {
  return makeTempDir(prefix);
}

/** Writes `file`, creating its parent folders. */
export function writeFile(file: string, bytes: Uint8Array | string): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, bytes);
  return file;
}

/** An unsigned-byte IDX file: magic, big-endian dims, then the values. */
export function idxBytes(magic: number, dims: readonly number[], values: Uint8Array): Uint8Array {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header.writeUInt32BE(magic, 0);
  dims.forEach((n, i) => header.writeUInt32BE(n, 4 + 4 * i));
  return Buffer.concat([header, values]);
}

export function gzip(bytes: Uint8Array): Uint8Array {
  return gzipSync(bytes);
}

/** Encodes [height, width, 4] RGBA bytes as PNG. */
export function pngBytes(width: number, height: number, rgba: Uint8Array): Uint8Array {
  const png = new PNG({ width, height });
  png.data = Buffer.from(rgba);
  return PNG.sync.write(png);
}

/** Encodes [height, width, 4] RGBA bytes as JPEG at the highest quality. */
export function jpegBytes(width: number, height: number, rgba: Uint8Array): Uint8Array {
  return encodeJpeg({ width, height, data: rgba }, 100).data;
}

/** RGBA bytes of one flat colour. */
export function solid(width: number, height: number, [r, g, b]: readonly [number, number, number]): Uint8Array {
  const rgba = new Uint8Array(width * height * 4);
  for (let p = 0; p < width * height; p++) rgba.set([r, g, b, 255], p * 4);
  return rgba;
}

/** Asserts that `action` rejects with a UserError whose message matches every pattern. */
export async function assertUserError(action: () => unknown, ...patterns: RegExp[]): Promise<void> {
  await assert.rejects(async () => action(), (error: unknown) => isOneLineUserError(error, patterns));
}

/** [min, max] of some bytes, without spreading a large array into arguments. */
export function byteRange(bytes: Uint8Array): [number, number] {
  let min = 255;
  let max = 0;
  for (const v of bytes) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return [min, max];
}
