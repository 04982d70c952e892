/**
 * NumPy's .npy format (numpy.lib.format), for arrays that Python reads with
 * `np.load` and writes with `np.save`: the code grids of `vqvae encode` are
 * int32 arrays of shape [N, h, w].
 *
 * Layout of a file:
 *
 *   bytes [0, 6)    magic "\x93NUMPY"
 *   bytes [6, 8)    version major, minor: 1.0 (u16 header length), 2.0 or
 *                   3.0 (u32 header length; 3.0 allows a UTF-8 header)
 *   then            the header length L, little-endian, and L bytes of a Python
 *                   dict literal, space-padded and ending in "\n", e.g.
 *                   {'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }
 *   then            product(shape) elements, row-major (C order)
 *
 * Example: int32 [2, 3] is a 10-byte prefix, a 118-byte header (data starts
 * at 128, a multiple of 64) and 24 bytes of data: 152 bytes in all.
 *
 * The writer makes the header byte-for-byte what `np.save` writes (including
 * the spare spaces numpy leaves so the first axis can grow in place). The
 * reader accepts '<i4', '<f4', '|u1', '<f8' and '<i8'; int64 arrays, numpy's
 * default integer type, are narrowed to Int32Array when every value fits.
 * Fortran order, big-endian and other dtypes are `UserError`s.
 *
 * Bytes only; npyFile.ts reads and writes files (Node).
 */
import { UserError } from '../errors.js';

/** The element type stored in the file. */
export type NpyDtype = 'int32' | 'float32' | 'uint8' | 'int64' | 'float64';

/** What the writer takes. */
export type NpyWritable = Int32Array | Float32Array | Uint8Array;

