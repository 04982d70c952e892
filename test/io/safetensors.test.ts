/**
 * safetensors: round trips of every dtype (NaN, -0, extremes, scalars, empty
 * tensors, unaligned input), byte-exact checks against the reference Rust
 * crate's own test vectors and against a file built by hand from the spec,
 * and every corrupt-file case, asserting the UserError text.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { UserError } from '../../src/errors.js';
import { decodeSafetensors, encodeSafetensors, type NamedTensor } from '../../src/io/safetensors.js';
import { readSafetensorsFile, writeSafetensorsFile } from '../../src/io/safetensorsFile.js';
import { assertUserError, literal, tempDir } from './helpers.js';

/** A file from a header string and data bytes, padded as the spec says. */
function fileFrom(header: string, data: number[] | Uint8Array = [], pad = true): Uint8Array {
  const json = Buffer.from(header, 'utf8');
  const length = pad ? Math.ceil(json.length / 8) * 8 : json.length;
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(length));
  return Buffer.concat([prefix, json, Buffer.alloc(length - json.length, 0x20), Buffer.from(data)]);
}

function allDtypes(): Record<string, NamedTensor> {
  return {
    f32: { dtype: 'F32', shape: [2, 3], data: new Float32Array([0, -0, 1.5, NaN, Infinity, -3.25e-38]) },
    i32: { dtype: 'I32', shape: [4], data: new Int32Array([0, -1, 2147483647, -2147483648]) },
    u8: { dtype: 'U8', shape: [3, 1], data: new Uint8Array([0, 128, 255]) },
    i64: { dtype: 'I64', shape: [2], data: new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n]) },
    f64: { dtype: 'F64', shape: [1, 1, 2], data: new Float64Array([Math.PI, -1e300]) },
    scalar: { dtype: 'F32', shape: [], data: new Float32Array([7]) },
    empty: { dtype: 'I32', shape: [0, 5], data: new Int32Array(0) },
  };
}

test('every dtype survives a round trip, values, shapes and metadata intact', () => {
  const tensors = allDtypes();
  const metadata = { step: '1200', note: 'ünïcode ✓' };
  const decoded = decodeSafetensors(encodeSafetensors(tensors, metadata));
  assert.deepEqual(decoded.metadata, metadata);
  assert.deepEqual(Object.keys(decoded.tensors).sort(), Object.keys(tensors).sort());
  for (const [name, tensor] of Object.entries(tensors)) {
    const got = decoded.tensors[name]!;
    assert.equal(got.dtype, tensor.dtype, name);
    assert.deepEqual(got.shape, tensor.shape, name);
    assert.equal(got.data.constructor, tensor.data.constructor, name);
    // deepEqual treats NaN as equal to NaN and tells -0 from 0 (Object.is).
    assert.deepEqual(Array.from(got.data as ArrayLike<number | bigint>), Array.from(tensor.data as ArrayLike<number | bigint>), name);
  }
});

test('decoding from an odd byte offset gives aligned copies, not views', () => {
  const bytes = encodeSafetensors(allDtypes());
  const shifted = Buffer.alloc(bytes.length + 1);
  shifted.set(bytes, 1);
  const decoded = decodeSafetensors(shifted.subarray(1));
  for (const [name, tensor] of Object.entries(decoded.tensors)) {
    assert.equal(tensor.data.byteOffset % tensor.data.BYTES_PER_ELEMENT, 0, name);
    assert.notEqual(tensor.data.buffer, shifted.buffer, `${name} must not share the input's memory`);
  }
  assert.equal((decoded.tensors.f64!.data as Float64Array)[0], Math.PI);
});

test('encoding a view of a larger buffer writes only the view', () => {
  const backing = new Float32Array([9, 1, 2, 9]);
  const bytes = encodeSafetensors({ w: { dtype: 'F32', shape: [2], data: backing.subarray(1, 3) } });
  assert.deepEqual(Array.from(decodeSafetensors(bytes).tensors.w!.data as Float32Array), [1, 2]);
});

