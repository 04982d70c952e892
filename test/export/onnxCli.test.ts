/**
 * `vqvae export --onnx` end to end: the real command writes files that
 * onnxruntime-node loads (prior.onnx too with --prior), and every bad input is one line naming what is
 * missing, with nothing written and the model directory untouched.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';

import { selectBackend } from '../../src/backend/select.js';
import { saveCheckpoint } from '../../src/io/checkpoint.js';
import { readSafetensorsFile } from '../../src/io/safetensorsFile.js';
import { savePrior } from '../../src/prior/checkpoint.js';
import { makePriorConfig } from '../../src/prior/config.js';
import { PixelCnn } from '../../src/prior/pixelcnn.js';
import { assertFails, assertUnchanged, literal, MAIN_JS, snapshot, tempDir, vqvae } from '../e2e/helpers.js';
import { ort, saveRandomModel, SMALL } from './onnxHelpers.js';

const root = tempDir('vqvae-onnx-cli-');
const modelDir = path.join(root, 'model');

before(async () => {
  await selectBackend('auto');
  saveRandomModel(modelDir, { quantizer: 'ema' }, 7);
});

/** Runs the built `vqvae` binary as a child process. */
function runMain(argv: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN_JS, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A copy of the model directory whose config.json's model section is changed by `edit`. */
function modelWithConfig(name: string, edit: (model: Record<string, unknown>) => void): string {
  const dir = path.join(root, name);
  fs.cpSync(modelDir, dir, { recursive: true });
  const file = path.join(dir, 'config.json');
  const config = JSON.parse(fs.readFileSync(file, 'utf8')) as { model: Record<string, unknown> };
  edit(config.model);
  fs.writeFileSync(file, JSON.stringify(config));
  return dir;
}

describe('vqvae export --onnx', () => {
  it('writes encoder.onnx and decoder.onnx that onnxruntime-node runs, and reports them as JSON', async () => {
    const out = path.join(root, 'exported', 'onnx');
    const before = snapshot(modelDir);
    const result = await runMain(['export', '--onnx', '--model', modelDir, '--out', out, '--json']);
    assert.equal(result.code, 0, result.stderr);
    const files = [path.join(out, 'encoder.onnx'), path.join(out, 'decoder.onnx')];
    assert.deepEqual(JSON.parse(result.stdout.trim().split('\n').at(-1)!), { files });
    assert.deepEqual(fs.readdirSync(out).sort(), ['decoder.onnx', 'encoder.onnx']);
    const encoder = await ort.InferenceSession.create(files[0]!);
    const { indices } = await encoder.run({ pixels: new ort.Tensor('uint8', new Uint8Array(2 * 28 * 28), [2, 28, 28, 1]) });
    assert.deepEqual(indices!.dims, [2, 7, 7]);
    await encoder.release();
    assertUnchanged(before, snapshot(modelDir));
  });

  it('with --prior also writes prior.onnx', async () => {
    const priorDir = path.join(root, 'prior');
    const prior = new PixelCnn(makePriorConfig({ codebookSize: SMALL.codebookSize, height: 7, width: 7, channels: 8, layers: 1 }), 1);
    await savePrior(priorDir, prior);
    prior.dispose();
    const out = path.join(root, 'with-prior');
    const result = await vqvae('export', '--onnx', '--model', modelDir, '--prior', priorDir, '--out', out);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(fs.readdirSync(out).sort(), ['decoder.onnx', 'encoder.onnx', 'prior.onnx']);
    assert.match(result.stdout, literal(`wrote ${path.join(out, 'prior.onnx')}`));
  });

  it('with --data is a usage error naming the flag (example images are for the web export)', async () => {
    const out = path.join(root, 'onnx-with-data');
    assertFails(await vqvae('export', '--onnx', '--data', 'mnist', '--model', modelDir, '--out', out), 2, /--data/);
    assert.equal(fs.existsSync(out), false);
  });
});

describe('vqvae export --onnx: bad input', () => {
  /** Runs the export into a fresh --out and checks that it fails with one line matching `patterns` and writes nothing. */
  async function assertExportFails(model: string, extra: readonly string[], ...patterns: RegExp[]): Promise<void> {
    const out = path.join(root, `out-${path.basename(model)}-${extra.length}`);
    const before = fs.existsSync(model) ? snapshot(model) : undefined;
    assertFails(await vqvae('export', '--onnx', '--model', model, '--out', out, ...extra), 1, ...patterns);
    assert.equal(fs.existsSync(out), false, `${out} was created`);
    if (before) assertUnchanged(before, snapshot(model));
  }

  it('names a model directory that does not exist', async () => {
    const missing = path.join(root, 'nowhere');
    await assertExportFails(missing, [], literal(`no model at ${missing}`), /config\.json not found/);
  });

  it('names the weights file a model directory lacks', async () => {
    const dir = path.join(root, 'no-weights');
    fs.mkdirSync(dir);
    fs.copyFileSync(path.join(modelDir, 'config.json'), path.join(dir, 'config.json'));
    await assertExportFails(dir, [], literal(dir), /weights\.safetensors was not found/);
  });

  it('names a tensor the weights lack', async () => {
    const dir = path.join(root, 'missing-tensor');
    const { tensors } = readSafetensorsFile(path.join(modelDir, 'weights.safetensors'));
    delete tensors['decoder.up.1.weight'];
    const config = JSON.parse(fs.readFileSync(path.join(modelDir, 'config.json'), 'utf8')) as Record<string, unknown>;
    delete config.checkpoint_id;
    saveCheckpoint(dir, config, tensors);
    await assertExportFails(dir, [], /missing decoder\.up\.1\.weight/);
  });

  it('names a model setting the ONNX graphs do not implement', async () => {
    const dir = modelWithConfig('attention', (model) => (model.attentionHeads = 4));
    await assertExportFails(dir, [], /cannot export to ONNX/, /"attentionHeads"/, literal(path.join(dir, 'config.json')));
  });

  it('names a quantizer the ONNX graphs do not implement', async () => {
    // Every quantizer of this version has a graph: a config from a newer one (say, with "lfq") is the case.
    const dir = modelWithConfig('lfq', (model) => (model.quantizer = 'lfq'));
    await assertExportFails(dir, [], /cannot export to ONNX/, /quantizer "lfq"/, /"vq", "ema", "simvq", "fsq" and "rvq"/);
  });

  it('names an --out that is a file, and leaves it alone', async () => {
    const file = path.join(root, 'a-file');
    fs.writeFileSync(file, 'keep me');
    assertFails(await vqvae('export', '--onnx', '--model', modelDir, '--out', file), 1, literal(file), /not a directory/);
    assert.equal(fs.readFileSync(file, 'utf8'), 'keep me');
  });
});
