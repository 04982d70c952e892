/**
 * Atomic writes: the target ends with the new content, or - when the write
 * fails part way (rename, fsync or the write itself fails, simulated by
 * intercepting one `fs` call) - keeps its old content with no temp file left
 * behind; a writer SIGKILLed at random moments never leaves a mixed or short
 * file; stale temp files of dead writers are cleared.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import {
  removeStaleTempFiles,
  tempPathFor,
  writeFileAtomic,
  writeFileAtomicSync,
} from '../../src/io/atomicWrite.js';
import { tempDir, tempFilesIn } from './helpers.js';

function simulatedError(code: string): Error {
  return Object.assign(new Error(`${code}: simulated failure`), { code });
}

test('creates a file, then replaces it; strings are UTF-8', () => {
  const dir = tempDir();
  const target = path.join(dir, 'out.txt');
  writeFileAtomicSync(target, 'first ✓');
  assert.equal(fs.readFileSync(target, 'utf8'), 'first ✓');
  writeFileAtomicSync(target, new Uint8Array([1, 2, 3]));
  assert.deepEqual(Array.from(fs.readFileSync(target)), [1, 2, 3]);
  assert.deepEqual(fs.readdirSync(dir), ['out.txt']);
});

test('writes only the view of a Uint8Array over a larger buffer', () => {
  const dir = tempDir();
  const target = path.join(dir, 'view.bin');
  writeFileAtomicSync(target, new Uint8Array([9, 1, 2, 9]).subarray(1, 3));
  assert.deepEqual(Array.from(fs.readFileSync(target)), [1, 2]);
});

test('temp files sit next to the target, hidden and named after it', () => {
  const temp = tempPathFor('/some/dir/weights.safetensors');
  assert.match(temp, new RegExp(`^/some/dir/\\.weights\\.safetensors\\.tmp-${process.pid}-[0-9a-f]{12}$`));
  assert.notEqual(tempPathFor('/a/b'), tempPathFor('/a/b'));
});

for (const [call, code] of [
  ['renameSync', 'EXDEV'],
  ['fsyncSync', 'EIO'],
  ['writeSync', 'ENOSPC'],
] as const) {
  test(`when ${call} fails the old content stays and no temp file is left`, (t) => {
    const dir = tempDir();
    const target = path.join(dir, 'config.json');
    fs.writeFileSync(target, 'old');
    t.mock.method(fs, call, () => {
      throw simulatedError(code);
    });
    assert.throws(() => writeFileAtomicSync(target, 'new content'), new RegExp(`^Error: ${code}: simulated failure$`));
    t.mock.restoreAll();
    assert.equal(fs.readFileSync(target, 'utf8'), 'old');
    assert.deepEqual(fs.readdirSync(dir), ['config.json']);
  });
}

test('a real rename failure (the target is a directory) leaves no temp file', () => {
  const dir = tempDir();
  const target = path.join(dir, 'taken');
  fs.mkdirSync(target);
  fs.writeFileSync(path.join(target, 'inside'), 'x');
  assert.throws(() => writeFileAtomicSync(target, 'new'), (error: NodeJS.ErrnoException) => ['EISDIR', 'ENOTEMPTY', 'EEXIST'].includes(error.code ?? ''));
  assert.deepEqual(fs.readdirSync(dir), ['taken']);
  assert.equal(fs.readFileSync(path.join(target, 'inside'), 'utf8'), 'x');
});

test('a missing directory is an ordinary ENOENT, with nothing created', () => {
  const dir = tempDir();
  assert.throws(() => writeFileAtomicSync(path.join(dir, 'no', 'file'), 'x'), { code: 'ENOENT' });
  assert.deepEqual(fs.readdirSync(dir), []);
});

test('the async version replaces the file, and on a failed rename keeps the old one', async (t) => {
  const dir = tempDir();
  const target = path.join(dir, 'a.bin');
  await writeFileAtomic(target, 'one');
  await writeFileAtomic(target, new Uint8Array([0x74, 0x77, 0x6f]));
  assert.equal(fs.readFileSync(target, 'utf8'), 'two');
  t.mock.method(fs.promises, 'rename', async () => {
    throw simulatedError('EXDEV');
  });
  await assert.rejects(writeFileAtomic(target, 'three'), /EXDEV: simulated failure/);
  t.mock.restoreAll();
  assert.equal(fs.readFileSync(target, 'utf8'), 'two');
  assert.deepEqual(fs.readdirSync(dir), ['a.bin']);
});

test('removeStaleTempFiles removes temp files of dead writers only', () => {
  const dir = tempDir();
  const target = path.join(dir, 'w.safetensors');
  // Linux pids stop at 2^22, so this writer cannot be running.
  const dead = path.join(dir, '.w.safetensors.tmp-999999999-abcdef');
  const ours = path.join(dir, `.w.safetensors.tmp-${process.pid}-abcdef`);
  const other = path.join(dir, '.x.safetensors.tmp-999999999-abcdef');
  for (const file of [dead, ours, other]) fs.writeFileSync(file, 'partial');
  assert.equal(removeStaleTempFiles(target), 1);
  assert.deepEqual(fs.readdirSync(dir).sort(), [path.basename(ours), path.basename(other)].sort());
});

/** Starts a process that rewrites `target` atomically in a loop, alternating two 1 MiB contents. */
function startRewriter(target: string): { child: ReturnType<typeof spawn>; ready: Promise<void> } {
  const moduleUrl = new URL('../../src/io/atomicWrite.js', import.meta.url).href;
  const code = `
    import { writeFileAtomicSync } from ${JSON.stringify(moduleUrl)};
    const contents = [Buffer.alloc(1 << 20, 0x41), Buffer.alloc(1 << 20, 0x42)];
    process.stdout.write('ready\\n');
    for (let i = 0; ; i++) writeFileAtomicSync(process.argv[1], contents[i % 2]);
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code, target], { stdio: ['ignore', 'pipe', 'inherit'] });
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (status) => reject(new Error(`rewriter exited early with ${status}`)));
  });
  return { child, ready };
}

test('a writer killed with SIGKILL at random moments leaves the old or the new content, whole', async () => {
  const dir = tempDir();
  const target = path.join(dir, 'big.bin');
  fs.writeFileSync(target, Buffer.alloc(1 << 20, 0x41));
  for (let round = 0; round < 6; round++) {
    const { child, ready } = startRewriter(target);
    await ready;
    await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 60));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    const bytes = fs.readFileSync(target);
    assert.equal(bytes.length, 1 << 20, `round ${round}: whole file`);
    assert.ok(bytes[0] === 0x41 || bytes[0] === 0x42, `round ${round}: known content`);
    assert.ok(bytes.every((b) => b === bytes[0]), `round ${round}: not a mix of old and new`);
  }
  removeStaleTempFiles(target);
  assert.deepEqual(tempFilesIn(dir), []);
});
