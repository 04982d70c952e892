/**
 * The safetensors file format (https://github.com/huggingface/safetensors),
 * read and written from typed arrays, so files move between this library and
 * Python (`safetensors.numpy.load_file`, `safetensors.torch.load_file`).
 *
 * Layout of a file, all integers little-endian:
 *
 *   bytes [0, 8)         N, an unsigned 64-bit header length
 *   bytes [8, 8 + N)     a UTF-8 JSON object, padded with spaces to a multiple of 8:
 *                          {"__metadata__": {"key": "value", ...},          (optional)
 *                           "name": {"dtype": "F32", "shape": [2, 3],
 *                                    "data_offsets": [begin, end]}, ...}
 *   bytes [8 + N, end)   the data section: each tensor's elements, row-major,
 *                        at [begin, end) relative to the start of the section
 *
 * Contract: the tensors tile the data section exactly (the first starts at 0,
 * each starts where the previous one ends, the last ends at the end of the
 * file) and end - begin = product(shape) * itemsize. A shape of [] is a
 * scalar (one element); a 0 in the shape is an empty tensor.
 *
 * Example: {w: F32 [2, 3]} has data_offsets [0, 24] and a file of
 * 8 + N + 24 bytes.
 *
 * The writer orders tensors as the reference Rust writer does (larger item
 * sizes first, then by name), so every tensor starts at a multiple of its item
 * size and, for the same tensors and at most one metadata key, the bytes are
 * identical to Python's `save_file`. The reader copies each tensor into its own
 * buffer, because a Float32Array cannot be created at an odd byte offset.
 *
 * Bytes only, no file system: the browser page imports this file; reading and
 * writing files is in safetensorsFile.ts.
 */
import { UserError } from '../errors.js';

/** The dtypes this library reads and writes (a subset of the format's). */
export type SafetensorsDtype = 'F32' | 'I32' | 'U8' | 'I64' | 'F64';

export type TensorData = Float32Array | Int32Array | Uint8Array | BigInt64Array | Float64Array;

/** One tensor: row-major `data` of `product(shape)` elements. */
export interface NamedTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  data: TensorData;
}

export interface DecodedSafetensors {
  tensors: Record<string, NamedTensor>;
  /** The `__metadata__` object; `{}` when the file has none. */
  metadata: Record<string, string>;
}

interface DtypeInfo {
  itemSize: number;
  /**
   * Position in the reference implementation's `Dtype` enum, which lists
   * dtypes in increasing alignment; the writer sorts by it, descending.
   */
  enumOrder: number;
  /** The typed array this dtype is held in. */
  arrayName: string;
  isArray(data: TensorData): boolean;
  fromBuffer(buffer: ArrayBuffer): TensorData;
}

const DTYPES: Record<SafetensorsDtype, DtypeInfo> = {
  U8: {
    itemSize: 1,
    enumOrder: 1,
    arrayName: 'Uint8Array',
    // A Buffer is a Uint8Array too, and welcome.
    isArray: (d) => d instanceof Uint8Array,
    fromBuffer: (b) => new Uint8Array(b),
  },
  I32: {
    itemSize: 4,
    enumOrder: 9,
    arrayName: 'Int32Array',
    isArray: (d) => d instanceof Int32Array,
    fromBuffer: (b) => new Int32Array(b),
  },
  F32: {
    itemSize: 4,
    enumOrder: 11,
    arrayName: 'Float32Array',
    isArray: (d) => d instanceof Float32Array,
    fromBuffer: (b) => new Float32Array(b),
  },
  F64: {
    itemSize: 8,
    enumOrder: 12,
    arrayName: 'Float64Array',
    isArray: (d) => d instanceof Float64Array,
    fromBuffer: (b) => new Float64Array(b),
  },
  I64: {
    itemSize: 8,
    enumOrder: 13,
    arrayName: 'BigInt64Array',
    isArray: (d) => d instanceof BigInt64Array,
    fromBuffer: (b) => new BigInt64Array(b),
  },
};

