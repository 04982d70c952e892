/**
 * End to end: continuing a run (`train --resume`), refusing to overwrite or
 * to resume with another configuration, Ctrl-C (SIGINT) and SIGKILL of a real
 * `vqvae train` process, and a loss that stops being finite. After every
 * interruption the model directory must load and `--resume` must continue
 * from the step it records.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';

import { selectBackend } from '../../src/backend/select.js';
import { loadModel } from '../../src/model/checkpoint.js';
import {
  assertFails,
  assertOk,
  assertUnchanged,
  lastJson,
  literal,
  readConfig,
  sleep,
  snapshot,
  spawnVqvae,
  tempDir,
  TINY,
  tinyWithout,
  trainTiny,
  vqvae,
} from './helpers.js';

const root = tempDir();
/** A 4-step model that the tests copy before changing it. */
const base = path.join(root, 'base');

before(async () => {
  await selectBackend('auto');
  await trainTiny(base, '--json');
});

function copyOf(name: string): string {
  const dir = path.join(root, name);
  fs.cpSync(base, dir, { recursive: true });
  return dir;
}

function train(dir: string, ...extra: string[]) {
  return vqvae('train', '--data', 'mnist', '--out', dir, ...TINY, ...extra);
}

describe('vqvae train --resume', () => {
  it('continues from the saved step to the new --steps', async () => {
    const dir = copyOf('resume');
    const result = await train(dir, '--steps', '6', '--resume', '--json');
    assertOk(result);
    assert.match(result.stderr, new RegExp(`^resuming ${literal(dir).source} from step 4\\b`, 'm'));
    assert.equal(lastJson(result)['steps'], 6);
    assert.equal(readConfig(dir).training.step, 6);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['config.json', 'report.html', 'weights.safetensors']);
  });

  it('keeps the saved run\'s batch, learning rate and seed unless they are given again', async () => {
    const dir = path.join(root, 'settings');
    assertOk(await vqvae('train', '--data', 'mnist', '--out', dir, ...tinyWithout('batch'), '--batch', '16', '--lr', '1e-3', '--seed', '5', '--steps', '2'));
    const resumed = await vqvae('train', '--data', 'mnist', '--out', dir, ...tinyWithout('batch'), '--steps', '3', '--resume');
    assertOk(resumed);
    assert.doesNotMatch(resumed.stderr, /data order differs/);
    const { training } = readConfig(dir);
    assert.deepEqual([training.step, training.batch, training.learningRate, training.seed], [3, 16, 1e-3, 5]);
  });

  it('refuses a model flag that differs from the saved model, naming the flag and the directory', async () => {
    const dir = copyOf('mismatch');
    const before = snapshot(dir);
    const argv = ['train', '--data', 'mnist', '--out', dir, ...tinyWithout('hidden'), '--hidden', '32', '--steps', '6', '--resume'];
    const line = assertFails(await vqvae(...argv), 1, /--hidden/, literal(dir));
    assert.match(line, /32/);
    assert.match(line, /16/);
    assertUnchanged(before, snapshot(dir));
  });

  it('refuses to train into a directory that holds a model, without touching it', async () => {
    const dir = copyOf('exists');
    const before = snapshot(dir);
    assertFails(await train(dir, '--steps', '4'), 1, literal(dir), /--resume/);
    assertUnchanged(before, snapshot(dir));
  });

  it('--resume into a directory without a model says so', async () => {
    const dir = path.join(root, 'nothing-here');
    assertFails(await train(dir, '--steps', '4', '--resume'), 1, /--resume/, literal(dir), /config\.json/);
    assert.equal(fs.existsSync(path.join(dir, 'config.json')), false);
  });
});

