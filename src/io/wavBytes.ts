/**
 * WAV files (RIFF/WAVE), mono: read PCM 8-bit (unsigned), 16-, 24- and
 * 32-bit (signed) or 32-bit float samples into floats in [-1, 1], and write
 * them back in any of those formats. WAVE_FORMAT_EXTENSIBLE headers (what
 * sox writes for 24-bit) are read by their sub-format. Chunks other than
 * `fmt ` and `data` (LIST, fact, ...) are skipped.
 *
 * A file that is not a mono WAV of one of these formats is a UserError of
 * one line naming the file and what is wrong: no RIFF/WAVE header, a missing
 * or short `fmt ` chunk, a `data` chunk longer than the file (truncated),
 * two or more channels, an unsupported encoding, or no samples at all.
 *
 * The bytes part, for the browser too (no Node built-in): decodeWav and
 * encodeWavBytes; wav.ts adds the files (readWav, writeWav).
 *
 * Example: `decodeWav(encodeWavBytes(samples, 16000), 'a.wav')` gives
 * { sampleRate: 16000, samples } with 16-bit precision.
 */
import { UserError } from '../errors.js';

export type WavFormat = 'pcm8' | 'pcm16' | 'pcm24' | 'pcm32' | 'float32';

export const WAV_FORMATS: readonly WavFormat[] = ['pcm8', 'pcm16', 'pcm24', 'pcm32', 'float32'];

export interface WavAudio {
  readonly sampleRate: number;
  /** Mono samples in [-1, 1] (float WAVs may exceed it; they are kept as is). */
  readonly samples: Float32Array;
  readonly format: WavFormat;
}

const PCM = 1;
const IEEE_FLOAT = 3;
const EXTENSIBLE = 0xfffe;

/** Decodes the bytes of a mono WAV file; `name` is what errors call it. */
export function decodeWav(bytes: Uint8Array, name: string): WavAudio {
  const fail = (why: string): never => {
    throw new UserError(`${name}: ${why}`);
  };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (at: number) => String.fromCharCode(bytes[at]!, bytes[at + 1]!, bytes[at + 2]!, bytes[at + 3]!);
  if (bytes.length === 0) fail('empty file (zero length), not a WAV file');
  if (bytes.length < 12 || tag(0) !== 'RIFF' || tag(8) !== 'WAVE') fail('not a WAV file (no RIFF/WAVE header)');

  let fmt: { encoding: number; channels: number; sampleRate: number; bits: number } | undefined;
  let data: Uint8Array | undefined;
  let at = 12;
  while (at + 8 <= bytes.length) {
    const id = tag(at);
    const size = view.getUint32(at + 4, true);
    const body = at + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + size > bytes.length) fail(`truncated: the fmt chunk needs ${Math.max(size, 16)} bytes, the file has ${bytes.length - body}`);
      let encoding = view.getUint16(body, true);
      if (encoding === EXTENSIBLE && size >= 40) encoding = view.getUint16(body + 24, true);
      fmt = {
        encoding,
        channels: view.getUint16(body + 2, true),
        sampleRate: view.getUint32(body + 4, true),
        bits: view.getUint16(body + 14, true),
      };
    } else if (id === 'data') {
      if (body + size > bytes.length) {
        fail(`truncated: the data chunk says ${size} bytes, the file holds ${bytes.length - body}`);
      }
      data = bytes.subarray(body, body + size);
      break;
    }
    at = body + size + (size % 2); // chunks are padded to even sizes
  }
  if (fmt === undefined) fail('no fmt chunk before the data: not a valid WAV header');
  const { encoding, channels, sampleRate, bits } = fmt!;
  if (data === undefined) fail('truncated: no data chunk');
  if (channels !== 1) fail(`has ${channels} channels; only mono is read (convert with: sox IN.wav -c 1 OUT.wav)`);
  if (!(sampleRate > 0)) fail(`invalid sample rate ${sampleRate}`);
  const format = formatOf(encoding, bits);
  if (format === undefined) {
    fail(`unsupported encoding (format tag ${encoding}, ${bits} bits); expected PCM 8/16/24/32-bit or float32`);
  }
  const width = bytesPerSample(format!);
  if (data!.length === 0) fail('no audio samples (zero length data)');
  if (data!.length % width !== 0) fail(`truncated: the data holds ${data!.length} bytes, not a whole number of ${width}-byte samples`);
  return { sampleRate, samples: decodeSamples(data!, format!), format: format! };
}

