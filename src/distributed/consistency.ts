/**
 * Checking that the ranks of a job run the same thing: each rank hashes what
 * must agree (its flags, its data, its model's weights) and compares with
 * rank 0's digest. Also the digest of a model's state, to show that replicas
 * are bit-identical.
 */
import { createHash } from 'node:crypto';

import type * as tf from '@tensorflow/tfjs-core';

import type { Communicator } from './communicator.js';

/** SHA-256 over the parts in order (strings as UTF-8, arrays as their bytes), length-prefixed. */
export function digest(parts: readonly (string | ArrayBufferView)[]): Uint8Array {
  const hash = createHash('sha256');
  for (const part of parts) {
    const bytes = typeof part === 'string' ? Buffer.from(part, 'utf8') : new Uint8Array(part.buffer, part.byteOffset, part.byteLength);
    hash.update(`${bytes.byteLength}:`);
    hash.update(bytes);
  }
  return new Uint8Array(hash.digest());
}

/** The digest of named tensors (names sorted, then each one's shape, dtype and bytes). */
export function tensorsDigest(tensors: Readonly<Record<string, tf.Tensor>>): Uint8Array {
  const parts: (string | ArrayBufferView)[] = [];
  for (const name of Object.keys(tensors).sort()) {
    const tensor = tensors[name]!;
    parts.push(`${name} ${tensor.dtype} [${tensor.shape.join(',')}]`, tensor.dataSync() as ArrayBufferView as Float32Array);
  }
  return digest(parts);
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** The ranks whose `mine` differs from rank 0's; every rank gets the same list. Collective. */
export function ranksDiffering(comm: Communicator, mine: Uint8Array): number[] {
  if (comm.size === 1) return [];
  const root = Uint8Array.from(mine);
  comm.broadcast(root, 0);
  const differs = new Int32Array(comm.size);
  differs[comm.rank] = root.length === mine.length && root.every((b, i) => b === mine[i]) ? 0 : 1;
  comm.allreduce(differs, 'max');
  return [...differs.keys()].filter((r) => differs[r] !== 0);
}
