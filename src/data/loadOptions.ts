/**
 * Checks `LoadOptions` once, before any file is read, and fills in defaults,
 * so every loader receives a split that is really 'train' or 'test', a limit
 * that is a positive integer (or absent), and a resize of positive integers.
 * The CLI may pass values straight from flags, so nothing is trusted.
 */
import { UserError } from '../errors.js';
import type { LoadOptions, Split } from './dataset.js';

export interface CheckedLoadOptions {
  readonly split: Split;
  /** Keep at most this many items; undefined keeps all. */
  readonly limit: number | undefined;
  /** [height, width] for folder data; undefined keeps native sizes. */
  readonly resize: readonly [number, number] | undefined;
}

const SPLITS: readonly Split[] = ['train', 'test'];

export function checkLoadOptions(options: LoadOptions = {}): CheckedLoadOptions {
  const split = options.split ?? 'train';
  if (!SPLITS.includes(split)) {
    throw new UserError(`invalid split ${JSON.stringify(split)}: expected one of ${SPLITS.join(', ')}`);
  }
  const { limit, resize } = options;
  if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1)) {
    throw new UserError(`invalid limit ${String(limit)}: expected an integer of at least 1`);
  }
  if (resize !== undefined) {
    const ok = resize.length === 2 && resize.every((n) => Number.isInteger(n) && n >= 1);
    if (!ok) {
      throw new UserError(`invalid resize [${resize.join(', ')}]: expected [height, width], two integers of at least 1`);
    }
  }
  return { split, limit, resize };
}

/** How many of `count` items a limit keeps: a limit above the count keeps all. */
export function keptCount(count: number, limit: number | undefined): number {
  return limit === undefined ? count : Math.min(count, limit);
}