// The next three byte arrays are the reference implementation's own unit-test
// vectors (huggingface/safetensors, safetensors/src/tensor.rs), written by Rust.
test('matches the reference writer byte for byte (test_serialization_forced_alignement)', () => {
  const expected = [
    72, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 48, 34, 58, 123, 34, 100, 116, 121, 112, 101, 34, 58, 34,
    70, 51, 50, 34, 44, 34, 115, 104, 97, 112, 101, 34, 58, 91, 49, 44, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97,
    116, 97, 95, 111, 102, 102, 115, 101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 32, 32, 32, 32, 32,
    32, 32, 0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64,
  ];
  const data = new Float32Array([0, 1, 2, 3, 4, 5]);
  const bytes = encodeSafetensors({ attn0: { dtype: 'F32', shape: [1, 1, 2, 3], data } });
  assert.deepEqual(Array.from(bytes), expected);
  const decoded = decodeSafetensors(Uint8Array.from(expected));
  assert.deepEqual(decoded.tensors.attn0!.shape, [1, 1, 2, 3]);
  assert.deepEqual(Array.from(decoded.tensors.attn0!.data as Float32Array), [0, 1, 2, 3, 4, 5]);
});

test('matches the reference writer for an empty file, with and without metadata', () => {
  assert.deepEqual(Array.from(encodeSafetensors({})), [8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]);
  const withMetadata = [
    40, 0, 0, 0, 0, 0, 0, 0, 123, 34, 95, 95, 109, 101, 116, 97, 100, 97, 116, 97, 95, 95, 34, 58, 123, 34, 102,
    114, 97, 109, 101, 119, 111, 114, 107, 34, 58, 34, 112, 116, 34, 125, 125, 32, 32, 32, 32, 32,
  ];
  assert.deepEqual(Array.from(encodeSafetensors({}, { framework: 'pt' })), withMetadata);
  assert.deepEqual(decodeSafetensors(Uint8Array.from(withMetadata)), { tensors: {}, metadata: { framework: 'pt' } });
});

test('reads a header that is not padded to 8 bytes (the reference docs example)', () => {
  // From the doc comment of SafeTensors::deserialize: a 60-byte header.
  const header = '{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}';
  assert.equal(Buffer.byteLength(header), 60);
  const decoded = decodeSafetensors(fileFrom(header, new Uint8Array(16), false));
  assert.deepEqual(decoded.tensors.test!.shape, [2, 2]);
  assert.deepEqual(Array.from(decoded.tensors.test!.data as Int32Array), [0, 0, 0, 0]);
});

test('"__metadata__": null reads as no metadata, as in the reference reader', () => {
  assert.deepEqual(decodeSafetensors(fileFrom('{"__metadata__":null}')), { tensors: {}, metadata: {} });
});

test('a mixed file equals one built by hand from the spec', () => {
  const bytes = encodeSafetensors(
    {
      b: { dtype: 'U8', shape: [3], data: new Uint8Array([7, 8, 9]) },
      a: { dtype: 'I32', shape: [2], data: new Int32Array([1, -2]) },
      c: { dtype: 'F64', shape: [1], data: new Float64Array([0.5]) },
      d: { dtype: 'I64', shape: [], data: new BigInt64Array([-3n]) },
      e: { dtype: 'F32', shape: [0], data: new Float32Array(0) },
    },
    { k: 'vv' },
  );
  // Larger dtypes first (I64, F64, F32, I32, U8), as the reference writer orders them.
  const header =
    '{"__metadata__":{"k":"vv"},' +
    '"d":{"dtype":"I64","shape":[],"data_offsets":[0,8]},' +
    '"c":{"dtype":"F64","shape":[1],"data_offsets":[8,16]},' +
    '"e":{"dtype":"F32","shape":[0],"data_offsets":[16,16]},' +
    '"a":{"dtype":"I32","shape":[2],"data_offsets":[16,24]},' +
    '"b":{"dtype":"U8","shape":[3],"data_offsets":[24,27]}}';
  const data = [
    0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // -3 as int64 LE
    0, 0, 0, 0, 0, 0, 0xe0, 0x3f, // 0.5 as float64 LE
    1, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff, // 1, -2 as int32 LE
    7, 8, 9,
  ];
  const expected = fileFrom(header, data);
  assert.equal(header.length, 297); // so 7 spaces of padding, to 304
  assert.equal(expected.length, 8 + 304 + 27);
  assert.deepEqual(Buffer.from(bytes), Buffer.from(expected));
});