function formatOf(encoding: number, bits: number): WavFormat | undefined {
  if (encoding === PCM) return ({ 8: 'pcm8', 16: 'pcm16', 24: 'pcm24', 32: 'pcm32' } as const)[bits as 8];
  if (encoding === IEEE_FLOAT && bits === 32) return 'float32';
  return undefined;
}

function bytesPerSample(format: WavFormat): number {
  return { pcm8: 1, pcm16: 2, pcm24: 3, pcm32: 4, float32: 4 }[format];
}

function decodeSamples(data: Uint8Array, format: WavFormat): Float32Array {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const n = data.length / bytesPerSample(format);
  const out = new Float32Array(n);
  switch (format) {
    case 'pcm8':
      for (let i = 0; i < n; i++) out[i] = (data[i]! - 128) / 128;
      break;
    case 'pcm16':
      for (let i = 0; i < n; i++) out[i] = view.getInt16(2 * i, true) / 32768;
      break;
    case 'pcm24':
      for (let i = 0; i < n; i++) {
        const v = data[3 * i]! | (data[3 * i + 1]! << 8) | (data[3 * i + 2]! << 16);
        out[i] = ((v << 8) >> 8) / 8388608;
      }
      break;
    case 'pcm32':
      for (let i = 0; i < n; i++) out[i] = view.getInt32(4 * i, true) / 2147483648;
      break;
    case 'float32':
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true);
      break;
  }
  return out;
}

/** The bytes of a mono WAV file; integer formats clip to [-1, 1) and round. */
export function encodeWavBytes(samples: ArrayLike<number>, sampleRate: number, format: WavFormat = 'pcm16'): Uint8Array {
  if (!(Number.isInteger(sampleRate) && sampleRate > 0)) throw new Error(`sample rate must be a positive integer, found ${sampleRate}`);
  const width = bytesPerSample(format);
  const n = samples.length;
  // Float WAVs carry an 18-byte fmt chunk (cbSize 0) and a fact chunk, as
  // the format asks for non-PCM data; PCM keeps the plain 16-byte header.
  const isFloat = format === 'float32';
  const fmtSize = isFloat ? 18 : 16;
  const factSize = isFloat ? 12 : 0;
  const header = 12 + 8 + fmtSize + factSize + 8;
  const out = new Uint8Array(header + n * width);
  const view = new DataView(out.buffer);
  const ascii = (text: string, at: number) => {
    for (let i = 0; i < text.length; i++) out[at + i] = text.charCodeAt(i);
  };
  ascii('RIFF', 0);
  view.setUint32(4, header - 8 + n * width, true);
  ascii('WAVE', 8);
  ascii('fmt ', 12);
  view.setUint32(16, fmtSize, true);
  view.setUint16(20, isFloat ? IEEE_FLOAT : PCM, true);
  view.setUint16(22, 1, true);
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * width, true);
  view.setUint16(32, width, true);
  view.setUint16(34, width * 8, true);
  let at = 20 + fmtSize; // cbSize, where present, stays 0
  if (isFloat) {
    ascii('fact', at);
    view.setUint32(at + 4, 4, true);
    view.setUint32(at + 8, n, true);
    at += 12;
  }
  ascii('data', at);
  view.setUint32(at + 4, n * width, true);
  const clip = (x: number, scale: number) => Math.max(-scale, Math.min(scale - 1, Math.round(x * scale)));
  for (let i = 0, at = header; i < n; i++, at += width) {
    const x = samples[i]!;
    switch (format) {
      case 'pcm8':
        view.setUint8(at, clip(x, 128) + 128);
        break;
      case 'pcm16':
        view.setInt16(at, clip(x, 32768), true);
        break;
      case 'pcm24': {
        const v = clip(x, 8388608);
        view.setUint8(at, v & 0xff);
        view.setUint8(at + 1, (v >> 8) & 0xff);
        view.setUint8(at + 2, (v >> 16) & 0xff);
        break;
      }
      case 'pcm32':
        view.setInt32(at, clip(x, 2147483648), true);
        break;
      case 'float32':
        view.setFloat32(at, x, true);
        break;
    }
  }
  return out;
}
