/**
 * Model directories: save/load round trip with the id in both files; a
 * weights file from another save is refused; the documented messages for a
 * missing directory, unparsable config.json and missing weights; a save cut
 * short between the weights and the config (simulated by failing the config's
 * rename) still loads the old checkpoint, also after a second cut-short save;
 * directories without ids load; and a saver SIGKILLed at random moments
 * always leaves a consistent checkpoint.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import {
  CHECKPOINT_ID_KEY,
  PREVIOUS_WEIGHTS_FILE,
  checkpointExists,
  loadCheckpoint,
  saveCheckpoint,
} from '../../src/io/checkpoint.js';
import { decodeSafetensors, encodeSafetensors, type NamedTensor } from '../../src/io/safetensors.js';
import { assertUserError, literal, tempDir, tempFilesIn } from './helpers.js';

function tensorsFor(step: number): Record<string, NamedTensor> {
  return {
    'encoder.conv1.kernel': { dtype: 'F32', shape: [2, 3], data: new Float32Array(6).fill(step + 0.5) },
    'quantizer.counts': { dtype: 'I32', shape: [4], data: new Int32Array(4).fill(step) },
  };
}

/** Asserts that the loaded checkpoint is the one saved at `step`, every part of it. */
function assertStep(dir: string, step: number): void {
  const loaded = loadCheckpoint(dir);
  assert.deepEqual(loaded.config, { hidden: 8, step });
  assert.deepEqual(loaded.metadata, { step: String(step) });
  assert.deepEqual(Array.from(loaded.tensors['encoder.conv1.kernel']!.data as Float32Array), new Array(6).fill(step + 0.5));
  assert.deepEqual(Array.from(loaded.tensors['quantizer.counts']!.data as Int32Array), new Array(4).fill(step));
}

function save(dir: string, step: number): string {
  return saveCheckpoint(dir, { hidden: 8, step }, tensorsFor(step), { step: String(step) });
}

/** Makes the rename onto config.json fail, as if the process died just before it. */
function failConfigRename(t: TestContext): void {
  const rename = fs.renameSync;
  t.mock.method(fs, 'renameSync', (from: fs.PathLike, to: fs.PathLike) => {
    if (String(to).endsWith('config.json')) throw Object.assign(new Error('EIO: simulated crash'), { code: 'EIO' });
    rename(from, to);
  });
}

test('save then load gives back config, tensors, metadata and the shared id', () => {
  const dir = path.join(tempDir(), 'runs', 'mnist'); // created by saveCheckpoint
  assert.equal(checkpointExists(dir), false);
  const id = save(dir, 1);
  assert.equal(checkpointExists(dir), true);
  assertStep(dir, 1);
  assert.equal(loadCheckpoint(dir).checkpointId, id);

  const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  assert.equal(config[CHECKPOINT_ID_KEY], id);
  const weights = decodeSafetensors(fs.readFileSync(path.join(dir, 'weights.safetensors')));
  assert.equal(weights.metadata[CHECKPOINT_ID_KEY], id);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['config.json', 'weights.safetensors']);
});

test('a second save replaces the first, with a new id', () => {
  const dir = tempDir();
  const first = save(dir, 1);
  const second = save(dir, 2);
  assert.notEqual(first, second);
  assertStep(dir, 2);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['config.json', 'weights.safetensors']);
});

test('weights written by another save are refused, naming both ids', () => {
  const dir = tempDir();
  const id = save(dir, 1);
  const foreign = encodeSafetensors(tensorsFor(9), { [CHECKPOINT_ID_KEY]: 'some-other-save' });
  fs.writeFileSync(path.join(dir, 'weights.safetensors'), foreign);
  assertUserError(
    () => loadCheckpoint(dir),
    literal(`${dir}/weights.safetensors does not belong to ${dir}/config.json: checkpoint_id expected "${id}" (from config.json), found "some-other-save"`),
  );
});

