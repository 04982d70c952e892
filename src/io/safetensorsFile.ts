/**
 * safetensors files on disk (Node only): read and decode, encode and write
 * atomically. The format itself is in safetensors.ts, which works on bytes.
 */
import fs from 'node:fs';
import { UserError } from '../errors.js';
import { writeFileAtomicSync } from './atomicWrite.js';
import { decodeSafetensors, encodeSafetensors, type DecodedSafetensors, type NamedTensor } from './safetensors.js';

/** Reads and decodes a safetensors file; a missing file is a `UserError`. */
export function readSafetensorsFile(path: string): DecodedSafetensors {
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new UserError(`${path}: file not found`);
    throw error;
  }
  return decodeSafetensors(bytes, path);
}

/** Encodes and writes a safetensors file atomically (see atomicWrite.ts). */
export function writeSafetensorsFile(
  path: string,
  tensors: Record<string, NamedTensor>,
  metadata?: Record<string, string>,
): void {
  writeFileAtomicSync(path, encodeSafetensors(tensors, metadata));
}
