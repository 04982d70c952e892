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
 * The formats over bytes are in wavBytes.ts (browser-safe); this adds files.
 *
 * Example: `writeWav('a.wav', samples, 16000)` then `readWav('a.wav')` gives
 * { sampleRate: 16000, samples } with 16-bit precision.
 */
import fs from 'node:fs';
import { UserError } from '../errors.js';
import { writeFileAtomicSync } from './atomicWrite.js';
import { decodeWav, encodeWavBytes, type WavAudio, type WavFormat } from './wavBytes.js';

export { decodeWav, encodeWavBytes, WAV_FORMATS, type WavAudio, type WavFormat } from './wavBytes.js';

/** Reads a mono WAV file; `name` (default the path) is what errors call it. */
export function readWav(file: string, name = file): WavAudio {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UserError(code === 'ENOENT' ? `${name}: file not found` : `${name}: cannot read: ${(error as Error).message}`);
  }
  return decodeWav(bytes, name);
}

/** encodeWavBytes as a Buffer (the same bytes, not copied). */
export function encodeWav(samples: ArrayLike<number>, sampleRate: number, format: WavFormat = 'pcm16'): Buffer {
  const bytes = encodeWavBytes(samples, sampleRate, format);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Writes a mono WAV file atomically (the old file, if any, stays whole until the new one is complete). */
export function writeWav(file: string, samples: ArrayLike<number>, sampleRate: number, format: WavFormat = 'pcm16'): void {
  writeFileAtomicSync(file, encodeWav(samples, sampleRate, format));
}
