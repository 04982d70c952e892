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