export interface NpyArray {
  /**
   * Row-major elements: Int32Array for int32 and for int64 (narrowed),
   * Float32Array, Uint8Array or Float64Array. To accept integer codes from
   * either int32 or int64 files, test `data instanceof Int32Array`.
   */
  data: Int32Array | Float32Array | Uint8Array | Float64Array;
  shape: number[];
  /** The dtype the file stores (int64 even when `data` was narrowed to int32). */
  dtype: NpyDtype;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"
/** numpy pads so the data starts at a multiple of this (mmap-friendly). */
const ARRAY_ALIGN = 64;
/** numpy leaves room for this many digits in the growing axis. */
const GROWTH_AXIS_MAX_DIGITS = 21;

interface DescrInfo {
  dtype: NpyDtype;
  itemSize: number;
}

/** Accepted `descr` strings. One-byte types have no byte order: '|'. */
const DESCRS: Record<string, DescrInfo> = {
  '<i4': { dtype: 'int32', itemSize: 4 },
  '<f4': { dtype: 'float32', itemSize: 4 },
  '|u1': { dtype: 'uint8', itemSize: 1 },
  '<u1': { dtype: 'uint8', itemSize: 1 },
  '<i8': { dtype: 'int64', itemSize: 8 },
  '<f8': { dtype: 'float64', itemSize: 8 },
};
const WRITTEN_DESCRS = ["'<i4'", "'<f4'", "'|u1'", "'<i8'", "'<f8'"];

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function swapBytesInPlace(bytes: Uint8Array, itemSize: number): void {
  if (itemSize === 1) return;
  for (let i = 0; i < bytes.length; i += itemSize) bytes.subarray(i, i + itemSize).reverse();
}

function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function descrOf(data: NpyWritable): string {
  if (data instanceof Int32Array) return '<i4';
  if (data instanceof Float32Array) return '<f4';
  if (data instanceof Uint8Array) return '|u1';
  throw new Error(`npy: expected an Int32Array, Float32Array or Uint8Array; found ${(data as object).constructor.name}`);
}

/** Python's repr of a tuple of ints: (), (5,), (2, 3). */
function tupleRepr(shape: readonly number[]): string {
  if (shape.length === 1) return `(${shape[0]},)`;
  return `(${shape.join(', ')})`;
}

/** The dict literal exactly as numpy's `_write_array_header` spells it. */
function headerText(descr: string, shape: readonly number[]): string {
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${tupleRepr(shape)}, }`;
  const growth = shape.length > 0 ? Math.max(0, GROWTH_AXIS_MAX_DIGITS - String(shape[0]).length) : 0;
  return dict + ' '.repeat(growth);
}

/**
 * The header length after padding, as numpy's `_wrap_header` computes it:
 * numpy adds a full ARRAY_ALIGN of spaces when already aligned; so do we.
 */
function paddedHeaderLength(textLength: number, prefixLength: number): number {
  const unpadded = prefixLength + textLength + 1; // + the final '\n'
  return textLength + 1 + (ARRAY_ALIGN - (unpadded % ARRAY_ALIGN));
}

/** `text` as latin1 bytes (as Node's Buffer.from(text, 'latin1'): each char code's low byte). */
function latin1Bytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff;
  return out;
}

/**
 * The magic, version, length and padded header: version 1.0 while the header
 * length fits a u16, else 2.0 (as numpy chooses).
 */
function wrapHeader(text: string): Uint8Array {
  const textBytes = latin1Bytes(text);
  const version = paddedHeaderLength(textBytes.length, 10) <= 0xffff ? 1 : 2;
  const prefixLength = version === 1 ? 10 : 12;
  const headerLength = paddedHeaderLength(textBytes.length, prefixLength);
  const out = new Uint8Array(prefixLength + headerLength);
  out.set(MAGIC, 0);
  out[6] = version;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, headerLength, true);
  else view.setUint32(8, headerLength, true);
  out.set(textBytes, prefixLength);
  out.fill(0x20, prefixLength + textBytes.length, out.length - 1);
  out[out.length - 1] = 0x0a;
  return out;
}

/** The bytes of a .npy file holding `data` with `shape` (C order, little-endian). */
export function encodeNpy(data: NpyWritable, shape: number[]): Uint8Array {
  const descr = descrOf(data);
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new Error(`npy: shape [${shape.join(', ')}] must hold non-negative integers`);
  }
  if (product(shape) !== data.length) {
    throw new Error(`npy: shape [${shape.join(', ')}] has ${product(shape)} elements but the data has ${data.length}`);
  }
  const header = wrapHeader(headerText(descr, shape));
  const out = new Uint8Array(header.length + data.byteLength);
  out.set(header, 0);
  const body = out.subarray(header.length);
  body.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  if (!HOST_LITTLE_ENDIAN) swapBytesInPlace(body, data.BYTES_PER_ELEMENT);
  return out;
}

// ---- reading the header: a small parser for the Python literals numpy writes

type PyValue = string | number | boolean | null | PyValue[] | Map<string, PyValue>;

/**
 * Parses a Python literal made of dicts, tuples, lists, strings, ints,
 * True/False/None: the subset `ast.literal_eval` sees in .npy headers.
 * Throws a plain Error with the position on anything else.
 */
function parsePyLiteral(text: string): PyValue {
  let pos = 0;
  const fail = (what: string): never => {
    throw new Error(`${what} at character ${pos}`);
  };
  const skipSpace = (): void => {
    while (pos < text.length && /\s/.test(text[pos]!)) pos += 1;
  };
  const expect = (ch: string): void => {
    skipSpace();
    if (text[pos] !== ch) fail(`expected '${ch}'`);
    pos += 1;
  };

  function parseString(): string {
    const quote = text[pos]!;
    pos += 1;
    let out = '';
    while (pos < text.length && text[pos] !== quote) {
      // Escapes do not occur in numpy's descr strings; keep the escaped char.
      if (text[pos] === '\\') pos += 1;
      out += text[pos] ?? '';
      pos += 1;
    }
    if (pos >= text.length) fail('unterminated string');
    pos += 1;
    return out;
  }

  function parseSequence(close: string): PyValue[] {
    pos += 1;
    const items: PyValue[] = [];
    for (;;) {
      skipSpace();
      if (text[pos] === close) break;
      items.push(parseValue());
      skipSpace();
      if (text[pos] === ',') pos += 1;
      else if (text[pos] !== close) fail(`expected ',' or '${close}'`);
    }
    pos += 1;
    return items;
  }

  function parseDict(): Map<string, PyValue> {
    pos += 1;
    const dict = new Map<string, PyValue>();
    for (;;) {
      skipSpace();
      if (text[pos] === '}') break;
      const key = parseValue();
      if (typeof key !== 'string') fail('expected a string key');
      expect(':');
      dict.set(key as string, parseValue());
      skipSpace();
      if (text[pos] === ',') pos += 1;
      else if (text[pos] !== '}') fail("expected ',' or '}'");
    }
    pos += 1;
    return dict;
  }

  function parseValue(): PyValue {
    skipSpace();
    const ch = text[pos];
    if (ch === '{') return parseDict();
    if (ch === '(') return parseSequence(')');
    if (ch === '[') return parseSequence(']');
    if (ch === "'" || ch === '"') return parseString();
    // Python 2 wrote longs as 3L.
    const number = /^-?\d+L?/.exec(text.slice(pos));
    if (number) {
      pos += number[0].length;
      return Number.parseInt(number[0], 10);
    }
    for (const [word, value] of [['True', true], ['False', false], ['None', null]] as const) {
      if (text.startsWith(word, pos)) {
        pos += word.length;
        return value;
      }
    }
    return fail('unexpected input');
  }

  const value = parseValue();
  skipSpace();
  if (pos !== text.length) fail('unexpected trailing input');
  return value;
}

interface NpyHeader {
  descr: DescrInfo;
  shape: number[];
  dataStart: number;
}

/** Bytes for a message: printable ASCII as is, anything else as \xNN. */
function printable(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => (b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`)).join('');
}

