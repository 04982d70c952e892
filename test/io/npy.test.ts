/**
 * .npy: the header of an int32 (2, 3) array checked byte by byte against one
 * built by hand from the format description; round trips of the written
 * dtypes and shapes; reading '<i8' (narrowed, or refused when too large),
 * '<f8', versions 2.0 and 3.0 and Python 2 headers; the refusals (Fortran
 * order, bad magic, big-endian, other dtypes, truncation) with their text; and
 * a cross-check with NumPy that falls back to hand-built bytes where NumPy is
 * not installed, so it always asserts something.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { decodeNpy, encodeNpy, type NpyWritable } from '../../src/io/npy.js';
import { readNpyFile, writeNpyFile } from '../../src/io/npyFile.js';
import { assertUserError, literal, tempDir } from './helpers.js';

/** A .npy file from a header dict text, padded so the data starts at a multiple of 64. */
function npyFile(dict: string, data: Uint8Array, version: 1 | 2 | 3 = 1): Uint8Array {
  const prefixLength = version === 1 ? 10 : 12;
  const text = Buffer.from(dict, version === 3 ? 'utf8' : 'latin1');
  const total = Math.ceil((prefixLength + text.length + 1) / 64) * 64;
  const header = Buffer.alloc(total, 0x20);
  header.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  if (version === 1) header.writeUInt16LE(total - prefixLength, 8);
  else header.writeUInt32LE(total - prefixLength, 8);
  header.set(text, prefixLength);
  header[total - 1] = 0x0a;
  return Buffer.concat([header, data]);
}

function le32(values: number[]): Uint8Array {
  return new Uint8Array(new Int32Array(values).buffer);
}

/** The int32 (2, 3) file written out by hand: 10-byte prefix, 118-byte header, 24 data bytes. */
function handBuiltInt32x2x3(): Uint8Array {
  const dict = "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }";
  // numpy's spare room for the first axis to grow: 21 digits minus len('2').
  const text = dict + ' '.repeat(20);
  const header = text + ' '.repeat(118 - 1 - text.length) + '\n';
  const prefix = [0x93, ...Buffer.from('NUMPY'), 1, 0, 118, 0];
  return Uint8Array.from([...prefix, ...Buffer.from(header, 'latin1'), ...le32([0, 1, 2, 3, 4, 5])]);
}

test("'<i4' (2, 3): the header is byte for byte the hand-built one", () => {
  const bytes = encodeNpy(new Int32Array([0, 1, 2, 3, 4, 5]), [2, 3]);
  const expected = handBuiltInt32x2x3();
  assert.equal(expected.length, 152);
  assert.deepEqual(Buffer.from(bytes), Buffer.from(expected));
  assert.equal(bytes[127], 0x0a, "the header ends with '\\n' just before the data");
});

test('round trips int32, float32 and uint8 of several shapes, data aligned to 64', () => {
  const cases: Array<[NpyWritable, number[], string]> = [
    [new Int32Array([7, -8, 2147483647, -2147483648]), [2, 2], 'int32'],
    [new Float32Array([1.5, NaN, -Infinity, -0]), [4], 'float32'],
    [new Uint8Array([0, 255, 128]), [3, 1, 1], 'uint8'],
    [new Float32Array([42]), [], 'float32'],
    [new Int32Array(0), [0, 7, 7], 'int32'],
    [new Uint8Array([9]), new Array(18).fill(1), 'uint8'], // a header that spills past 128 bytes
    [new Int32Array(0), [12345678901, 0], 'int32'], // an 11-digit first axis: fewer spare spaces
  ];
  for (const [data, shape, dtype] of cases) {
    const bytes = encodeNpy(data, shape);
    const headerLength = bytes[8]! | (bytes[9]! << 8);
    assert.equal((10 + headerLength) % 64, 0, `data starts at a multiple of 64 for shape [${shape}]`);
    assert.equal(bytes[10 + headerLength - 1], 0x0a);
    const decoded = decodeNpy(bytes);
    assert.equal(decoded.dtype, dtype);
    assert.deepEqual(decoded.shape, shape);
    assert.equal(decoded.data.constructor, data.constructor);
    assert.deepEqual(Array.from(decoded.data), Array.from(data));
  }
});

test('decoding from an odd offset still gives an aligned array', () => {
  const bytes = encodeNpy(new Float32Array([1, 2, 3]), [3]);
  const shifted = Buffer.alloc(bytes.length + 3);
  shifted.set(bytes, 3);
  const decoded = decodeNpy(shifted.subarray(3));
  assert.equal(decoded.data.byteOffset % 4, 0);
  assert.deepEqual(Array.from(decoded.data), [1, 2, 3]);
});

