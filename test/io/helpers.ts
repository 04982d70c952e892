/**
 * Shared helpers for the io tests: temporary directories, a synchronous
 * UserError assertion that also checks the message text, and a listing of
 * leftover temp files.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { isOneLineUserError } from '../shared/assertions.js';
import { makeTempDir } from '../shared/tempDirs.js';

export { literal } from '../shared/assertions.js';

/** A fresh directory under the OS temp dir, removed when the process exits. */
export function tempDir(prefix = 'vqvae-io-'): string {
  return makeTempDir(prefix);
}

/** Asserts that `action` throws a one-line UserError whose message matches every pattern. */
export function assertUserError(action: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(action, (error: unknown) => isOneLineUserError(error, patterns));
}

/** Names in `dir` that look like atomic-write temp files (`.<name>.tmp-...`). */
export function tempFilesIn(dir: string): string[] {
  return fs.readdirSync(dir).filter((name) => /^\..*\.tmp-/.test(name));
}
