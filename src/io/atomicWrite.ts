/**
 * Atomic file replacement: after `writeFileAtomicSync(path, data)` returns,
 * `path` holds exactly `data`; if the process dies at any moment before that,
 * `path` still holds its old content (or is still absent). Readers never see a
 * half-written file.
 *
 * How: the bytes go to a temp file in the same directory
 * (`.<base>.tmp-<pid>-<random>`, hidden and named after its writer), which is
 * fsynced and then renamed over the target. rename(2) within one file system
 * replaces the directory entry atomically; fsyncing the file first makes sure
 * the new name never points at blocks that were not yet written, and fsyncing
 * the directory afterwards makes the rename itself survive a power cut, so a
 * second atomic write that follows this one can never reach the disk first.
 *
 * On any error the temp file is removed and the error rethrown. A SIGKILL can
 * still leave a temp file behind (nothing runs on SIGKILL); it is harmless and
 * `removeStaleTempFiles` clears the ones whose writer is gone.
 *
 * Example:
 *   writeFileAtomicSync('runs/mnist/config.json', JSON.stringify(config));
 */
// A default import (not `import * as`) so tests can intercept single calls with
// node:test's `mock.method(fs, 'renameSync', ...)` to simulate failures.
import fs from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';

/** The prefix of every temp file written for `target`. */
function tempPrefix(target: string): string {
  return `.${basename(target)}.tmp-`;
}

/** A fresh temp path next to `target`, unique per process and call. */
export function tempPathFor(target: string): string {
  const suffix = `${process.pid}-${randomBytes(6).toString('hex')}`;
  return join(dirname(target), tempPrefix(target) + suffix);
}

function toBytes(data: Uint8Array | string): Uint8Array {
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
}

/**
 * Errors that mean "this platform or file system cannot fsync a directory"
 * (Windows, some network file systems); the rename has happened, so carry on.
 */
function isUnsupportedDirSync(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'EISDIR' || code === 'EINVAL' || code === 'EPERM' || code === 'ENOTSUP';
}

/** Makes a rename (or unlink) in `dir` durable. */
export function fsyncDirectorySync(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch (error) {
    if (!isUnsupportedDirSync(error)) throw error;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Removes `path` if it exists; used on error paths, so it never throws. */
function removeQuietly(path: string): void {
  try {
    fs.unlinkSync(path);
  } catch {
    // Already gone, or the original error is the one worth reporting.
  }
}

/** Writes all of `bytes` to `fd`: writeSync may write fewer bytes than asked. */
function writeAllSync(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.byteLength) {
    done += fs.writeSync(fd, bytes, done, bytes.byteLength - done);
  }
}

/**
 * Replaces `path` with `data` atomically (see the file header). The target's
 * directory must exist. Strings are written as UTF-8.
 */
export function writeFileAtomicSync(path: string, data: Uint8Array | string): void {
  const temp = tempPathFor(path);
  let fd: number | undefined;
  try {
    // 'wx': fail rather than share a temp file with anyone else.
    fd = fs.openSync(temp, 'wx', 0o644);
    writeAllSync(fd, toBytes(data));
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(temp, path);
  } catch (error) {
    if (fd !== undefined) {
      try {
        fs.closeSync(fd);
      } catch {
        // The original error matters more.
      }
    }
    removeQuietly(temp);
    throw error;
  }
  fsyncDirectorySync(dirname(path));
}

/** The async twin of `fsyncDirectorySync`. */
async function fsyncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await fs.promises.open(dir, 'r');
    await handle.sync();
  } catch (error) {
    if (!isUnsupportedDirSync(error)) throw error;
  } finally {
    await handle?.close();
  }
}

/** The async twin of `writeFileAtomicSync`, with the same guarantees. */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const temp = tempPathFor(path);
  let handle: FileHandle | undefined;
  try {
    handle = await fs.promises.open(temp, 'wx', 0o644);
    await handle.writeFile(toBytes(data));
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fs.promises.rename(temp, path);
  } catch (error) {
    if (handle !== undefined) await handle.close().catch(() => undefined);
    await fs.promises.unlink(temp).catch(() => undefined);
    throw error;
  }
  await fsyncDirectory(dirname(path));
}

/** True if a process with this id is running (or exists but is not ours). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Deletes temp files left next to `target` by writers that were killed
 * (their pid no longer runs). Temp files of live processes, including this
 * one, are left alone. Returns how many were removed.
 */
export function removeStaleTempFiles(target: string): number {
  const dir = dirname(target);
  const prefix = tempPrefix(target);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number.parseInt(name.slice(prefix.length), 10);
    if (!Number.isSafeInteger(pid) || pid === process.pid || processAlive(pid)) continue;
    removeQuietly(join(dir, name));
    removed += 1;
  }
  return removed;
}