test('weights without an id next to a config with one are refused', () => {
  const dir = tempDir();
  save(dir, 1);
  fs.writeFileSync(path.join(dir, 'weights.safetensors'), encodeSafetensors(tensorsFor(1)));
  assertUserError(() => loadCheckpoint(dir), /does not belong to .*found none; the two files come from different saves/);
});

test('a missing directory: "no model at DIR: config.json not found"', () => {
  const dir = path.join(tempDir(), 'nothing-here');
  assertUserError(() => loadCheckpoint(dir), new RegExp(`^${literal(`no model at ${dir}: config.json not found`).source}$`));
  assert.equal(checkpointExists(dir), false);
});

test('an unparsable or non-object config.json is a UserError naming it', () => {
  const dir = tempDir();
  save(dir, 1);
  fs.writeFileSync(path.join(dir, 'config.json'), '{"hidden": 8,');
  assertUserError(() => loadCheckpoint(dir), literal(`${dir}/config.json: not valid JSON (`));
  fs.writeFileSync(path.join(dir, 'config.json'), '[1, 2]');
  assertUserError(() => loadCheckpoint(dir), literal(`${dir}/config.json: expected a JSON object, found an array`));
});

test('missing weights are a UserError', () => {
  const dir = tempDir();
  save(dir, 1);
  fs.unlinkSync(path.join(dir, 'weights.safetensors'));
  assertUserError(() => loadCheckpoint(dir), literal(`no weights at ${dir}: config.json is there but weights.safetensors was not found`));
});

test('corrupt weights report the safetensors problem', () => {
  const dir = tempDir();
  save(dir, 1);
  fs.writeFileSync(path.join(dir, 'weights.safetensors'), new Uint8Array(4));
  assertUserError(() => loadCheckpoint(dir), literal(`${dir}/weights.safetensors: too short to be a safetensors file`));
});

test('a save cut short after the new weights still loads the old checkpoint', (t) => {
  const dir = tempDir();
  save(dir, 1);
  failConfigRename(t);
  assert.throws(() => save(dir, 2), /EIO: simulated crash/);
  t.mock.restoreAll();
  // weights.safetensors is step 2 now, config.json still step 1:
  const onDisk = decodeSafetensors(fs.readFileSync(path.join(dir, 'weights.safetensors')));
  assert.equal(onDisk.metadata.step, '2');
  assert.ok(fs.existsSync(path.join(dir, PREVIOUS_WEIGHTS_FILE)));
  assertStep(dir, 1);

  // A next save that completes moves on and tidies up.
  save(dir, 3);
  assertStep(dir, 3);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['config.json', 'weights.safetensors']);
});

test('two cut-short saves in a row still leave the old checkpoint loadable', (t) => {
  const dir = tempDir();
  save(dir, 1);
  failConfigRename(t);
  assert.throws(() => save(dir, 2), /EIO/);
  // The second save must not replace the kept step-1 weights with the orphaned step-2 ones.
  assert.throws(() => save(dir, 3), /EIO/);
  t.mock.restoreAll();
  assertStep(dir, 1);
});

test('a save cut short after the config (before tidying up) loads the new checkpoint', () => {
  const dir = tempDir();
  save(dir, 1);
  // What steps 1-3 leave when the process dies before step 4:
  fs.linkSync(path.join(dir, 'weights.safetensors'), path.join(dir, PREVIOUS_WEIGHTS_FILE));
  save(dir, 2);
  fs.linkSync(path.join(dir, 'weights.safetensors'), path.join(dir, PREVIOUS_WEIGHTS_FILE));
  assertStep(dir, 2);
  // Both names now point at one file, as after a death between steps 1 and 2;
  // the next save must neither fail nor leave a temp link behind.
  save(dir, 3);
  assertStep(dir, 3);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['config.json', 'weights.safetensors']);
});

