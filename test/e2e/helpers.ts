/**
 * Helpers for the end-to-end tests of the `vqvae` command: running a command
 * line in-process (fast) or as a real child process (signals), the tiny model
 * every test trains, and readers/writers for .npy and PNG files written here
 * from the formats' specifications, independently of src/io, so a bug there
 * cannot hide itself.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';

import { runCli } from '../../src/cli/cli.js';
import * as tf from '@tensorflow/tfjs-core';
import { loadPrior } from '../../src/prior/checkpoint.js';
import type { PixelCnn } from '../../src/prior/pixelcnn.js';
import { fakeIO } from '../cli/fakeIO.js';
import { makeTempDir } from '../shared/tempDirs.js';

/** dist/src/cli/main.js, the `bin` of the package. */
export const MAIN_JS = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/**
 * A model small enough to train 4 steps in about a second on 2 cores, on the
 * first 256 MNIST training digits; test evaluation on 64 digits.
 */
export const TINY = [
  '--hidden', '16', '--res-hidden', '8', '--codebook-size', '32', '--code-dim', '8',
  '--batch', '32', '--limit', '256', '--eval-limit', '64',
] as const;
export const TINY_K = 32;

/** TINY with `--name value` instead of its own value for that flag (or added). */
export function tinyWith(name: string, value: string): string[] {
  const rest = TINY.includes(`--${name}` as (typeof TINY)[number]) ? tinyWithout(name) : [...TINY];
  return [...rest, `--${name}`, value];
}

/** TINY without `--name VALUE`, to give that flag another value. */
export function tinyWithout(name: string): string[] {
  const i = TINY.indexOf(`--${name}` as (typeof TINY)[number]);
  assert.ok(i >= 0, `--${name} is not in TINY`);
  return [...TINY.slice(0, i), ...TINY.slice(i + 2)];
}

/** A fresh directory under the OS temp dir, removed when the process exits. */
export function tempDir(prefix = 'vqvae-e2e-'): string {
  return makeTempDir(prefix);
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  stdoutLines: string[];
  stderrLines: string[];
}

/** Runs `vqvae <argv>` in this process with buffers for stdout and stderr. */
export async function vqvae(...argv: string[]): Promise<CliResult> {
  const { io, stdout, stderr } = fakeIO();
  const code = await runCli(argv, io);
  return { code, stdout: stdout.text, stderr: stderr.text, stdoutLines: stdout.lines, stderrLines: stderr.lines };
}

/** Parses the last stdout line as JSON (`--json` prints one object there: src/cli/flags.ts). */
export function lastJson(result: CliResult): Record<string, unknown> {
  const last = result.stdoutLines.at(-1);
  assert.ok(last !== undefined, `no stdout; stderr: ${result.stderr}`);
  const value: unknown = JSON.parse(last);
  assert.ok(typeof value === 'object' && value !== null && !Array.isArray(value), `not a JSON object: ${last}`);
  return value as Record<string, unknown>;
}

