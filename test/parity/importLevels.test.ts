/**
 * `vqvae import --from-pytorch` of the two-level model (--levels 2, or a
 * --config of one): PyTorch's state dict of tools/pytorch/vqvae2_torch.py
 * (the levels2 fixtures) becomes a two-level model directory that `vqvae
 * encode` and `vqvae reconstruct` read, giving PyTorch's codes of both levels
 * and PyTorch's reconstruction of the same images, and whose ONNX export gives
 * PyTorch's codes in onnxruntime; a state dict that does not
 * fit, or flags that do not go together, are refused in one line, writing
 * nothing.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { LEVEL_INDICES } from '../../src/export/onnx/hierarchicalGraphs.js';
import type { NamedTensor } from '../../src/io/safetensors.js';
import { writeSafetensorsFile } from '../../src/io/safetensorsFile.js';
import { levelCodePaths } from '../../src/model/hierarchicalCodes.js';
import { loadModel } from '../../src/model/checkpoint.js';
import { loadHierarchicalModel } from '../../src/model/hierarchicalFile.js';
import { assertFails, assertOk, int32Values, lastJson, literal, parseNpy, readCell, readPng, tempDir, vqvae } from '../e2e/helpers.js';
import { ort, runOnnx } from '../export/onnxHelpers.js';
import { loadFixture, loadLevelsFixture } from './fixtures.js';

const root = tempDir('vqvae-import-levels-');
const vq = loadLevelsFixture('vq');
const ema = loadLevelsFixture('ema');
/** The levels2/ema fixture's architecture as flags. */
const EMA_FLAGS = [
  '--levels', '2', '--ema', '--channels', '3', '--image-size', '32x32', '--hidden', '8', '--res-hidden', '4',
  '--codebook-size', '32', '--code-dim', '8', '--top-codebook-size', '16', '--top-code-dim', '4',
];

function importArgs(fixture: typeof vq, out: string, ...extra: string[]): string[] {
  return ['import', '--from-pytorch', fixture.stateDictFile, '--config', fixture.configFile, '--out', out, '--backend', 'cpu', ...extra];
}

