/**
 * Data-parallel training on 2 ranks under mpirun (`--distributed`): after K
 * steps a 2-rank run with global batch B holds the weights, the EMA
 * codebook's state and Adam's moments of a 1-process run with batch B from
 * the same seed, within 1e-5 relative (every tensor of the two saved files,
 * read here from the safetensors format itself); the two ranks' models are
 * bit-identical (the digests each rank reports equal the saved model's); the
 * prior likewise. A rank killed mid-run ends the job non-zero with mpirun's
 * line naming it, the last checkpoint loads, and --resume continues on 2
 * ranks. Bad input ends the job with one line from one rank.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';

import { hex, tensorsDigest } from '../../src/distributed/consistency.js';
import { loadModel } from '../../src/model/checkpoint.js';
import { assertFails, assertOk, lastJson, readConfig, sleep, tempDir, TINY, tinyWith, vqvae } from '../e2e/helpers.js';
import { assertJobFails, describeRun, lines, MAIN_JS, mpirun, requireMpi, type MpiRun } from './helpers.js';

const root = tempDir('vqvae-mpi-train-');
const K = 6;

/** Every tensor of a .safetensors file, as float32 values, by name (format: u64 LE header size, JSON header, data). */
function readSafetensors(file: string): Map<string, Float32Array> {
  const bytes = fs.readFileSync(file);
  const headerSize = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerSize).toString('utf8')) as Record<string, { dtype: string; data_offsets: [number, number] }>;
  const tensors = new Map<string, Float32Array>();
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    assert.equal(info.dtype, 'F32', name);
    const [start, end] = info.data_offsets;
    const data = bytes.subarray(8 + headerSize + start, 8 + headerSize + end);
    tensors.set(name, new Float32Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)));
  }
  return tensors;
}

/**
 * Tolerance of a tensor: 1e-5 relative, twice that for Adam's second moments,
 * which square the gradient (and so double its relative rounding difference).
 */
const tolerance = (name: string) => (name.startsWith('adam.v.') ? 2e-5 : 1e-5);

/** max |a - b| / max |b| of each tensor (float64) over its tolerance, the worst over all, and the tensor names. */
function worstRelativeDifference(dirA: string, dirB: string): { worst: number; name: string; names: string[] } {
  const a = readSafetensors(path.join(dirA, 'weights.safetensors'));
  const b = readSafetensors(path.join(dirB, 'weights.safetensors'));
  assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
  let worst = 0;
  let worstName = '';
  for (const [name, x] of a) {
    const y = b.get(name)!;
    assert.equal(x.length, y.length, name);
    let diff = 0;
    let scale = 0;
    for (let i = 0; i < x.length; i++) {
      diff = Math.max(diff, Math.abs(x[i]! - y[i]!));
      scale = Math.max(scale, Math.abs(y[i]!));
    }
    const relative = (scale > 0 ? diff / scale : diff) / tolerance(name);
    if (relative > worst) [worst, worstName] = [relative, name];
  }
  return { worst, name: worstName, names: [...a.keys()] };
}

function jsonOf(run: MpiRun): Record<string, unknown> {
  const last = lines(run.stdout).at(-1);
  assert.ok(last !== undefined, describeRun(run));
  return JSON.parse(last) as Record<string, unknown>;
}

const train = (out: string, ...extra: string[]) => ['train', '--data', 'mnist', '--out', out, ...TINY, '--steps', String(K), '--json', ...extra];

