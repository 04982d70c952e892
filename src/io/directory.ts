/**
 * Creating a directory and its missing parents, one level at a time.
 *
 * Node 20's `fs.mkdirSync(dir, { recursive: true })` never returns for some
 * paths, e.g. `/proc/x`: mkdir(2) there fails with ENOENT although `/proc`
 * exists, and Node's recursive walk retries the same parent for ever. Here
 * each missing level is made with a plain mkdir, so such a path fails at once
 * with the usual errno error (code, syscall 'mkdir', path), which the CLI
 * prints as one line (describeFileError, src/cli/cli.ts).
 */
import fs from 'node:fs';
import { dirname, resolve } from 'node:path';

/** Makes `dir` and its missing parents (like `mkdir -p`); a no-op when `dir` is a directory. */
export function makeDirectory(dir: string): void {
  const missing: string[] = [];
  let current = resolve(dir);
  while (!fs.existsSync(current)) {
    missing.push(current);
    const parent = dirname(current);
    if (parent === current) break;
    current = parent;
  }
  for (const level of missing.reverse()) {
    try {
      fs.mkdirSync(level);
    } catch (error) {
      // Another process made it meanwhile: fine, as with `mkdir -p`.
      if ((error as NodeJS.ErrnoException).code === 'EEXIST' && fs.statSync(level).isDirectory()) continue;
      throw error;
    }
  }
  if (missing.length === 0 && !fs.statSync(current).isDirectory()) {
    // What mkdirSync(dir, { recursive: true }) says for an existing file.
    throw Object.assign(new Error(`EEXIST: file already exists, mkdir '${dir}'`), { code: 'EEXIST', syscall: 'mkdir', path: dir, errno: -17 });
  }
}