describe('vqvae import --from-pytorch of a two-level model', () => {
  const modelDir = path.join(root, 'vq');

  it('writes a two-level model directory of the config, holding every tensor of the state dict', async () => {
    const result = await vqvae(...importArgs(vq, modelDir, '--json'));
    assertOk(result);
    const inFile = Object.values(vq.stateDict);
    assert.deepEqual(lastJson(result), {
      out: modelDir, levels: 2, quantizer: 'vq', tensors: inFile.length, parameters: inFile.reduce((n, t) => n + t.data.length, 0),
    });
    const loaded = loadHierarchicalModel(modelDir);
    assert.deepEqual(loaded.model, vq.config);
    const state = loaded.vqvae.state();
    // Copied as they are: the codebooks and a bias of each part.
    assert.deepEqual(Array.from(state['quantizer.top.codebook']!.dataSync()), Array.from(vq.stateDict['quantize_t.embedding.weight']!.data as Float32Array));
    assert.deepEqual(Array.from(state['quantizer.bottom.codebook']!.dataSync()), Array.from(vq.stateDict['quantize_b.embedding.weight']!.data as Float32Array));
    assert.deepEqual(Array.from(state['decoder.upsample_top.bias']!.dataSync()), Array.from(vq.stateDict['upsample_t.bias']!.data as Float32Array));
    loaded.vqvae.dispose();
  });

  it('vqvae encode of the directory writes PyTorch\'s codes of both levels for the same images', async () => {
    const out = path.join(root, 'codes.npy');
    const n = vq.expected.pixels!.shape[0]!;
    // The fixture's images are the first of Fashion-MNIST's training split (make_fixtures.py).
    assertOk(await vqvae('encode', '--model', modelDir, '--data', 'fashion-mnist', '--split', 'train', '--limit', String(n), '--out', out, '--backend', 'cpu'));
    const files = levelCodePaths(out);
    assert.equal(fs.existsSync(out), false);
    for (const level of ['top', 'bottom'] as const) {
      const npy = parseNpy(fs.readFileSync(files[level]));
      assert.deepEqual(npy.shape, vq.expected[`${level}.indices`]!.shape, `${level} grid`);
      assert.deepEqual(int32Values(npy), Array.from(vq.expected[`${level}.indices`]!.data as Int32Array), `${level} codes`);
    }
  });

  it('vqvae reconstruct of the directory draws PyTorch\'s reconstruction of the same images', async () => {
    const png = path.join(root, 'reconstruction.png');
    const [n, side] = vq.expected.pixels!.shape as [number, number];
    assertOk(await vqvae('reconstruct', '--model', modelDir, '--data', 'fashion-mnist', '--split', 'train', '--limit', String(n), '--columns', String(n), '--out', png, '--backend', 'cpu'));
    const image = readPng(png);
    const [upscale, pad] = [2, 2];
    const cell = side * upscale + pad;
    const torch = vq.expected.reconstruction!.data as Float32Array;
    for (let i = 0; i < n; i++) {
      // Row 0: the originals; row 1: their reconstructions.
      const original = readCell(image, pad + i * cell, pad, side, side, upscale);
      assert.deepEqual(Array.from(original), Array.from((vq.expected.pixels!.data as Uint8Array).subarray(i * side * side, (i + 1) * side * side)), `original ${i}`);
      const drawn = readCell(image, pad + i * cell, pad + cell, side, side, upscale);
      let worst = 0;
      for (let p = 0; p < side * side; p++) {
        const expected = Math.min(1, Math.max(0, torch[i * side * side + p]! + 0.5)) * 255;
        worst = Math.max(worst, Math.abs(drawn[p]! - expected));
      }
      // Rounding to a byte moves a value by at most 0.5; the model's float32 error adds far less than 0.1.
      assert.ok(worst <= 0.6, `reconstruction ${i}: a pixel ${worst.toFixed(2)} from PyTorch's`);
    }
  });

  it('takes the architecture from --levels 2 and the model flags, or from a bare JSON object of settings with "levels": 2', async () => {
    const fromFlags = path.join(root, 'ema-flags');
    assertOk(await vqvae('import', '--from-pytorch', ema.stateDictFile, ...EMA_FLAGS, '--out', fromFlags, '--backend', 'cpu'));
    const loaded = loadHierarchicalModel(fromFlags);
    assert.deepEqual(loaded.model, ema.config);
    assert.deepEqual(Array.from(loaded.vqvae.state()['quantizer.top.ema_count']!.dataSync()), Array.from(ema.stateDict['quantize_t.ema_cluster_size']!.data as Float32Array));
    assert.deepEqual(Array.from(loaded.vqvae.state()['quantizer.bottom.ema_sum']!.dataSync()), Array.from(ema.stateDict['quantize_b.ema_w']!.data as Float32Array));
    loaded.vqvae.dispose();

    const { model } = JSON.parse(fs.readFileSync(ema.configFile, 'utf8')) as { model: Record<string, unknown> };
    const settings = path.join(root, 'settings2.json');
    // topCodeDim from the file, overridden by --top-code-dim, as the model flags override the file.
    fs.writeFileSync(settings, JSON.stringify({ ...model, topCodeDim: 7 }));
    const fromSettings = path.join(root, 'ema-settings');
    assertOk(await vqvae('import', '--from-pytorch', ema.stateDictFile, '--config', settings, '--top-code-dim', '4', '--out', fromSettings, '--backend', 'cpu'));
    const again = loadHierarchicalModel(fromSettings);
    assert.deepEqual(again.model, ema.config);
    again.vqvae.dispose();
  });

  it('vqvae export --onnx of an imported colour model: encoder.onnx gives PyTorch\'s codes of both levels', async () => {
    const dir = path.join(root, 'ema');
    assertOk(await vqvae(...importArgs(ema, dir)));
    const onnx = path.join(root, 'ema-onnx');
    assertOk(await vqvae('export', '--onnx', '--model', dir, '--out', onnx));
    const pixels = ema.expected.pixels!;
    const outputs = await runOnnx(path.join(onnx, 'encoder.onnx'), { pixels: new ort.Tensor('uint8', pixels.data as Uint8Array, pixels.shape) });
    for (const level of ['top', 'bottom'] as const) {
      const got = outputs[LEVEL_INDICES[level]]!;
      const expected = ema.expected[`${level}.indices`]!;
      assert.deepEqual(got.dims, expected.shape, `${level} grid`);
      assert.deepEqual(Array.from(got.data as Int32Array), Array.from(expected.data as Int32Array), `${level} codes`);
    }
  });

  it('takes a model directory\'s config.json, its checkpoint_id and all, of two levels and of one', async () => {
    // modelDir: the first test's import, saved as every model directory is (io/checkpoint.ts).
    const config = path.join(modelDir, 'config.json');
    assert.ok('checkpoint_id' in (JSON.parse(fs.readFileSync(config, 'utf8')) as object));
    const again = path.join(root, 'vq-again');
    assertOk(await vqvae('import', '--from-pytorch', vq.stateDictFile, '--config', config, '--out', again, '--backend', 'cpu'));
    const loaded = loadHierarchicalModel(again);
    assert.deepEqual(loaded.model, vq.config);
    loaded.vqvae.dispose();

    const one = loadFixture('vq');
    const oneDir = path.join(root, 'one');
    assertOk(await vqvae('import', '--from-pytorch', one.stateDictFile, '--config', one.configFile, '--out', oneDir, '--backend', 'cpu'));
    const oneAgain = path.join(root, 'one-again');
    assertOk(await vqvae('import', '--from-pytorch', one.stateDictFile, '--config', path.join(oneDir, 'config.json'), '--out', oneAgain, '--backend', 'cpu'));
    const oneLoaded = loadModel(oneAgain);
    assert.deepEqual(oneLoaded.model, one.config);
    oneLoaded.vqvae.dispose();
  });

  it('refuses a state dict that does not fit, naming each tensor on one line, and writes nothing', async () => {
    const tensors: Record<string, NamedTensor> = { ...vq.stateDict };
    delete tensors['enc_t.conv2.bias'];
    tensors['quantize_t.ema_w'] = vq.stateDict['quantize_t.embedding.weight']!;
    const bias = tensors['upsample_t.bias']!;
    tensors['upsample_t.bias'] = { ...bias, shape: [1, bias.shape[0]!] };
    const file = path.join(root, 'bad.safetensors');
    writeSafetensorsFile(file, tensors);
    const out = path.join(root, 'bad');
    const line = assertFails(
      await vqvae('import', '--from-pytorch', file, '--config', vq.configFile, '--out', out, '--backend', 'cpu'),
      1,
      literal(`${file} does not match the two-level vq model`),
      literal('top K 16, D 4, bottom K 32, D 8'),
      literal('missing enc_t.conv2.bias [8]'),
      literal('unexpected quantize_t.ema_w'),
      literal('upsample_t.bias has shape [1, 4], expected [4]'),
    );
    assert.equal(line.split(';').length, 3, line);
    assert.equal(fs.existsSync(out), false, 'nothing written');
  });

  it('refuses a one-level state dict for a two-level model, and a two-level one for a one-level model, writing nothing', async () => {
    const one = loadFixture('vq');
    const out = path.join(root, 'mixed');
    assertFails(
      await vqvae('import', '--from-pytorch', one.stateDictFile, '--config', one.configFile, '--levels', '2', '--out', out, '--backend', 'cpu'),
      1,
      /does not match the two-level vq model/,
      literal('missing enc_b.conv1.weight'),
      literal('unexpected pre_vq_conv.weight'),
    );
    assertFails(
      await vqvae('import', '--from-pytorch', vq.stateDictFile, '--config', one.configFile, '--out', out, '--backend', 'cpu'),
      1,
      /does not match the vq model/,
      literal('missing encoder.conv1.weight'),
      literal('unexpected enc_b.conv1.weight'),
    );
    assert.equal(fs.existsSync(out), false);
  });

  const refused: [string[], number, RegExp][] = [
    [['--top-codebook-size', '16'], 2, /--top-codebook-size needs --levels 2/],
    [['--levels', '2', '--quantizer', 'rvq'], 2, /--quantizer rvq does not apply to --levels 2/],
    [['--levels', '3'], 2, /--levels must be between 1 and 2/],
  ];
  for (const [flags, code, pattern] of refused) {
    it(`refuses ${flags.join(' ')} in one line, writing nothing`, async () => {
      const out = path.join(root, `refused${flags.join('')}`.replace(/[^a-z0-9]/gi, '_'));
      const one = loadFixture('vq');
      assertFails(await vqvae('import', '--from-pytorch', one.stateDictFile, '--config', one.configFile, '--out', out, ...flags, '--backend', 'cpu'), code, pattern);
      assert.ok(!fs.existsSync(out));
    });
  }

  it('refuses a two-level --config whose top level is another kind than the bottom, naming the file, writing nothing', async () => {
    const saved = JSON.parse(fs.readFileSync(vq.configFile, 'utf8')) as { model: Record<string, unknown> };
    const mixed = path.join(root, 'mixed.json');
    fs.writeFileSync(mixed, JSON.stringify({ ...saved, model: { ...saved.model, topQuantizer: { quantizer: 'ema' } } }));
    const out = path.join(root, 'mixed');
    assertFails(await vqvae('import', '--from-pytorch', vq.stateDictFile, '--config', mixed, '--out', out, '--backend', 'cpu'), 1,
      literal(`${mixed}: a two-level model with an ema top level over a vq bottom cannot be imported`));
    assert.equal(fs.existsSync(out), false);
  });

  it('refuses a --config with "topCodeDim" but no "levels": 2, naming the file', async () => {
    const config = path.join(root, 'top-without-levels.json');
    fs.writeFileSync(config, JSON.stringify({ hidden: 8, topCodeDim: 4 }));
    const out = path.join(root, 'top-without-levels');
    assertFails(await vqvae('import', '--from-pytorch', vq.stateDictFile, '--config', config, '--out', out, '--backend', 'cpu'), 1, literal(config), /"topCodeDim" needs "levels": 2/);
    assert.ok(!fs.existsSync(out));
  });
});
