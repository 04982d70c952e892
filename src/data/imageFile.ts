/**
 * Decoding one PNG or JPEG file to RGBA bytes, [height, width, 4] row-major.
 * PNG goes through pngjs (greyscale, palette and 16-bit files all come out as
 * 8-bit RGBA), JPEG through jpeg-js. The format is taken from the file's
 * signature, not its name, so a mislabelled `.jpg` that is really a PNG still
 * loads; anything else is a UserError naming the file.
 */
import path from 'node:path';
import { decode as decodeJpeg } from 'jpeg-js';
import { PNG } from 'pngjs';
import { UserError } from '../errors.js';

export interface RgbaImage {
  readonly width: number;
  readonly height: number;
  /** [height, width, 4] bytes. */
  readonly rgba: Uint8Array;
}

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg']);

/** True for .png, .jpg and .jpeg, in any letter case. */
export function isImageFileName(name: string): boolean {
  return IMAGE_EXTENSIONS.has(path.extname(name).toLowerCase());
}

export function decodeImageFile(file: string, bytes: Uint8Array): RgbaImage {
  const format = sniffFormat(bytes) ?? (path.extname(file).toLowerCase() === '.png' ? 'PNG' : 'JPEG');
  try {
    if (format === 'PNG') {
      const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      return { width: png.width, height: png.height, rgba: png.data };
    }
    const jpeg = decodeJpeg(bytes, { useTArray: true, formatAsRGBA: true });
    return { width: jpeg.width, height: jpeg.height, rgba: jpeg.data };
  } catch (error) {
    throw new UserError(`cannot decode ${file} as ${format}: ${firstLine(error)}`);
  }
}

function sniffFormat(bytes: Uint8Array): 'PNG' | 'JPEG' | undefined {
  if (bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) return 'PNG';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'JPEG';
  return undefined;
}

/** jpeg-js throws strings as well as Errors; keep the message to one line. */
function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0] || 'unknown error';
}