/** Asserts exit 0 with a readable failure message. */
export function assertOk(result: CliResult): void {
  assert.equal(result.code, 0, `exit ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
}

/**
 * Asserts the shape of a failure: the exit status, exactly one stderr line
 * `vqvae: error: ...`, no stack trace, and every pattern in that line.
 */
export function assertFails(result: CliResult, code: number, ...patterns: RegExp[]): string {
  const context = `\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`;
  assert.equal(result.code, code, `exit status${context}`);
  assert.equal(result.stderrLines.length, 1, `expected exactly one stderr line${context}`);
  const line = result.stderrLines[0]!;
  assert.ok(line.startsWith('vqvae: error: '), `stderr should start with "vqvae: error: "${context}`);
  assert.ok(!result.stderr.includes('    at '), `stack trace on stderr${context}`);
  for (const pattern of patterns) assert.match(line, pattern);
  return line;
}

export { literal } from '../shared/assertions.js';

/** Trains the tiny model into `dir` in-process and returns the result. */
export async function trainTiny(dir: string, ...extra: string[]): Promise<CliResult> {
  const result = await vqvae('train', '--data', 'mnist', '--out', dir, ...TINY, '--steps', '4', ...extra);
  assertOk(result);
  return result;
}

/** Every file in `dir` with its bytes and mtime, to show that nothing changed. */
export function snapshot(dir: string): Map<string, { bytes: Buffer; mtimeMs: number }> {
  const files = new Map<string, { bytes: Buffer; mtimeMs: number }>();
  for (const name of fs.readdirSync(dir).sort()) {
    const file = path.join(dir, name);
    files.set(name, { bytes: fs.readFileSync(file), mtimeMs: fs.statSync(file).mtimeMs });
  }
  return files;
}

export function assertUnchanged(before: ReturnType<typeof snapshot>, after: ReturnType<typeof snapshot>): void {
  assert.deepEqual([...after.keys()], [...before.keys()], 'the files in the model directory changed');
  for (const [name, { bytes, mtimeMs }] of before) {
    const now = after.get(name)!;
    assert.ok(now.bytes.equals(bytes), `${name} changed`);
    assert.equal(now.mtimeMs, mtimeMs, `${name} was rewritten (mtime)`);
  }
}

/** Asserts that the priors in two directories have exactly the same weights (a resumed run against an uninterrupted one). */
export async function assertSamePriorWeights(a: string, b: string): Promise<void> {
  const [x, y] = await Promise.all([loadPrior(a), loadPrior(b)]);
  try {
    for (const [name, v] of x.variables) assert.deepEqual(y.variables.get(name)!.dataSync(), v.dataSync(), name);
  } finally {
    x.dispose();
    y.dispose();
  }
}

/** -log2 p of every code under the prior (given the top grids, for a bottom prior), in float64 from its logits: the mean, in bits per code. */
export function bitsPerCodeOf(prior: PixelCnn, grids: Int32Array, classes: Int32Array | undefined, n: number, top?: Int32Array): number {
  const { height: h, width: w, codebookSize: K, topHeight: ht, topWidth: wt } = prior.config;
  const logits = tf.tidy(() =>
    prior
      .logits(
        tf.tensor3d(grids.subarray(0, n * h * w), [n, h, w], 'int32'),
        classes ? tf.tensor1d(classes.subarray(0, n), 'int32') : undefined,
        top ? tf.tensor3d(top.subarray(0, n * ht * wt), [n, ht, wt], 'int32') : undefined,
      )
      .dataSync(),
  );
  let bits = 0;
  for (let p = 0; p < n * h * w; p++) {
    const row = Array.from(logits.subarray(p * K, (p + 1) * K));
    const max = Math.max(...row);
    const logSum = max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
    bits += (logSum - row[grids[p]!]!) / Math.LN2;
  }
  return bits / (n * h * w);
}

export function readConfig(dir: string): { model: Record<string, unknown>; training: { step: number } & Record<string, unknown> } {
  return JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
}

// ---------------------------------------------------------------------------
// .npy, from numpy.lib.format: "\x93NUMPY", major, minor, header length (u16
// LE for 1.0, u32 LE for 2.0/3.0), a Python dict literal, then the data.

export interface Npy {
  descr: string;
  fortranOrder: boolean;
  shape: number[];
  /** The raw data bytes after the header. */
  body: Buffer;
}

export function parseNpy(bytes: Buffer): Npy {
  assert.deepEqual([...bytes.subarray(0, 6)], [0x93, ...Buffer.from('NUMPY')], 'npy magic');
  const major = bytes[6]!;
  const headerLength = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = bytes.subarray(start, start + headerLength).toString('latin1');
  assert.ok(header.endsWith('\n'), `npy header should end in a newline: ${JSON.stringify(header)}`);
  assert.equal((start + headerLength) % 64, 0, 'npy data should start at a multiple of 64');
  const descr = /'descr':\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  assert.ok(descr !== undefined && fortran !== undefined && shapeText !== undefined, `npy header: ${header}`);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number);
  return { descr, fortranOrder: fortran === 'True', shape, body: bytes.subarray(start + headerLength) };
}

/** The int32 values of a '<i4' .npy body. */
export function int32Values(npy: Npy): number[] {
  assert.equal(npy.body.length % 4, 0);
  return Array.from({ length: npy.body.length / 4 }, (_, i) => npy.body.readInt32LE(i * 4));
}

/** A version 1.0 .npy file with the given descr, shape and raw data bytes. */
export function npyBytes(descr: string, shape: readonly number[], body: Buffer): Buffer {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const prefix = Buffer.alloc(10);
  prefix.set([0x93, ...Buffer.from('NUMPY'), 1, 0]);
  prefix.writeUInt16LE(header.length, 8);
  return Buffer.concat([prefix, Buffer.from(header, 'latin1'), body]);
}

export function int32Npy(shape: readonly number[], values: readonly number[]): Buffer {
  const body = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => body.writeInt32LE(v, i * 4));
  return npyBytes('<i4', shape, body);
}

// ---------------------------------------------------------------------------
// PNG via pngjs (not src/io/pngGrid.ts).

export interface Image {
  width: number;
  height: number;
  /** [height, width, 4] */
  rgba: Buffer;
}

export function readPng(file: string): Image {
  const png = PNG.sync.read(fs.readFileSync(file));
  return { width: png.width, height: png.height, rgba: png.data };
}

export function writePng(file: string, width: number, height: number, grey: (x: number, y: number) => number): void {
  const png = new PNG({ width, height });
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v = grey(x, y);
      png.data.set([v, v, v, 255], (y * width + x) * 4);
    }
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, PNG.sync.write(png));
}

/**
 * The grey values of a `height` x `width` image drawn at (x0, y0) magnified
 * `upscale` times, read back at source resolution; asserts that every
 * upscale x upscale block is uniform and that R == G == B.
 */
export function readCell(image: Image, x0: number, y0: number, height: number, width: number, upscale: number): Uint8Array {
  const out = new Uint8Array(height * width);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const first = pixel(image, x0 + x * upscale, y0 + y * upscale);
      for (let v = 0; v < upscale; v++) {
        for (let u = 0; u < upscale; u++) {
          const p = pixel(image, x0 + x * upscale + u, y0 + y * upscale + v);
          assert.deepEqual(p, first, `pixel (${x0 + x * upscale + u}, ${y0 + y * upscale + v}) differs within its upscaled block`);
        }
      }
      assert.ok(first[0] === first[1] && first[1] === first[2], `not grey at (${x}, ${y})`);
      out[y * width + x] = first[0]!;
    }
  }
  return out;
}

function pixel(image: Image, x: number, y: number): number[] {
  assert.ok(x >= 0 && x < image.width && y >= 0 && y < image.height, `(${x}, ${y}) is outside the ${image.width}x${image.height} image`);
  const i = (y * image.width + x) * 4;
  return [...image.rgba.subarray(i, i + 4)];
}

// ---------------------------------------------------------------------------
// Child processes, for signals.

export interface Child {
  process: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves when stdout matches `pattern` (rejects after `timeoutMs` or on exit). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Resolves with the exit code (or the signal's name) when the process ends. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function spawnVqvae(argv: readonly string[]): Child {
  const child = spawn(process.execPath, [MAIN_JS, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TERM: 'dumb' } });
  let out = '';
  let err = '';
  const waiters: { pattern: RegExp; resolve: () => void }[] = [];
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    for (const waiter of [...waiters]) {
      if (waiter.pattern.test(out)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal }));
  });
  // A test that fails half-way must not leave a training process behind.
  process.on('exit', () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return {
    process: child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor(pattern, timeoutMs = 60_000) {
      if (pattern.test(out)) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern}; stdout:\n${out}\nstderr:\n${err}`)), timeoutMs);
        const done = () => {
          clearTimeout(timer);
          resolve();
        };
        waiters.push({ pattern, resolve: done });
        void exited.then(() => {
          clearTimeout(timer);
          if (!pattern.test(out)) reject(new Error(`exited before ${pattern}; stdout:\n${out}\nstderr:\n${err}`));
        });
      });
    },
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Asserts that the first `count` cells of a `vqvae decode` grid equal the
 * reconstruction rows of a `vqvae reconstruct` grid, both `columns` wide, of
 * 28x28 images at upscale 2 with 2 pixels of padding: reconstruct's band
 * `row` holds originals above reconstructions, bands 3 * padding apart.
 */
export function assertDecodedEqualsReconstructed(decodedFile: string, reconstructedFile: string, count: number, columns: number): void {
  const [side, upscale, pad] = [28, 2, 2];
  const cell = side * upscale + pad;
  const decoded = readPng(decodedFile);
  const reconstructed = readPng(reconstructedFile);
  for (let i = 0; i < count; i++) {
    const row = Math.floor(i / columns);
    const column = i % columns;
    const fromCodes = readCell(decoded, pad + column * cell, pad + row * cell, side, side, upscale);
    const y = pad + (2 * row + 1) * cell + row * 3 * pad;
    assert.deepEqual(fromCodes, readCell(reconstructed, pad + column * cell, y, side, side, upscale), `image ${i}`);
  }
}
