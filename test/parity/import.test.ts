/**
 * `vqvae import --from-pytorch` and the state-dict mapping under it
 * (src/model/pytorch.ts): the layouts move as tf.transpose moves them, an
 * imported model computes what PyTorch computed from the same file, and a
 * state dict that does not fit is refused with one line naming every
 * missing, unexpected and misshaped tensor, writing nothing.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../src/backend/select.js';
import type { NamedTensor } from '../../src/io/safetensors.js';
import { writeSafetensorsFile } from '../../src/io/safetensorsFile.js';
import { loadModel } from '../../src/model/checkpoint.js';
import type { ModelConfig } from '../../src/model/config.js';
import { fromPytorchState, permuteFromPytorch, pytorchShape } from '../../src/model/pytorch.js';
import { pixelsToInput, VqVae } from '../../src/model/vqvae.js';
import { assertFails, assertOk, lastJson, literal, tempDir, vqvae } from '../e2e/helpers.js';
import { isOneLineUserError } from '../shared/assertions.js';
import { assertClose, loadFixture } from './fixtures.js';

const root = tempDir('vqvae-import-');
const SMALL = ['--hidden', '16', '--res-hidden', '8', '--codebook-size', '32', '--code-dim', '8'];

before(async () => {
  await selectBackend('cpu');
});

/** Writes `tensors` as a state-dict file under root and returns its path. */
function stateFile(name: string, tensors: Record<string, NamedTensor>): string {
  const file = path.join(root, name);
  writeSafetensorsFile(file, tensors);
  return file;
}

describe('PyTorch layouts', () => {
  it('moves OIHW and IOHW weights as tf.transpose(w, [2, 3, 1, 0]) does', () => {
    const shape = [2, 3, 4, 5];
    const values = Float32Array.from({ length: 120 }, (_, i) => i * 0.5 - 7);
    const moved = permuteFromPytorch(values, shape);
    const expected = tf.tidy(() => tf.transpose(tf.tensor4d(values, shape as [number, number, number, number]), [2, 3, 1, 0]));
    assert.deepEqual(Array.from(moved), Array.from(expected.dataSync()));
    assert.deepEqual(pytorchShape(expected.shape, true), shape);
    assert.deepEqual(pytorchShape([7, 3], false), [7, 3]);
    expected.dispose();
  });

  it('names every missing, unexpected, misshaped and non-float tensor in one error', () => {
    const fixture = loadFixture('vq');
    const tensors = { ...fixture.stateDict };
    delete tensors['encoder.conv2.bias'];
    tensors['encoder.conv9.weight'] = { dtype: 'F32', shape: [1], data: new Float32Array(1) };
    const w = tensors['decoder.conv1.weight']!;
    tensors['decoder.conv1.weight'] = { ...w, shape: [w.shape[1]!, w.shape[0]!, w.shape[2]!, w.shape[3]!] };
    const c = tensors['vq.embedding.weight']!;
    tensors['vq.embedding.weight'] = { dtype: 'I32', shape: c.shape, data: new Int32Array(c.data.length) };
    assert.throws(
      () => fromPytorchState(tensors, fixture.config, expectedShapes(fixture.config), 'sd.safetensors'),
      (error) =>
        isOneLineUserError(error, [
          /^sd\.safetensors does not match the vq model/,
          literal('missing encoder.conv2.bias [16]'),
          literal('unexpected encoder.conv9.weight'),
          literal('decoder.conv1.weight has shape [8, 16, 3, 3], expected [16, 8, 3, 3]'),
          literal('vq.embedding.weight is I32, expected F32'),
        ]),
    );
  });
});

/** Each variable's shape in our layout, from a model of the config. */
function expectedShapes(config: ModelConfig): Record<string, { shape: number[] }> {
  const model = new VqVae(config);
  const shapes = Object.fromEntries(Object.entries(model.state()).map(([k, v]) => [k, { shape: v.shape }]));
  model.dispose();
  return shapes;
}