test('the same tensors always give the same bytes, whatever the key order', () => {
  const t = allDtypes();
  const reversed = Object.fromEntries(Object.entries(t).reverse());
  assert.deepEqual(encodeSafetensors(t, { b: '2', a: '1' }), encodeSafetensors(reversed, { a: '1', b: '2' }));
});

test('a tensor named like an array index keeps its place in the header', () => {
  const bytes = encodeSafetensors({
    z: { dtype: 'U8', shape: [1], data: new Uint8Array([1]) },
    '0': { dtype: 'U8', shape: [1], data: new Uint8Array([2]) },
  });
  const text = Buffer.from(bytes.subarray(8)).toString('utf8');
  assert.ok(text.startsWith('{"0":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"z":'), text);
  assert.deepEqual(Array.from(decodeSafetensors(bytes).tensors['0']!.data as Uint8Array), [2]);
});

test('the writer refuses mismatched tensors with a plain Error (a bug, not user input)', () => {
  const wrong = (tensor: NamedTensor, name = 'w'): void => {
    assert.throws(
      () => encodeSafetensors({ [name]: tensor }),
      (error: unknown) => error instanceof Error && !(error instanceof UserError),
    );
  };
  wrong({ dtype: 'F32', shape: [3], data: new Float32Array(2) });
  wrong({ dtype: 'F32', shape: [2], data: new Int32Array(2) });
  wrong({ dtype: 'F32', shape: [-1], data: new Float32Array(0) });
  wrong({ dtype: 'F32', shape: [1], data: new Float32Array(1) }, '__metadata__');
  assert.throws(() => encodeSafetensors({ w: { dtype: 'F32', shape: [3], data: new Float32Array(2) } }), /shape \[3\] \(3 elements\) but 2 values/);
  assert.throws(() => encodeSafetensors({ w: { dtype: 'F32', shape: [2], data: new Int32Array(2) } }), /must be a Float32Array; found Int32Array/);
});

test('file helpers write atomically and read back; a missing file is a UserError', () => {
  const dir = tempDir();
  const file = path.join(dir, 'w.safetensors');
  writeSafetensorsFile(file, { w: { dtype: 'U8', shape: [2], data: new Uint8Array([3, 4]) } }, { a: 'b' });
  const decoded = readSafetensorsFile(file);
  assert.deepEqual(decoded.metadata, { a: 'b' });
  assert.deepEqual(Array.from(decoded.tensors.w!.data as Uint8Array), [3, 4]);
  assert.deepEqual(fs.readdirSync(dir), ['w.safetensors']);
  assertUserError(() => readSafetensorsFile(path.join(dir, 'none.safetensors')), literal(`${dir}/none.safetensors: file not found`));
});

// ---- corrupt files: each is a one-line UserError naming the file

const FILE = 'model/weights.safetensors';
const named = literal(`${FILE}: `);
const decodeBad = (bytes: Uint8Array) => () => decodeSafetensors(bytes, FILE);

test('corrupt: shorter than the 8-byte length prefix', () => {
  assertUserError(decodeBad(new Uint8Array(3)), named, /too short to be a safetensors file: expected at least 8 bytes, found 3/);
});

test('corrupt: header length runs past the end of the file', () => {
  const bytes = fileFrom('{}', [1, 2, 3]);
  new DataView(bytes.buffer, bytes.byteOffset).setBigUint64(0, 1000n, true);
  assertUserError(decodeBad(bytes), named, /header length 1000 runs past the end of the file: expected at most 11, found 1000/);
});

test('corrupt: absurd header length (not a safetensors file)', () => {
  const bytes = Buffer.alloc(16);
  bytes.writeBigUInt64LE(2n ** 62n);
  assertUserError(decodeBad(bytes), named, /header length 4611686018427387904 is over the 100000000-byte limit/);
});

