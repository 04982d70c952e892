/**
 * Running commands under Open MPI's `mpirun` for the distributed tests: 2
 * ranks on this machine (loopback and shared memory), every run bounded in
 * time (mpirun gets SIGTERM, which it passes on to the ranks, then SIGKILL).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { loadMpi } from '../../src/distributed/mpi.js';

export const MAIN_JS = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
/** The per-rank script of the collective tests (test/distributed/rankScript.ts). */
export const RANK_JS = fileURLToPath(new URL('./rankScript.js', import.meta.url));

/** Fails with the reason when the MPI addon is not built (the tests need it; .ci/run installs Open MPI). */
export function requireMpi(): void {
  const load = loadMpi();
  assert.ok(load.addon !== undefined, `the MPI addon is needed: ${load.reason}`);
}

export interface MpiRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Wall time of the whole mpirun, in ms. */
  ms: number;
}

export interface MpiRunOptions {
  /** mpirun's -q (default true): no banners of its own, so stderr holds only what the ranks wrote. */
  quiet?: boolean;
  timeoutMs?: number;
  env?: Record<string, string>;
}

/**
 * `mpirun -np N node ARGV...`; `apps` lists several [np, argv] for an MPMD
 * job (`mpirun -np 1 A : -np 1 B`), to give ranks different command lines.
 */
export function mpirun(apps: readonly (readonly [number, readonly string[]])[], options: MpiRunOptions = {}): Promise<MpiRun> {
  const args = ['--oversubscribe', '--bind-to', 'none'];
  if (process.getuid?.() === 0) args.push('--allow-run-as-root');
  if (options.quiet ?? true) args.push('-q');
  apps.forEach(([np, argv], i) => {
    if (i > 0) args.push(':');
    args.push('-np', String(np), process.execPath, ...argv);
  });
  const started = performance.now();
  const child = spawn('mpirun', args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, TERM: 'dumb', ...options.env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const timeoutMs = options.timeoutMs ?? 120_000;
  const term = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
  const kill = setTimeout(() => child.kill('SIGKILL'), timeoutMs + 5000);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(term);
      clearTimeout(kill);
      resolve({ code, signal, stdout, stderr, ms: performance.now() - started });
    });
  });
}

/** Lines of `text` without the empty one after the last newline. */
export function lines(text: string): string[] {
  const all = text.split('\n');
  if (all.at(-1) === '') all.pop();
  return all;
}

export function describeRun(run: MpiRun): string {
  return `exit ${run.code} (signal ${run.signal}) after ${Math.round(run.ms)} ms\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`;
}

export function assertRunOk(run: MpiRun): void {
  assert.equal(run.code, 0, describeRun(run));
}

/** The job failed with `code` and exactly one `vqvae: error:` line on stderr (from one rank), matching every pattern. */
export function assertJobFails(run: MpiRun, code: number, ...patterns: RegExp[]): void {
  assert.equal(run.code, code, describeRun(run));
  const errors = lines(run.stderr);
  assert.equal(errors.length, 1, `expected one stderr line\n${describeRun(run)}`);
  assert.ok(errors[0]!.startsWith('vqvae: error: '), describeRun(run));
  for (const pattern of patterns) assert.match(errors[0]!, pattern);
}