describe('vqvae train --distributed on 2 ranks', { timeout: 600_000 }, () => {
  before(requireMpi);

  const recipes = { ema: ['--ema'], vq: ['--quantizer', 'vq'], 'vq+kmeans+restart': ['--quantizer', 'vq', '--codebook-init', 'kmeans', '--restart-dead', '0.5'] } as const;
  for (const quantizer of Object.keys(recipes) as (keyof typeof recipes)[]) {
    it(`${quantizer.toUpperCase()}: after ${K} steps of batch 32 the 2-rank run holds the 1-process run's tensors (1e-5) and its 2 replicas are bit-identical`, async () => {
      const extra = [...recipes[quantizer]];
      const one = path.join(root, `one-${quantizer}`);
      const two = path.join(root, `two-${quantizer}`);
      const single = await vqvae(...train(one, ...extra));
      assertOk(single);
      const run = await mpirun([[2, [MAIN_JS, ...train(two, ...extra), '--distributed']]]);
      assert.equal(run.code, 0, describeRun(run));
      assert.equal(readConfig(two).training.step, K);
      const { worst, name, names } = worstRelativeDifference(one, two);
      if (quantizer === 'ema') assert.ok(names.includes('quantizer.ema_count') && names.includes('quantizer.ema_sum'), names.join(', '));
      // k-means init and dead-code restarts: the running usage is saved, and equal to one process's like every tensor.
      if (quantizer === 'vq+kmeans+restart') assert.ok(names.includes('quantizer.usage'), names.join(', '));
      assert.ok(names.some((n) => n.startsWith('adam.m.')), 'the files should hold Adam moments');
      assert.ok(worst <= 1, `${name} differs by ${worst * tolerance(name)} (relative; tolerance ${tolerance(name)}) between 1 process and 2 ranks`);
      const summary = jsonOf(run);
      const digests = summary['replica_sha256'] as string[];
      assert.equal(digests.length, 2);
      const saved = loadModel(two);
      assert.deepEqual(digests, [hex(tensorsDigest(saved.vqvae.state())), hex(tensorsDigest(saved.vqvae.state()))]);
      saved.vqvae.dispose();
      assert.ok(Math.abs((summary['final_loss'] as number) - (lastJson(single)['final_loss'] as number)) <= 1e-5);
      // The final evaluation, sharded over the ranks and summed, gives the figures of one process (to the digits printed).
      const testLine = (text: string) => lines(text).find((l) => l.startsWith('test ('));
      assert.ok(testLine(single.stderr) !== undefined, single.stderr);
      assert.equal(testLine(run.stderr), testLine(single.stderr));
      // Rank 0 alone prints: one summary line, one "trained to step" line (on stderr under --json).
      assert.equal(lines(run.stdout).length, 1, describeRun(run));
      assert.equal(lines(run.stderr).filter((l) => l.startsWith('trained to step')).length, 1, describeRun(run));
    });
  }

  it('--batch that does not divide among the ranks: one line naming --batch from rank 0, nothing trained', async () => {
    const out = path.join(root, 'odd-batch');
    const run = await mpirun([[2, [MAIN_JS, 'train', '--data', 'mnist', '--out', out, ...tinyWith('batch', '31'), '--steps', '2', '--distributed']]]);
    assertJobFails(run, 1, /--batch 31 does not divide among the 2 ranks/);
    assert.ok(!fs.existsSync(path.join(out, 'config.json')));
  });

  it('ranks started with different flags: one line from rank 0, nothing trained', async () => {
    const out = path.join(root, 'mixed');
    const run = await mpirun([
      [1, [MAIN_JS, 'train', '--data', 'mnist', '--out', out, ...TINY, '--steps', '2']],
      [1, [MAIN_JS, 'train', '--data', 'mnist', '--out', out, ...TINY, '--steps', '2', '--lr', '0.01']],
    ]);
    assertJobFails(run, 1, /rank 1 of the MPI job was started with other flags, data or model/);
    assert.ok(!fs.existsSync(path.join(out, 'config.json')));
  });

  it('an error every rank meets (--resume with nothing to resume): one line, from rank 0', async () => {
    const out = path.join(root, 'nothing-here');
    assertJobFails(await mpirun([[2, [MAIN_JS, ...train(out), '--resume']]]), 1, /--resume: no model to resume in/);
  });

  it('--distributed outside mpirun: one line naming mpirun', async () => {
    assertFails(await vqvae(...train(path.join(root, 'alone')), '--distributed'), 1, /--distributed/, /mpirun/);
  });

  it('a rank killed mid-run ends the job non-zero, naming it; the checkpoint loads and --resume continues on 2 ranks', async () => {
    const out = path.join(root, 'killed');
    const args = ['train', '--data', 'mnist', '--out', out, ...tinyWith('limit', '512'), '--eval-every', '0', '--checkpoint-every', '0.2', '--distributed'];
    const job = mpirun([[2, [MAIN_JS, ...args, '--steps', '400']]], { quiet: false, timeoutMs: 120_000 });
    // Wait for a checkpoint, then kill rank 1 (found by its MPI rank among the node processes).
    let pid: number | undefined;
    for (let i = 0; i < 600 && pid === undefined; i++) {
      await sleep(100);
      if (fs.existsSync(path.join(out, 'config.json'))) pid = rankPid(1);
    }
    assert.ok(pid !== undefined, 'no checkpoint or no rank 1 within 60 s');
    const killedAt = performance.now();
    process.kill(pid, 'SIGKILL');
    const run = await job;
    const endedMs = performance.now() - killedAt;
    assert.notEqual(run.code, 0, describeRun(run));
    assert.equal(run.signal, null, describeRun(run));
    assert.match(`${run.stdout}${run.stderr}`, /process rank 1 .*exited on signal 9/, describeRun(run));
    assert.ok(endedMs < 15_000, `the job ended ${endedMs} ms after the kill`);

    const step = readConfig(out).training.step;
    assert.ok(step >= 1 && step < 400, `checkpoint at step ${step}`);
    loadModel(out).vqvae.dispose();
    const resumed = await mpirun([[2, [MAIN_JS, ...args, '--steps', String(step + 3), '--resume', '--json']]]);
    assert.equal(resumed.code, 0, describeRun(resumed));
    assert.match(resumed.stderr, new RegExp(`resuming .* from step ${step}`));
    assert.equal(readConfig(out).training.step, step + 3);
    const digests = jsonOf(resumed)['replica_sha256'] as string[];
    assert.equal(digests[0], digests[1]);
  });
});