describe('vqvae import --from-pytorch', () => {
  it('writes a model directory that computes what PyTorch computed from the same state dict', async () => {
    const fixture = loadFixture('ema');
    const out = path.join(root, 'ema-model');
    const result = await vqvae('import', '--from-pytorch', fixture.stateDictFile, '--config', fixture.configFile, '--out', out, '--backend', 'cpu', '--json');
    assertOk(result);
    const inFile = Object.values(fixture.stateDict);
    const values = inFile.reduce((n, t) => n + t.data.length, 0);
    assert.deepEqual(lastJson(result), { out, quantizer: 'ema', tensors: inFile.length, parameters: values });
    const loaded = loadModel(out);
    assert.deepEqual(loaded.model, fixture.config);
    const ema = loaded.vqvae.state();
    assert.deepEqual(Array.from(ema['quantizer.ema_count']!.dataSync()), Array.from(fixture.stateDict['vq.ema_cluster_size']!.data as Float32Array));
    assert.deepEqual(Array.from(ema['quantizer.ema_sum']!.dataSync()), Array.from(fixture.stateDict['vq.ema_w']!.data as Float32Array));
    const p = fixture.expected.pixels!;
    const [b, h, w, c] = p.shape as [number, number, number, number];
    const x = pixelsToInput(p.data as Uint8Array, b, h, w, c);
    const forward = loaded.vqvae.forward(x);
    assertClose('z_e', { shape: forward.encoded.shape, values: forward.encoded.dataSync() }, fixture.expected.z_e!, 1e-5);
    assert.deepEqual(Array.from(forward.indices.dataSync()), Array.from(fixture.expected.indices!.data as Int32Array));
    assertClose('reconstruction', { shape: forward.reconstruction.shape, values: forward.reconstruction.dataSync() }, fixture.expected.reconstruction!, 1e-5);
    tf.dispose([x, ...Object.values(forward)]);
    loaded.vqvae.dispose();
  });

  it('takes the architecture from flags, or from a JSON object of settings that flags override', async () => {
    const fixture = loadFixture('ema');
    const settings = path.join(root, 'settings.json');
    fs.writeFileSync(settings, JSON.stringify({ hidden: 16, resHidden: 8, codebookSize: 32, codeDim: 64 }));
    const out = path.join(root, 'from-settings');
    assertOk(await vqvae('import', '--from-pytorch', fixture.stateDictFile, '--config', settings, '--code-dim', '8', '--ema', '--out', out, '--backend', 'cpu'));
    assert.deepEqual(loadModel(out).model, fixture.config);
    const flagsOut = path.join(root, 'from-flags');
    assertOk(await vqvae('import', '--from-pytorch', fixture.stateDictFile, ...SMALL, '--ema', '--out', flagsOut, '--backend', 'cpu'));
    assert.deepEqual(loadModel(flagsOut).model, fixture.config);
  });

  it('refuses a state dict that does not fit, naming each tensor on one line, and writes nothing', async () => {
    const fixture = loadFixture('vq');
    const tensors = { ...fixture.stateDict };
    delete tensors['decoder.conv_trans2.bias'];
    tensors['vq.ema_w'] = fixture.stateDict['vq.embedding.weight']!;
    const bias = tensors['pre_vq_conv.bias']!;
    tensors['pre_vq_conv.bias'] = { ...bias, shape: [1, bias.shape[0]!] };
    const file = stateFile('bad.safetensors', tensors);
    const out = path.join(root, 'bad-model');
    const line = assertFails(
      await vqvae('import', '--from-pytorch', file, ...SMALL, '--out', out, '--backend', 'cpu'),
      1,
      literal(file),
      literal('missing decoder.conv_trans2.bias [1]'),
      literal('unexpected vq.ema_w'),
      literal('pre_vq_conv.bias has shape [1, 8], expected [8]'),
    );
    assert.equal(line.split(';').length, 3, line);
    assert.equal(fs.existsSync(out), false, 'nothing written');
  });

  it('refuses an EMA state dict for a VQ model, an unknown setting and an --out that holds a model', async () => {
    const ema = loadFixture('ema');
    assertFails(
      await vqvae('import', '--from-pytorch', ema.stateDictFile, ...SMALL, '--out', path.join(root, 'x'), '--backend', 'cpu'),
      1,
      /unexpected vq\.ema_cluster_size; unexpected vq\.ema_w$/,
    );
    const typo = path.join(root, 'typo.json');
    fs.writeFileSync(typo, JSON.stringify({ hiden: 16 }));
    assertFails(await vqvae('import', '--from-pytorch', ema.stateDictFile, '--config', typo, '--out', path.join(root, 'y')), 1, literal(typo), /unknown key "hiden"/);
    const existing = path.join(root, 'existing');
    assertOk(await vqvae('import', '--from-pytorch', ema.stateDictFile, '--config', ema.configFile, '--out', existing, '--backend', 'cpu'));
    const before = fs.readFileSync(path.join(existing, 'weights.safetensors'));
    assertFails(await vqvae('import', '--from-pytorch', ema.stateDictFile, '--config', ema.configFile, '--out', existing), 1, literal(`${existing} already holds a model`));
    assert.deepEqual(fs.readFileSync(path.join(existing, 'weights.safetensors')), before);
    assertFails(await vqvae('import', '--from-pytorch', path.join(root, 'none.safetensors'), '--out', path.join(root, 'z'), '--backend', 'cpu'), 1, /none\.safetensors: file not found/);
    assertFails(await vqvae('import', '--from-pytorch', ema.stateDictFile, '--out', path.join(root, 'z'), '--image-size', '28'), 2, /--image-size must be HxW/);
    assertFails(await vqvae('import', '--from-pytorch', ema.stateDictFile, '--out', path.join(root, 'z'), '--channels', '2'), 2, /--channels must be 1 or 3/);
  });
});
