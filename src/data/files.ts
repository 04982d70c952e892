/**
 * Small file-system checks shared by the loaders. They turn the errors a user
 * can fix (a path that is not there, a file that cannot be read) into one-line
 * UserErrors, instead of a stack trace with an errno.
 */
import fs from 'node:fs';
import { UserError } from '../errors.js';

export function isDirectory(p: string): boolean {
  return fs.statSync(p, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

export function isFile(p: string): boolean {
  return fs.statSync(p, { throwIfNoEntry: false })?.isFile() ?? false;
}

/** The whole file, or a UserError naming it and the reason (EACCES, EISDIR, ...). */
export function readBytes(file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (error) {
    throw new UserError(`cannot read ${file}: ${(error as Error).message}`);
  }
}

/** Non-hidden entries of a folder (.DS_Store, .git and friends are never data), or a UserError naming it. */
export function readDir(dir: string): fs.Dirent[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true }).filter((entry) => !entry.name.startsWith('.'));
  } catch (error) {
    throw new UserError(`cannot list ${dir}: ${(error as Error).message}`);
  }
}

/** Orders names by UTF-16 code unit, so an order never depends on the locale. */
export function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
