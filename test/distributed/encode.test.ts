/**
 * `vqvae encode --shard I/N` and `mpirun ... vqvae encode`: the shards'
 * files, concatenated, and the file 2 ranks write are the bytes of one
 * single-process encode; bad input (a bad shard spec, --distributed outside
 * mpirun, ranks with different flags, a rank that cannot load its model)
 * ends the job with one error line and writes nothing.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';

import { assertFails, assertOk, int32Values, parseNpy, tempDir, trainTiny, vqvae } from '../e2e/helpers.js';
import { assertJobFails, assertRunOk, describeRun, lines, MAIN_JS, mpirun, requireMpi } from './helpers.js';

const root = tempDir('vqvae-mpi-encode-');
const modelDir = path.join(root, 'model');
const N = 101;
const base = ['encode', '--model', modelDir, '--data', 'mnist', '--split', 'test', '--limit', String(N)];
const one = path.join(root, 'one.npy');
const oneLabels = path.join(root, 'one-labels.npy');

function read(file: string) {
  return parseNpy(fs.readFileSync(file));
}

before(async () => {
  await trainTiny(modelDir);
  assertOk(await vqvae(...base, '--out', one, '--labels-out', oneLabels));
});

describe('vqvae encode --shard', () => {
  it('the shards 0/3, 1/3, 2/3 in order are one encode: codes and labels', async () => {
    const codes: number[] = [];
    const labels: number[] = [];
    const counts: number[] = [];
    for (let i = 0; i < 3; i++) {
      const out = path.join(root, `shard-${i}.npy`);
      const labelsOut = path.join(root, `shard-${i}-labels.npy`);
      assertOk(await vqvae(...base, '--shard', `${i}/3`, '--out', out, '--labels-out', labelsOut));
      const npy = read(out);
      assert.deepEqual(npy.shape.slice(1), [7, 7]);
      counts.push(npy.shape[0]!);
      codes.push(...int32Values(npy));
      labels.push(...int32Values(read(labelsOut)));
    }
    assert.deepEqual(counts, [33, 34, 34].map((_, i) => Math.floor((N * (i + 1)) / 3) - Math.floor((N * i) / 3)));
    assert.deepEqual(codes, int32Values(read(one)));
    assert.deepEqual(labels, int32Values(read(oneLabels)));
  });

  for (const spec of ['3/2', '2/2', '0/0', '1', 'a/b', '-1/2']) {
    it(`--shard ${spec} is one usage error naming the flag, and writes nothing`, async () => {
      const out = path.join(root, 'bad.npy');
      assertFails(await vqvae(...base, '--shard', spec, '--out', out), 2, /--shard/);
      assert.ok(!fs.existsSync(out));
    });
  }

  it('--distributed outside mpirun is one error line naming mpirun', async () => {
    const out = path.join(root, 'bad.npy');
    assertFails(await vqvae(...base, '--distributed', '--out', out), 1, /--distributed/, /mpirun/);
    assert.ok(!fs.existsSync(out));
  });
});

describe('mpirun -np 2 vqvae encode', { timeout: 300_000 }, () => {
  before(requireMpi);

  it('writes one file, the bytes of a single-process encode; rank 0 alone prints', async () => {
    const out = path.join(root, 'mpi.npy');
    const labelsOut = path.join(root, 'mpi-labels.npy');
    const run = await mpirun([[2, [MAIN_JS, ...base, '--out', out, '--labels-out', labelsOut]]]);
    assertRunOk(run);
    assert.ok(fs.readFileSync(out).equals(fs.readFileSync(one)), 'codes differ from the single-process encode');
    assert.ok(fs.readFileSync(labelsOut).equals(fs.readFileSync(oneLabels)), 'labels differ');
    assert.equal(lines(run.stdout).filter((l) => l.startsWith(`wrote ${out}`)).length, 1, describeRun(run));
    assert.equal(lines(run.stdout).filter((l) => l.startsWith('backend:')).length, 1, describeRun(run));
  });

  it('--shard 1/3 on 2 ranks equals shard 1/3 of one process', async () => {
    const out = path.join(root, 'mpi-shard.npy');
    assertRunOk(await mpirun([[2, [MAIN_JS, ...base, '--shard', '1/3', '--distributed', '--out', out]]]));
    const single = path.join(root, 'single-shard.npy');
    assertOk(await vqvae(...base, '--shard', '1/3', '--out', single));
    assert.ok(fs.readFileSync(out).equals(fs.readFileSync(single)));
  });

  it('--shard 3/2: one error line (from rank 0), exit 2 on the job, nothing written', async () => {
    const out = path.join(root, 'mpi-bad.npy');
    assertJobFails(await mpirun([[2, [MAIN_JS, ...base, '--shard', '3/2', '--out', out]]]), 2, /--shard 3\/2/);
    assert.ok(!fs.existsSync(out));
  });

  it('ranks started with different flags: one line from rank 0 naming rank 1, nothing written', async () => {
    const out = path.join(root, 'mpi-mixed.npy');
    const run = await mpirun([
      [1, [MAIN_JS, ...base, '--out', out]],
      [1, [MAIN_JS, ...base, '--out', out, '--batch', '7']],
    ]);
    assertJobFails(run, 1, /rank 1 of the MPI job was started with other flags, data or model/);
    assert.ok(!fs.existsSync(out));
  });

  it('a rank that cannot load its model: one line from that rank, the job ends, nothing written', async () => {
    const out = path.join(root, 'mpi-missing.npy');
    const missing = path.join(root, 'no-such-model');
    const run = await mpirun([
      [1, [MAIN_JS, ...base, '--out', out]],
      [1, [MAIN_JS, ...base.map((a) => (a === modelDir ? missing : a)), '--out', out]],
    ]);
    assertJobFails(run, 1, new RegExp(missing.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')));
    assert.ok(!fs.existsSync(out));
  });
});