test("'<i8' is narrowed to Int32Array when every value fits", () => {
  const wide = new BigInt64Array([0n, -1n, 2147483647n, -2147483648n, 511n, 3n]);
  const bytes = npyFile("{'descr': '<i8', 'fortran_order': False, 'shape': (2, 3), }", new Uint8Array(wide.buffer));
  const decoded = decodeNpy(bytes, 'codes.npy');
  assert.equal(decoded.dtype, 'int64');
  assert.ok(decoded.data instanceof Int32Array);
  assert.deepEqual(decoded.shape, [2, 3]);
  assert.deepEqual(Array.from(decoded.data), [0, -1, 2147483647, -2147483648, 511, 3]);
});

test("'<i8' with a value beyond int32 is a UserError naming the value and index", () => {
  const wide = new BigInt64Array([1n, 2147483648n]);
  const bytes = npyFile("{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", new Uint8Array(wide.buffer));
  assertUserError(() => decodeNpy(bytes, 'codes.npy'), /^codes\.npy: int64 value 2147483648 at index 1 does not fit in int32/);
});

test("'<f8' reads as Float64Array", () => {
  const bytes = npyFile("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", new Uint8Array(new Float64Array([0.1, -2]).buffer));
  const decoded = decodeNpy(bytes);
  assert.equal(decoded.dtype, 'float64');
  assert.ok(decoded.data instanceof Float64Array);
  assert.deepEqual(Array.from(decoded.data), [0.1, -2]);
});

test('reads versions 2.0 and 3.0, double quotes, and Python 2 longs', () => {
  const data = le32([5, 6]);
  for (const version of [2, 3] as const) {
    const decoded = decodeNpy(npyFile("{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }", data, version));
    assert.deepEqual(Array.from(decoded.data), [5, 6], `version ${version}`);
  }
  const py2 = decodeNpy(npyFile(`{"descr": "<i4", "fortran_order": False, "shape": (1L, 2L)}`, data));
  assert.deepEqual(py2.shape, [1, 2]);
});

test('Fortran order is a UserError naming the file', () => {
  const bytes = npyFile("{'descr': '<i4', 'fortran_order': True, 'shape': (2, 3), }", new Uint8Array(24));
  assertUserError(() => decodeNpy(bytes, 'codes.npy'), /^codes\.npy: fortran_order is True; expected C order/);
});

test('bad magic is a UserError naming the file', () => {
  const bytes = encodeNpy(new Int32Array(1), [1]);
  bytes[1] = 0x50; // "PUMPY"
  assertUserError(() => decodeNpy(bytes, 'codes.npy'), /^codes\.npy: not a \.npy file: expected it to start with "\\x93NUMPY", found "\\x93PUMPY"$/);
  assertUserError(() => decodeNpy(Buffer.from('PK\x03\x04'), 'x.npz'), /^x\.npz: not a \.npy file/);
});

test('big-endian, unsupported dtypes, structured dtypes, odd versions and bad headers are UserErrors', () => {
  const file = (dict: string, data = new Uint8Array(8)) => () => decodeNpy(npyFile(dict, data), 'a.npy');
  assertUserError(file("{'descr': '>i4', 'fortran_order': False, 'shape': (2,), }"), /^a\.npy: descr '>i4' is big-endian; expected little-endian/);
  assertUserError(
    file("{'descr': '<i2', 'fortran_order': False, 'shape': (4,), }"),
    /^a\.npy: unsupported dtype descr '<i2'; expected one of '<i4', '<f4', '\|u1', '<i8', '<f8'$/,
  );
  assertUserError(file("{'descr': [('x', '<i4')], 'fortran_order': False, 'shape': (2,), }"), /^a\.npy: descr .* is a structured dtype/);
  assertUserError(file("{'descr': '<i4', 'shape': (2,), }"), /^a\.npy: header keys are \[descr, shape\]; expected \[descr, fortran_order, shape\]/);
  assertUserError(file("{'descr': '<i4', 'fortran_order': False, 'shape': (2,), "), /^a\.npy: header is not a Python dict literal/);
  assertUserError(file("{'descr': '<i4', 'fortran_order': False, 'shape': (-2,), }"), /^a\.npy: shape \[-2\] is not a tuple of non-negative integers/);
  const v4 = encodeNpy(new Int32Array(1), [1]);
  v4[6] = 4;
  assertUserError(() => decodeNpy(v4, 'a.npy'), /^a\.npy: unsupported \.npy version 4\.0; expected 1\.0, 2\.0 or 3\.0/);
});

