/**
 * Temporary directories for tests: each a fresh directory under the OS temp
 * dir, all removed when the process exits, by one exit listener (one per
 * directory made node warn about a listener leak past ten).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const made: string[] = [];

/** A fresh directory under the OS temp dir, removed when the process exits. */
export function makeTempDir(prefix: string): string {
  if (made.length === 0) {
    process.on('exit', () => {
      for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
    });
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}