test('a directory without ids (hand-written, or from another tool) loads, and is replaced crash-safely', (t) => {
  const dir = tempDir();
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ hidden: 8, step: 4 }));
  fs.writeFileSync(path.join(dir, 'weights.safetensors'), encodeSafetensors(tensorsFor(4), { step: '4' }));
  assertStep(dir, 4);
  assert.equal(loadCheckpoint(dir).checkpointId, undefined);
  // A save cut short: the id-less weights were kept, and still load.
  failConfigRename(t);
  assert.throws(() => save(dir, 5), /EIO/);
  t.mock.restoreAll();
  assertStep(dir, 4);
  save(dir, 6);
  assertStep(dir, 6);
});

test('bad arguments are plain Errors and leave the directory alone', () => {
  const dir = tempDir();
  save(dir, 1);
  assert.throws(() => saveCheckpoint(dir, { [CHECKPOINT_ID_KEY]: 'x' }, tensorsFor(2)), /config must not contain 'checkpoint_id'/);
  assert.throws(() => saveCheckpoint(dir, {}, tensorsFor(2), { [CHECKPOINT_ID_KEY]: 'x' }), /metadata must not contain 'checkpoint_id'/);
  assert.throws(() => saveCheckpoint(dir, [1, 2], tensorsFor(2)), /config must be a plain object, found an array/);
  assert.throws(
    () => saveCheckpoint(dir, {}, { w: { dtype: 'F32', shape: [5], data: new Float32Array(2) } }),
    /shape \[5\] \(5 elements\) but 2 values/,
  );
  assertStep(dir, 1);
});

/** Starts a process that saves checkpoints step after step, from `step + 1`, until killed. */
function startSaver(dir: string, step: number): { child: ReturnType<typeof spawn>; ready: Promise<void> } {
  const moduleUrl = new URL('../../src/io/checkpoint.js', import.meta.url).href;
  const code = `
    import { saveCheckpoint } from ${JSON.stringify(moduleUrl)};
    const [dir, start] = process.argv.slice(1);
    const n = 1 << 17;
    process.stdout.write('ready\\n');
    for (let step = Number(start) + 1; ; step++) {
      saveCheckpoint(dir, { hidden: 8, step }, {
        big: { dtype: 'F32', shape: [n], data: new Float32Array(n).fill(step) },
        counts: { dtype: 'I32', shape: [3], data: new Int32Array(3).fill(step) },
      }, { step: String(step) });
    }
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code, dir, String(step)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (status) => reject(new Error(`saver exited early with ${status}`)));
  });
  return { child, ready };
}

test('a saver killed with SIGKILL at random moments always leaves one whole checkpoint', async () => {
  const dir = tempDir();
  saveCheckpoint(dir, { hidden: 8, step: 0 }, {
    big: { dtype: 'F32', shape: [1 << 17], data: new Float32Array(1 << 17) },
    counts: { dtype: 'I32', shape: [3], data: new Int32Array(3) },
  }, { step: '0' });
  let step = 0;
  for (let round = 0; round < 8; round++) {
    const { child, ready } = startSaver(dir, step);
    await ready;
    await new Promise((resolve) => setTimeout(resolve, 10 + Math.random() * 120));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;

    const loaded = loadCheckpoint(dir);
    const config = loaded.config as { step: number };
    assert.ok(config.step >= step, `round ${round}: never goes back past a completed save`);
    assert.equal(loaded.metadata.step, String(config.step), `round ${round}: weights match config`);
    const big = loaded.tensors.big!.data as Float32Array;
    assert.ok(big.every((v) => v === config.step), `round ${round}: every weight from step ${config.step}`);
    assert.deepEqual(Array.from(loaded.tensors.counts!.data as Int32Array), [config.step, config.step, config.step]);
    step = config.step;
  }
  // The next save clears temp files the killed savers left behind.
  saveCheckpoint(dir, { hidden: 8, step: step + 1 }, {}, {});
  assert.deepEqual(tempFilesIn(dir), []);
});
