/**
 * .npy files on disk (Node only): read and decode, encode and write
 * atomically. The format itself is in npy.ts, which works on bytes.
 */
import fs from 'node:fs';
import { UserError } from '../errors.js';
import { writeFileAtomicSync } from './atomicWrite.js';
import { decodeNpy, encodeNpy, type NpyArray, type NpyWritable } from './npy.js';

/** Reads a .npy file; a missing file is a `UserError`. */
export function readNpyFile(path: string): NpyArray {
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UserError(`${path}: file not found`);
    if (code === 'EISDIR') throw new UserError(`${path}: is a directory, expected a .npy file`);
    if (code !== undefined) throw new UserError(`cannot read ${path}: ${code}`);
    throw error;
  }
  return decodeNpy(bytes, path);
}

/** Writes a .npy file atomically (see atomicWrite.ts). */
export function writeNpyFile(path: string, data: NpyWritable, shape: number[]): void {
  writeFileAtomicSync(path, encodeNpy(data, shape));
}