/** Reads the prefix and header dict; every problem is a UserError naming `file`. */
function readHeader(bytes: Uint8Array, file: string): NpyHeader {
  const fail = (msg: string): never => {
    throw new UserError(`${file}: ${msg}`);
  };
  if (bytes.length < 10 || !MAGIC.every((b, i) => bytes[i] === b)) {
    fail(`not a .npy file: expected it to start with "\\x93NUMPY", found "${printable(bytes.subarray(0, 6))}"`);
  }
  const major = bytes[6]!;
  const minor = bytes[7]!;
  if (![1, 2, 3].includes(major) || minor !== 0) {
    fail(`unsupported .npy version ${major}.${minor}; expected 1.0, 2.0 or 3.0`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const prefixLength = major === 1 ? 10 : 12;
  if (bytes.length < prefixLength) fail(`truncated: the header length needs ${prefixLength} bytes, found ${bytes.length}`);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const dataStart = prefixLength + headerLength;
  if (dataStart > bytes.length) {
    fail(`header length ${headerLength} runs past the end of the file (${bytes.length} bytes)`);
  }
  const headerBytes = bytes.subarray(prefixLength, dataStart);
  const text = major === 3 ? new TextDecoder().decode(headerBytes) : String.fromCharCode(...headerBytes);

  let dict: PyValue;
  try {
    dict = parsePyLiteral(text);
  } catch (error) {
    return fail(`header is not a Python dict literal (${(error as Error).message}): ${JSON.stringify(text.trim())}`);
  }
  if (!(dict instanceof Map)) return fail(`header is not a dict: ${JSON.stringify(text.trim())}`);
  const keys = [...dict.keys()].sort();
  if (keys.join() !== 'descr,fortran_order,shape') {
    fail(`header keys are [${keys.join(', ')}]; expected [descr, fortran_order, shape]`);
  }

  const descr = dict.get('descr');
  if (typeof descr !== 'string') {
    return fail(`descr ${JSON.stringify(descr)} is a structured dtype; expected one of ${WRITTEN_DESCRS.join(', ')}`);
  }
  if (descr.startsWith('>')) {
    fail(`descr '${descr}' is big-endian; expected little-endian (in numpy: a.astype('<${descr.slice(1)}'))`);
  }
  const info = DESCRS[descr];
  if (info === undefined) fail(`unsupported dtype descr '${descr}'; expected one of ${WRITTEN_DESCRS.join(', ')}`);

  const fortran = dict.get('fortran_order');
  if (fortran === true) {
    fail('fortran_order is True; expected C order (in numpy: np.save(path, np.ascontiguousarray(a)))');
  }
  if (fortran !== false) fail(`fortran_order ${JSON.stringify(fortran)} is not a bool`);

  const shape = dict.get('shape');
  if (!Array.isArray(shape) || !shape.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)) {
    fail(`shape ${JSON.stringify(shape)} is not a tuple of non-negative integers`);
  }
  return { descr: info!, shape: shape as number[], dataStart };
}

/** int64 values as int32, or a UserError naming the first that does not fit. */
function narrowInt64(wide: BigInt64Array, file: string): Int32Array {
  const narrow = new Int32Array(wide.length);
  for (let i = 0; i < wide.length; i++) {
    const v = wide[i]!;
    if (v < -2147483648n || v > 2147483647n) {
      throw new UserError(`${file}: int64 value ${v} at index ${i} does not fit in int32; expected values in [-2^31, 2^31)`);
    }
    narrow[i] = Number(v);
  }
  return narrow;
}

/** Parses the bytes of a .npy file (see the file header for what is accepted). */
export function decodeNpy(bytes: Uint8Array, file = '.npy data'): NpyArray {
  const { descr, shape, dataStart } = readHeader(bytes, file);
  const expected = product(shape) * descr.itemSize;
  const found = bytes.length - dataStart;
  if (found !== expected) {
    throw new UserError(
      `${file}: ${descr.dtype} [${shape.join(', ')}] needs ${expected} data bytes, found ${found}${found < expected ? ' (truncated file?)' : ''}`,
    );
  }
  // Copy into a fresh buffer: the data's offset in `bytes` (a pooled Buffer,
  // or an old 16-byte-aligned header) need not suit a typed array.
  const copy = new Uint8Array(expected);
  copy.set(bytes.subarray(dataStart));
  if (!HOST_LITTLE_ENDIAN) swapBytesInPlace(copy, descr.itemSize);
  switch (descr.dtype) {
    case 'int32':
      return { data: new Int32Array(copy.buffer), shape, dtype: 'int32' };
    case 'float32':
      return { data: new Float32Array(copy.buffer), shape, dtype: 'float32' };
    case 'uint8':
      return { data: copy, shape, dtype: 'uint8' };
    case 'float64':
      return { data: new Float64Array(copy.buffer), shape, dtype: 'float64' };
    case 'int64':
      return { data: narrowInt64(new BigInt64Array(copy.buffer), file), shape, dtype: 'int64' };
    default: {
      const unknown: never = descr.dtype;
      throw new Error(`npy: unhandled dtype ${String(unknown)}`);
    }
  }
}