describe('signals', () => {
  it('SIGINT saves the current step, exits 130, and --resume continues from it', { timeout: 120_000 }, async () => {
    const dir = path.join(root, 'sigint');
    // --checkpoint-every 0: nothing is saved until the interrupt.
    const child = spawnVqvae(['train', '--data', 'mnist', '--out', dir, ...TINY, '--steps', '100000', '--checkpoint-every', '0']);
    // The first progress line comes right before the loop starts and the Ctrl-C handler is installed.
    await child.waitFor(/^step 0\/100000/m);
    await sleep(1500);
    assert.equal(fs.existsSync(path.join(dir, 'config.json')), false, 'saved before the interrupt despite --checkpoint-every 0');
    child.process.kill('SIGINT');
    const { code, signal } = await child.exited;
    assert.equal(signal, null, `killed by ${signal}; stderr:\n${child.stderr()}`);
    assert.equal(code, 130, `stdout:\n${child.stdout()}\nstderr:\n${child.stderr()}`);

    const match = /^interrupted at step (\d+)\b/m.exec(child.stdout());
    assert.ok(match, `no "interrupted at step N" line in:\n${child.stdout()}`);
    const step = Number(match[1]);
    assert.ok(step > 0);
    assert.equal(readConfig(dir).training.step, step);
    const loaded = loadModel(dir);
    assert.equal(loaded.training?.step, step);
    loaded.vqvae.dispose();
    assert.ok(!child.stderr().includes('    at '), child.stderr());

    const resumed = await train(dir, '--steps', String(step + 2), '--resume');
    assertOk(resumed);
    assert.match(resumed.stdout, new RegExp(`^resuming ${literal(dir).source} from step ${step}\\b`, 'm'));
    assert.equal(readConfig(dir).training.step, step + 2);
  });

  it('SIGKILL while saving every second leaves a loadable model that --resume continues', { timeout: 120_000 }, async () => {
    const dir = path.join(root, 'sigkill');
    const child = spawnVqvae(['train', '--data', 'mnist', '--out', dir, ...TINY, '--steps', '100000', '--checkpoint-every', '1']);
    const config = path.join(dir, 'config.json');
    const deadline = Date.now() + 60_000;
    while (!fs.existsSync(config)) {
      assert.ok(Date.now() < deadline && child.process.exitCode === null, `no checkpoint appeared; stdout:\n${child.stdout()}\nstderr:\n${child.stderr()}`);
      await sleep(50);
    }
    await sleep(3000); // a few more saves happen meanwhile
    child.process.kill('SIGKILL');
    const { signal } = await child.exited;
    assert.equal(signal, 'SIGKILL');

    const step = readConfig(dir).training.step;
    assert.ok(step > 0);
    const loaded = loadModel(dir); // throws if the weights do not belong to config.json
    loaded.vqvae.dispose();

    const resumed = await train(dir, '--steps', String(step + 2), '--resume');
    assertOk(resumed);
    assert.match(resumed.stdout, new RegExp(`^resuming ${literal(dir).source} from step ${step}\\b`, 'm'));
    assert.equal(readConfig(dir).training.step, step + 2);
    // The resumed run's save cleans up whatever the killed one left half-done.
    assert.deepEqual(fs.readdirSync(dir).sort(), ['config.json', 'report.html', 'weights.safetensors']);
  });

  it('SIGKILL while saving after nearly every step, three times over, never leaves a half model', { timeout: 120_000 }, async () => {
    // --checkpoint-every 0.01: a save after every step, so a kill often lands inside one.
    const dir = path.join(root, 'sigkill-often');
    const flags = ['train', '--data', 'mnist', '--out', dir, ...TINY, '--steps', '100000', '--checkpoint-every', '0.01'];
    let previous = 0;
    for (let round = 0; round < 3; round++) {
      const child = spawnVqvae(round === 0 ? flags : [...flags, '--resume']);
      if (round === 0) {
        const deadline = Date.now() + 60_000;
        while (!fs.existsSync(path.join(dir, 'config.json'))) {
          assert.ok(Date.now() < deadline && child.process.exitCode === null, `no checkpoint appeared; stderr:\n${child.stderr()}`);
          await sleep(20);
        }
      } else {
        await child.waitFor(new RegExp(`^resuming ${literal(dir).source} from step ${previous}\\b`, 'm'));
        await child.waitFor(/^step \d+\/100000/m);
      }
      await sleep(700 + 400 * round);
      child.process.kill('SIGKILL');
      assert.equal((await child.exited).signal, 'SIGKILL');
      const step = readConfig(dir).training.step;
      assert.ok(step >= previous, `step went back from ${previous} to ${step}`);
      const loaded = loadModel(dir);
      assert.equal(loaded.training?.step, step);
      loaded.vqvae.dispose();
      previous = step;
    }
    assert.ok(previous > 0);
  });
});

describe('a loss that stops being finite', () => {
  // --lr 1e30: the first step is finite, the second overflows (reconstruction
  // error Infinity, VQ loss NaN, so the total is NaN).
  it('stops, keeps the last good checkpoint unchanged and says so', async () => {
    const dir = copyOf('nan');
    const before = snapshot(dir);
    const line = assertFails(await train(dir, '--steps', '10', '--resume', '--lr', '1e30'), 1, /--lr/, literal(dir));
    assert.match(line, /last good checkpoint \(step 4\) is kept/);
    assertUnchanged(before, snapshot(dir));
  });

  it('without an earlier checkpoint, says none was written and leaves no model behind', async () => {
    const dir = path.join(root, 'nan-fresh');
    assertFails(await train(dir, '--steps', '10', '--lr', '1e30'), 1, /no checkpoint was written/);
    assert.equal(fs.existsSync(path.join(dir, 'config.json')), false);
    assert.equal(fs.existsSync(path.join(dir, 'weights.safetensors')), false);
  });

  // EXPECTED TO FAIL until src/cli/train.ts ("the loss became ...") is fixed: it tests
  // Number.isNaN(result.finalLoss), the loss of the last *finite* step, so the
  // message always says "infinite", here for a NaN loss.
  it('names a NaN loss as NaN, not "infinite"', async () => {
    const dir = path.join(root, 'nan-word');
    const line = assertFails(await train(dir, '--steps', '10', '--lr', '1e30'), 1, /step 2\b/);
    assert.match(line, /NaN/);
  });
});
