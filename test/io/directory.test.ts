/** makeDirectory: `mkdir -p` that fails at once where Node's recursive mkdir spins. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { makeDirectory } from '../../src/io/directory.js';
import { tempDir } from './helpers.js';

describe('makeDirectory', () => {
  it('makes every missing level, and is a no-op on an existing directory', () => {
    const root = tempDir();
    const deep = path.join(root, 'a', 'b', 'c');
    makeDirectory(deep);
    assert.ok(fs.statSync(deep).isDirectory());
    fs.writeFileSync(path.join(deep, 'kept'), 'x');
    makeDirectory(deep);
    makeDirectory(path.join(root, 'a'));
    assert.equal(fs.readFileSync(path.join(deep, 'kept'), 'utf8'), 'x');
  });

  it('fails as mkdir does on a regular file and below one, creating nothing', () => {
    const root = tempDir();
    const file = path.join(root, 'file');
    fs.writeFileSync(file, 'not a folder');
    assert.throws(() => makeDirectory(file), (e: NodeJS.ErrnoException) => e.code === 'EEXIST' && e.syscall === 'mkdir' && e.path === file);
    assert.throws(() => makeDirectory(path.join(file, 'model', 'x')), (e: NodeJS.ErrnoException) => e.code === 'ENOTDIR' && e.syscall === 'mkdir');
    assert.deepEqual(fs.readdirSync(root), ['file']);
    assert.equal(fs.readFileSync(file, 'utf8'), 'not a folder');
  });

  it('fails with ENOENT on /proc/x, where mkdirSync(recursive) never returns', () => {
    assert.throws(() => makeDirectory('/proc/x/y'), (e: NodeJS.ErrnoException) => e.code === 'ENOENT' && e.path === '/proc/x');
  });
});