test('corrupt: header is not UTF-8, does not start with {, or is not JSON', () => {
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(8n);
  assertUserError(decodeBad(Buffer.concat([prefix, Buffer.from([0x7b, 0xff, 0xfe, 0x7d, 32, 32, 32, 32])])), named, /header is not valid UTF-8/);
  assertUserError(decodeBad(fileFrom('[1, 2]')), named, /header must start with '\{'; found "\[1, 2\]  "/);
  assertUserError(decodeBad(fileFrom('{"a": ')), named, /header is not valid JSON \(.+\)/);
});

test('corrupt: unknown and unsupported dtypes list the supported ones', () => {
  const header = (dtype: string) => `{"w":{"dtype":"${dtype}","shape":[1],"data_offsets":[0,2]}}`;
  assertUserError(
    decodeBad(fileFrom(header('Q7'), [0, 0])),
    named,
    /tensor 'w' has unknown dtype "Q7"; expected one of U8, I32, F32, F64, I64$/,
  );
  assertUserError(decodeBad(fileFrom(header('BF16'), [0, 0])), named, /tensor 'w' has unsupported dtype "BF16"; expected one of /);
});

test('corrupt: malformed shape, offsets, entry or metadata', () => {
  assertUserError(
    decodeBad(fileFrom('{"w":{"dtype":"U8","shape":[-1],"data_offsets":[0,0]}}')),
    named,
    /tensor 'w' has shape \[-1\]; expected an array of non-negative integers/,
  );
  assertUserError(
    decodeBad(fileFrom('{"w":{"dtype":"U8","shape":[1],"data_offsets":[1,0]}}', [0])),
    named,
    /tensor 'w' has data_offsets \[1,0\]; expected \[begin, end\] with 0 <= begin <= end/,
  );
  assertUserError(decodeBad(fileFrom('{"w":[1]}')), named, /tensor 'w': expected an object with dtype, shape, data_offsets; found \[1\]/);
  assertUserError(decodeBad(fileFrom('{"__metadata__":{"step":5}}')), named, /'__metadata__' value 'step' must be a string; found 5/);
});

test('corrupt: offsets past the end of the data (a truncated file)', () => {
  const full = encodeSafetensors({ w: { dtype: 'F32', shape: [6], data: new Float32Array(6) } });
  assertUserError(
    decodeBad(full.subarray(0, full.length - 4)),
    named,
    /tensor 'w' data_offsets \[0, 24\] run past the end of the data section: expected end <= 20, found 24 \(truncated file\?\)/,
  );
});

test('corrupt: overlapping tensors', () => {
  const header =
    '{"a":{"dtype":"I32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"I32","shape":[2],"data_offsets":[4,12]}}';
  assertUserError(decodeBad(fileFrom(header, new Array(12).fill(0))), named, /tensor 'b' data_offsets \[4, 12\] overlap tensor 'a' \[0, 8\]/);
});

test('corrupt: a gap between tensors', () => {
  const header =
    '{"a":{"dtype":"I32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"I32","shape":[2],"data_offsets":[12,20]}}';
  assertUserError(
    decodeBad(fileFrom(header, new Array(20).fill(0))),
    named,
    /tensor 'b' data_offsets \[12, 20\] leave a gap: bytes \[8, 12\) of the data section belong to no tensor/,
  );
});

test('corrupt: byte count does not match shape and dtype', () => {
  const header = '{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}';
  assertUserError(decodeBad(fileFrom(header, new Array(8).fill(0))), named, /tensor 'w' data_offsets \[0, 8\] hold 8 bytes, but F32 \[3\] needs 12/);
});

test('corrupt: trailing bytes that no tensor covers', () => {
  const header = '{"w":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}';
  assertUserError(
    decodeBad(fileFrom(header, [1, 2, 3, 4])),
    named,
    /the data section has 4 bytes but the tensors cover only 2; expected them to cover it exactly/,
  );
});

test('corrupt: a duplicated tensor name leaves a gap and is refused', () => {
  const header =
    '{"w":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"w":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}}';
  assertUserError(decodeBad(fileFrom(header, [1, 2, 3, 4])), named, /leave a gap: bytes \[0, 2\)/);
});

test('the default file label appears when no name is given', () => {
  assertUserError(() => decodeSafetensors(new Uint8Array(2)), /^safetensors data: too short/);
});