test('truncated or over-long data is a UserError with the byte counts', () => {
  const bytes = encodeNpy(new Int32Array([1, 2, 3]), [3]);
  assertUserError(() => decodeNpy(bytes.subarray(0, bytes.length - 1), 'c.npy'), /^c\.npy: int32 \[3\] needs 12 data bytes, found 11 \(truncated file\?\)$/);
  assertUserError(() => decodeNpy(Buffer.concat([bytes, Buffer.from([0])]), 'c.npy'), /^c\.npy: int32 \[3\] needs 12 data bytes, found 13$/);
  assertUserError(() => decodeNpy(bytes.subarray(0, 60), 'c.npy'), /^c\.npy: header length 118 runs past the end of the file \(60 bytes\)/);
});

test('the writer rejects a shape that does not match the data', () => {
  assert.throws(() => encodeNpy(new Int32Array(5), [2, 3]), /shape \[2, 3\] has 6 elements but the data has 5/);
});

test('file helpers write atomically and read back; a missing file is a UserError', () => {
  const dir = tempDir();
  const file = path.join(dir, 'codes.npy');
  writeNpyFile(file, new Int32Array([3, 1, 4, 1]), [1, 2, 2]);
  assert.deepEqual(fs.readdirSync(dir), ['codes.npy']);
  const decoded = readNpyFile(file);
  assert.deepEqual(decoded.shape, [1, 2, 2]);
  assert.deepEqual(Array.from(decoded.data), [3, 1, 4, 1]);
  assertUserError(() => readNpyFile(path.join(dir, 'none.npy')), literal(`${dir}/none.npy: file not found`));
});

/** True if `python3` with numpy can run here. */
function numpyAvailable(): boolean {
  const result = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' });
  return result.status === 0;
}

test('agrees with NumPy (or, without NumPy, with hand-built bytes)', (t) => {
  if (!numpyAvailable()) {
    t.diagnostic('numpy not importable by python3: comparing with hand-built bytes instead');
    assert.deepEqual(Buffer.from(encodeNpy(new Int32Array([0, 1, 2, 3, 4, 5]), [2, 3])), Buffer.from(handBuiltInt32x2x3()));
    const u8 = encodeNpy(new Uint8Array([1, 2, 3, 4, 5]), [5]);
    const dict = "{'descr': '|u1', 'fortran_order': False, 'shape': (5,), }" + ' '.repeat(20);
    assert.deepEqual(Buffer.from(u8), Buffer.from(npyFile(dict, Uint8Array.from([1, 2, 3, 4, 5]))));
    return;
  }
  const dir = tempDir();
  const cases: Array<[string, NpyWritable, number[]]> = [
    ['i4_2x3', new Int32Array([0, 1, 2, 3, 4, -5]), [2, 3]],
    ['f4_scalar', new Float32Array([0.25]), []],
    ['u1_5', new Uint8Array([1, 2, 3, 4, 255]), [5]],
    ['i4_ones18', new Int32Array([7]), new Array(18).fill(1)],
    ['f4_long_axis', new Float32Array(0), [0, 123456789]],
  ];
  for (const [name, data, shape] of cases) fs.writeFileSync(path.join(dir, `${name}.ours.npy`), encodeNpy(data, shape));
  // NumPy loads ours and saves the same array: the files must be identical;
  // it also writes an int64 array (its default integer type) for us to read.
  const script = `
import numpy as np, sys, os
d = sys.argv[1]
for name in ${JSON.stringify(cases.map(([name]) => name))}:
    a = np.load(os.path.join(d, name + '.ours.npy'))
    np.save(os.path.join(d, name + '.numpy.npy'), a)
    print(name, a.dtype.str, a.shape, a.ravel().tolist())
np.save(os.path.join(d, 'i8.numpy.npy'), np.arange(-3, 3).reshape(2, 3))
`;
  const result = spawnSync('python3', ['-c', script, dir], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  const lines = result.stdout.trim().split('\n');
  assert.equal(lines[0], 'i4_2x3 <i4 (2, 3) [0, 1, 2, 3, 4, -5]');
  assert.equal(lines[1], 'f4_scalar <f4 () [0.25]');
  assert.equal(lines[2], 'u1_5 |u1 (5,) [1, 2, 3, 4, 255]');
  for (const [name] of cases) {
    const ours = fs.readFileSync(path.join(dir, `${name}.ours.npy`));
    const theirs = fs.readFileSync(path.join(dir, `${name}.numpy.npy`));
    assert.deepEqual(ours, theirs, `${name}: NumPy writes the same bytes`);
  }
  const i8 = readNpyFile(path.join(dir, 'i8.numpy.npy'));
  assert.equal(i8.dtype, 'int64');
  assert.deepEqual(i8.shape, [2, 3]);
  assert.deepEqual(Array.from(i8.data), [-3, -2, -1, 0, 1, 2]);
});
