/**
 * IDX files, the format of MNIST and Fashion-MNIST (LeCun's MNIST page):
 * a big-endian header `0x00 0x00 TYPE RANK`, then RANK 32-bit big-endian
 * dimension sizes, then the values row-major. We read only unsigned bytes
 * (TYPE 0x08), so the magic number is 0x00000803 for images [count, rows,
 * cols] and 0x00000801 for labels [count]. Files may be gzipped (by name
 * `.gz` or by the gzip magic 1f 8b) or plain.
 *
 * Every malformed input is a UserError naming the file with expected vs
 * found: wrong magic, a truncated or over-long body, bad gzip.
 */
import { gunzipSync } from 'node:zlib';
import { UserError } from '../errors.js';
import { readBytes } from './files.js';

export const IDX_IMAGES_MAGIC = 0x00000803;
export const IDX_LABELS_MAGIC = 0x00000801;

export interface IdxImages {
  readonly count: number;
  readonly height: number;
  readonly width: number;
  /** [count, height, width] bytes. */
  readonly pixels: Uint8Array;
}

export function readIdxImages(file: string): IdxImages {
  const { dims, values } = readIdx(file, IDX_IMAGES_MAGIC, 'images [count, rows, cols]');
  const [count, height, width] = dims as [number, number, number];
  if (height < 1 || width < 1) {
    throw new UserError(`${file}: IDX images must be at least 1x1, found ${height}x${width}`);
  }
  return { count, height, width, pixels: values };
}

/** [count] label bytes. */
export function readIdxLabels(file: string): Uint8Array {
  return readIdx(file, IDX_LABELS_MAGIC, 'labels [count]').values;
}

/** Header and body of an unsigned-byte IDX file with the expected magic. */
function readIdx(file: string, magic: number, what: string): { dims: number[]; values: Uint8Array } {
  const bytes = readMaybeGzipped(file);
  const rank = magic & 0xff;
  const headerBytes = 4 + 4 * rank;
  if (bytes.length < 4) {
    throw new UserError(`${file}: truncated IDX file: expected at least ${headerBytes} header bytes, found ${bytes.length}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const found = view.getUint32(0);
  if (found !== magic) {
    throw new UserError(`${file}: wrong IDX magic number: expected ${hex(magic)} (unsigned-byte ${what}), found ${hex(found)}`);
  }
  if (bytes.length < headerBytes) {
    throw new UserError(`${file}: truncated IDX file: expected at least ${headerBytes} header bytes, found ${bytes.length}`);
  }

  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i));
  const expected = headerBytes + dims.reduce((product, n) => product * n, 1);
  if (bytes.length !== expected) {
    const problem = bytes.length < expected ? 'truncated IDX file' : 'IDX file longer than its header says';
    throw new UserError(`${file}: ${problem}: header [${dims.join(', ')}] needs ${expected} bytes, found ${bytes.length}`);
  }
  // A plain Uint8Array view, not a Buffer: callers get the documented type.
  return { dims, values: new Uint8Array(bytes.buffer, bytes.byteOffset + headerBytes, expected - headerBytes) };
}

function readMaybeGzipped(file: string): Uint8Array {
  const raw = readBytes(file);
  const gzipped = file.endsWith('.gz') || (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b);
  if (!gzipped) return raw;
  try {
    return gunzipSync(raw);
  } catch (error) {
    throw new UserError(`${file}: not a valid gzip file (truncated or corrupt?): ${(error as Error).message}`);
  }
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}