describe('vqvae prior train --distributed on 2 ranks', { timeout: 300_000 }, () => {
  let codes: string;
  before(async () => {
    requireMpi();
    const model = path.join(root, 'prior-model');
    assertOk(await vqvae('train', '--data', 'mnist', '--out', model, ...TINY, '--steps', '2'));
    codes = path.join(root, 'codes.npy');
    assertOk(await vqvae('encode', '--model', model, '--data', 'mnist', '--split', 'train', '--limit', '256', '--out', codes));
  });

  it(`after ${K} steps the 2-rank prior holds the 1-process prior's tensors (1e-5), replicas bit-identical`, async () => {
    const prior = (out: string) => ['prior', 'train', '--codes', codes, '--test-codes', codes, '--out', out, '--channels', '8', '--layers', '2', '--batch', '16', '--steps', String(K), '--json'];
    const one = path.join(root, 'prior-one');
    const two = path.join(root, 'prior-two');
    const single = await vqvae(...prior(one));
    assertOk(single);
    const run = await mpirun([[2, [MAIN_JS, ...prior(two), '--distributed']]]);
    assert.equal(run.code, 0, describeRun(run));
    const { worst, name } = worstRelativeDifference(one, two);
    assert.ok(worst <= 1, `${name} differs by ${worst * tolerance(name)} (tolerance ${tolerance(name)})`);
    const digests = jsonOf(run)['replica_sha256'] as string[];
    assert.equal(digests.length, 2);
    assert.equal(digests[0], digests[1]);
    // The test NLL, sharded over the ranks: the figure of one process.
    const ofOne = lastJson(single)['test_bits_per_code'] as number;
    assert.ok(Number.isFinite(ofOne));
    assert.ok(Math.abs((jsonOf(run)['test_bits_per_code'] as number) - ofOne) <= 1e-5 * ofOne);
  });
});

/** The pid of the node process of MPI rank `rank` started by this test's mpirun. */
function rankPid(rank: number): number | undefined {
  const children = execFileSync('pgrep', ['-P', String(process.pid), '-x', 'mpirun'], { encoding: 'utf8' }).trim().split('\n');
  for (const mpirunPid of children.filter((p) => p !== '')) {
    let ranks: string[] = [];
    try {
      ranks = execFileSync('pgrep', ['-P', mpirunPid], { encoding: 'utf8' }).trim().split('\n');
    } catch {
      continue;
    }
    for (const pid of ranks) {
      try {
        const env = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
        if (env.includes(`OMPI_COMM_WORLD_RANK=${rank}`)) return Number(pid);
      } catch {
        // gone already
      }
    }
  }
  return undefined;
}