/** Every dtype string the format defines, to tell "unsupported" from "unknown". */
const FORMAT_DTYPES = [
  'BOOL', 'U8', 'I8', 'F8_E5M2', 'F8_E4M3', 'I16', 'U16', 'F16', 'BF16',
  'I32', 'U32', 'F32', 'F64', 'I64', 'U64',
];

export const SAFETENSORS_DTYPES = Object.keys(DTYPES) as SafetensorsDtype[];

/** The reference reader refuses larger headers; so do we (a corrupt length). */
const MAX_HEADER_BYTES = 100_000_000;
const METADATA_KEY = '__metadata__';

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Reverses each `itemSize`-byte group: the file is little-endian, a few hosts are not. */
function swapBytesInPlace(bytes: Uint8Array, itemSize: number): void {
  if (itemSize === 1) return;
  for (let i = 0; i < bytes.length; i += itemSize) {
    bytes.subarray(i, i + itemSize).reverse();
  }
}

function isDtype(name: string): name is SafetensorsDtype {
  return Object.prototype.hasOwnProperty.call(DTYPES, name);
}

function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Orders strings by their UTF-8 bytes, as Rust's `String::cmp` does. */
function compareUtf8(a: string, b: string): number {
  const x = utf8.encode(a);
  const y = utf8.encode(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

// TextEncoder rather than Buffer: this file also runs in the browser.
const utf8 = new TextEncoder();

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isIndex(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** Checks a tensor handed to the writer; a mistake here is a bug, not a user error. */
function checkTensorToWrite(name: string, tensor: NamedTensor): void {
  if (name === METADATA_KEY) {
    throw new Error(`safetensors: '${METADATA_KEY}' is reserved and cannot name a tensor`);
  }
  if (!isDtype(tensor.dtype)) {
    throw new Error(
      `safetensors: tensor '${name}' has dtype ${String(tensor.dtype)}; expected one of ${SAFETENSORS_DTYPES.join(', ')}`,
    );
  }
  const info = DTYPES[tensor.dtype];
  if (!info.isArray(tensor.data)) {
    throw new Error(
      `safetensors: tensor '${name}' is ${tensor.dtype}, so its data must be a ${info.arrayName}; found ${tensor.data.constructor.name}`,
    );
  }
  if (!tensor.shape.every((d) => isIndex(d))) {
    throw new Error(`safetensors: tensor '${name}' has shape [${tensor.shape.join(', ')}]; expected non-negative integers`);
  }
  if (product(tensor.shape) !== tensor.data.length) {
    throw new Error(
      `safetensors: tensor '${name}' has shape [${tensor.shape.join(', ')}] (${product(tensor.shape)} elements) but ${tensor.data.length} values`,
    );
  }
}

/** Larger item sizes first, then by name: the reference writer's order. */
function writeOrder(tensors: Record<string, NamedTensor>): string[] {
  return Object.keys(tensors).sort(
    (a, b) =>
      DTYPES[tensors[b]!.dtype].enumOrder - DTYPES[tensors[a]!.dtype].enumOrder || compareUtf8(a, b),
  );
}

/** The JSON header, with keys in the order given (so a tensor named "0" is not moved first). */
function headerJson(
  names: string[],
  tensors: Record<string, NamedTensor>,
  metadata: Record<string, string> | undefined,
): string {
  const entries: string[] = [];
  if (metadata !== undefined) {
    const keys = Object.keys(metadata).sort(compareUtf8);
    const pairs = keys.map((key) => {
      const value = metadata[key];
      if (typeof value !== 'string') {
        throw new Error(`safetensors: metadata '${key}' must be a string; found ${typeof value}`);
      }
      return `${JSON.stringify(key)}:${JSON.stringify(value)}`;
    });
    entries.push(`${JSON.stringify(METADATA_KEY)}:{${pairs.join(',')}}`);
  }
  let offset = 0;
  for (const name of names) {
    const tensor = tensors[name]!;
    const end = offset + tensor.data.byteLength;
    const info = { dtype: tensor.dtype, shape: tensor.shape, data_offsets: [offset, end] };
    entries.push(`${JSON.stringify(name)}:${JSON.stringify(info)}`);
    offset = end;
  }
  return `{${entries.join(',')}}`;
}

/**
 * Serializes `tensors` (and optional string metadata, written as
 * `__metadata__`) to the bytes of a safetensors file. Deterministic: the same
 * input always gives the same bytes.
 */
export function encodeSafetensors(
  tensors: Record<string, NamedTensor>,
  metadata?: Record<string, string>,
): Uint8Array {
  for (const [name, tensor] of Object.entries(tensors)) checkTensorToWrite(name, tensor);
  const names = writeOrder(tensors);
  const json = utf8.encode(headerJson(names, tensors, metadata));
  // Spaces up to a multiple of 8, so the data section starts 8-byte aligned.
  const headerLength = Math.ceil(json.length / 8) * 8;
  const dataLength = names.reduce((sum, name) => sum + tensors[name]!.data.byteLength, 0);

  const out = new Uint8Array(8 + headerLength + dataLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  let offset = 8 + headerLength;
  for (const name of names) {
    const { data, dtype } = tensors[name]!;
    const bytes = out.subarray(offset, offset + data.byteLength);
    bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    if (!HOST_LITTLE_ENDIAN) swapBytesInPlace(bytes, DTYPES[dtype].itemSize);
    offset += data.byteLength;
  }
  return out;
}

/** A tensor's header entry after validation. */
interface TensorEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  begin: number;
  end: number;
}

/** Reads and checks the `__metadata__` object. */
function parseMetadata(value: unknown, fail: (msg: string) => never): Record<string, string> {
  // The reference reader takes null as "no metadata" (a Rust Option).
  if (value === null) return {};
  if (!isPlainObject(value)) fail(`'${METADATA_KEY}' must be an object of strings; found ${JSON.stringify(value)}`);
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== 'string') fail(`'${METADATA_KEY}' value '${key}' must be a string; found ${JSON.stringify(v)}`);
  }
  return value as Record<string, string>;
}

/** Reads and checks one tensor's `{dtype, shape, data_offsets}`. */
function parseEntry(name: string, value: unknown, fail: (msg: string) => never): TensorEntry {
  if (!isPlainObject(value)) fail(`tensor '${name}': expected an object with dtype, shape, data_offsets; found ${JSON.stringify(value)}`);
  const { dtype, shape, data_offsets: offsets } = value;
  if (typeof dtype !== 'string' || !isDtype(dtype)) {
    const known = typeof dtype === 'string' && FORMAT_DTYPES.includes(dtype);
    fail(
      `tensor '${name}' has ${known ? 'unsupported' : 'unknown'} dtype ${JSON.stringify(dtype)}; expected one of ${SAFETENSORS_DTYPES.join(', ')}`,
    );
  }
  if (!Array.isArray(shape) || !shape.every(isIndex)) {
    fail(`tensor '${name}' has shape ${JSON.stringify(shape)}; expected an array of non-negative integers`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isIndex) || offsets[0] > offsets[1]) {
    fail(`tensor '${name}' has data_offsets ${JSON.stringify(offsets)}; expected [begin, end] with 0 <= begin <= end`);
  }
  return { name, dtype, shape: [...shape], begin: offsets[0], end: offsets[1] };
}

/**
 * Checks that the entries tile [0, dataLength) exactly and that each one's
 * byte count matches its shape and dtype. Sorts `entries` by offset.
 */
function checkLayout(entries: TensorEntry[], dataLength: number, fail: (msg: string) => never): void {
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expectedBegin = 0;
  let previous: TensorEntry | undefined;
  for (const entry of entries) {
    const where = `tensor '${entry.name}' data_offsets [${entry.begin}, ${entry.end}]`;
    if (entry.end > dataLength) {
      fail(`${where} run past the end of the data section: expected end <= ${dataLength}, found ${entry.end} (truncated file?)`);
    }
    const expectedBytes = product(entry.shape) * DTYPES[entry.dtype].itemSize;
    if (entry.end - entry.begin !== expectedBytes) {
      fail(
        `${where} hold ${entry.end - entry.begin} bytes, but ${entry.dtype} [${entry.shape.join(', ')}] needs ${expectedBytes}`,
      );
    }
    if (entry.begin < expectedBegin) {
      fail(`${where} overlap tensor '${previous!.name}' [${previous!.begin}, ${previous!.end}]`);
    }
    if (entry.begin > expectedBegin) {
      fail(`${where} leave a gap: bytes [${expectedBegin}, ${entry.begin}) of the data section belong to no tensor`);
    }
    expectedBegin = entry.end;
    previous = entry;
  }
  if (expectedBegin !== dataLength) {
    fail(`the data section has ${dataLength} bytes but the tensors cover only ${expectedBegin}; expected them to cover it exactly`);
  }
}

/** Copies a tensor's bytes into a fresh, aligned buffer of the right type. */
function copyTensor(bytes: Uint8Array, start: number, entry: TensorEntry): TensorData {
  // Not `bytes.slice`: on a Node Buffer that is a view, not a copy, and the
  // view's offset may not be a multiple of the item size.
  const copy = new Uint8Array(entry.end - entry.begin);
  copy.set(bytes.subarray(start + entry.begin, start + entry.end));
  const info = DTYPES[entry.dtype];
  if (!HOST_LITTLE_ENDIAN) swapBytesInPlace(copy, info.itemSize);
  return info.fromBuffer(copy.buffer);
}

/**
 * Parses a safetensors file held in memory. Every inconsistency is a
 * `UserError` that names `file` and says what was expected and found.
 */
export function decodeSafetensors(bytes: Uint8Array, file = 'safetensors data'): DecodedSafetensors {
  const fail: (msg: string) => never = (msg) => {
    throw new UserError(`${file}: ${msg}`);
  };
  if (bytes.length < 8) {
    fail(`too short to be a safetensors file: expected at least 8 bytes, found ${bytes.length}`);
  }
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (headerLength > BigInt(MAX_HEADER_BYTES)) {
    fail(`header length ${headerLength} is over the ${MAX_HEADER_BYTES}-byte limit; not a safetensors file?`);
  }
  const n = Number(headerLength);
  if (8 + n > bytes.length) {
    fail(`header length ${n} runs past the end of the file: expected at most ${bytes.length - 8}, found ${n}`);
  }

  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    return fail('header is not valid UTF-8');
  }
  if (!text.startsWith('{')) {
    fail(`header must start with '{'; found ${JSON.stringify(text.slice(0, 16))}`);
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (error) {
    return fail(`header is not valid JSON (${(error as Error).message})`);
  }
  if (!isPlainObject(header)) return fail('header must be a JSON object');

  let metadata: Record<string, string> = {};
  const entries: TensorEntry[] = [];
  for (const [name, value] of Object.entries(header)) {
    if (name === METADATA_KEY) metadata = parseMetadata(value, fail);
    else entries.push(parseEntry(name, value, fail));
  }
  // JSON.parse keeps the last of duplicate names; the bytes of the others then
  // belong to no tensor, and checkLayout reports the gap.
  const dataStart = 8 + n;
  checkLayout(entries, bytes.length - dataStart, fail);

  const tensors = Object.fromEntries(
    entries.map((e): [string, NamedTensor] => [
      e.name,
      { dtype: e.dtype, shape: e.shape, data: copyTensor(bytes, dataStart, e) },
    ]),
  );
  return { tensors, metadata: { ...metadata } };
}
