/**
 * `vqvae import --from-pytorch` of simvq, fsq and rvq models: the PyTorch
 * reference's encoder and decoder tensors (the vq fixture) with the
 * quantizer's tensors of src/model/pytorch.ts's table, nn.Linear weights
 * [out, in] transposed by hand here, and the model directory reading back
 * every value where it belongs.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { selectBackend } from '../../src/backend/select.js';
import type { NamedTensor } from '../../src/io/safetensors.js';
import { writeSafetensorsFile } from '../../src/io/safetensorsFile.js';
import { loadModel } from '../../src/model/checkpoint.js';
import { mulberry32 } from '../../src/random.js';
import { assertFails, assertOk, tempDir, vqvae } from '../e2e/helpers.js';
import { loadFixture } from './fixtures.js';

const root = tempDir('vqvae-import-quantizers-');

type F32 = NamedTensor & { data: Float32Array };

function random(shape: number[], seed: number): F32 {
  const rng = mulberry32(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return { dtype: 'F32', shape, data: Float32Array.from({ length: n }, () => rng() * 2 - 1) };
}

/** [r, c] → [c, r], written out. */
function transposed(t: F32): number[] {
  const [r, c] = t.shape as [number, number];
  const out: number[] = [];
  for (let j = 0; j < c; j++) for (let i = 0; i < r; i++) out.push(t.data[i * c + j]!);
  return out;
}

before(async () => {
  await selectBackend('cpu');
});

describe('vqvae import of the new quantizers', () => {
  const fixture = loadFixture('vq');
  const { K, D } = { K: fixture.config.codebookSize, D: fixture.config.codeDim };
  const { 'vq.embedding.weight': _embedding, ...trunk } = fixture.stateDict;

  /** Imports trunk + `quantizer` tensors with the fixture's config plus `settings`; returns the model's state as arrays. */
  async function importWith(name: string, settings: Record<string, unknown>, quantizer: Record<string, NamedTensor>) {
    const file = path.join(root, `${name}.safetensors`);
    writeSafetensorsFile(file, { ...trunk, ...quantizer });
    const config = path.join(root, `${name}.json`);
    const base = JSON.parse(fs.readFileSync(fixture.configFile, 'utf8')) as { model: Record<string, unknown> };
    fs.writeFileSync(config, JSON.stringify({ ...base.model, ...settings }));
    const out = path.join(root, name);
    assertOk(await vqvae('import', '--from-pytorch', file, '--config', config, '--out', out, '--backend', 'cpu'));
    const { vqvae: model } = loadModel(out);
    const state = Object.fromEntries(Object.entries(model.state()).map(([n, v]) => [n, Array.from(v.dataSync())]));
    model.dispose();
    return state;
  }

  it('rvq: vq.layers.{i}.embedding.weight become quantizer.layers.{i}.codebook', async () => {
    const layers = { 'vq.layers.0.embedding.weight': random([K, D], 1), 'vq.layers.1.embedding.weight': random([K, D], 2) };
    const state = await importWith('rvq', { quantizer: 'rvq', depth: 2 }, layers);
    assert.deepEqual(state['quantizer.layers.0.codebook'], Array.from(layers['vq.layers.0.embedding.weight'].data));
    assert.deepEqual(state['quantizer.layers.1.codebook'], Array.from(layers['vq.layers.1.embedding.weight'].data));
    assert.deepEqual(state['encoder.pre_quantize.bias'], Array.from(trunk['pre_vq_conv.bias']!.data as Float32Array));
  });

  it('simvq: the frozen codebook is copied, the code transform [out, in] transposed', async () => {
    const tensors = { 'vq.frozen_codebook': random([K, D], 3), 'vq.code_transform.weight': random([D, D], 4) };
    const state = await importWith('simvq', { quantizer: 'simvq' }, tensors);
    assert.deepEqual(state['quantizer.frozen_codebook'], Array.from(tensors['vq.frozen_codebook'].data));
    assert.deepEqual(state['quantizer.code_transform.weight'], transposed(tensors['vq.code_transform.weight']));
  });

  /** FSQ's projection tensors for d = 3 scalars, drawn from seeds seed..seed+3. */
  const fsqTensors = (seed: number) => {
    const d = 3;
    return {
      'vq.project_in.weight': random([d, D], seed),
      'vq.project_in.bias': random([d], seed + 1),
      'vq.project_out.weight': random([D, d], seed + 2),
      'vq.project_out.bias': random([D], seed + 3),
    };
  };

  it('fsq: the projections in and out, weights transposed, biases copied', async () => {
    const tensors = fsqTensors(5);
    const state = await importWith('fsq', { quantizer: 'fsq', levels: [4, 4, 2], codebookSize: 32 }, tensors);
    assert.deepEqual(state['quantizer.project_in.weight'], transposed(tensors['vq.project_in.weight']));
    assert.deepEqual(state['quantizer.project_out.weight'], transposed(tensors['vq.project_out.weight']));
    assert.deepEqual(state['quantizer.project_in.bias'], Array.from(tensors['vq.project_in.bias'].data));
    assert.deepEqual(state['quantizer.project_out.bias'], Array.from(tensors['vq.project_out.bias'].data));
  });

  it('--quantizer fsq --levels on the command line give what the same settings in --config give', async () => {
    const tensors = fsqTensors(9);
    const file = path.join(root, 'fsq-flags.safetensors');
    writeSafetensorsFile(file, { ...trunk, ...tensors });
    const out = path.join(root, 'fsq-flags');
    assertOk(await vqvae('import', '--from-pytorch', file, '--config', fixture.configFile, '--quantizer', 'fsq', '--levels', '4,4,2', '--out', out, '--backend', 'cpu'));
    const { model: config, vqvae: model } = loadModel(out);
    assert.deepEqual([config.quantizer, config.levels, config.codebookSize], ['fsq', [4, 4, 2], 32]);
    const state = Object.fromEntries(Object.entries(model.state()).map(([n, v]) => [n, Array.from(v.dataSync())]));
    model.dispose();
    assert.deepEqual(state, await importWith('fsq-config', { quantizer: 'fsq', levels: [4, 4, 2], codebookSize: 32 }, tensors));
  });

  it('a trained model\'s config with dead-code restarts imports, its running usage fresh (1 for every code)', async () => {
    const state = await importWith('restarts', { restartDead: 0.05, codebookInit: 'kmeans', kmeansWarmup: 10 }, { 'vq.embedding.weight': _embedding! });
    assert.deepEqual(state['quantizer.usage'], new Array<number>(K).fill(1));
    assert.deepEqual(state['quantizer.codebook'], Array.from(_embedding!.data as Float32Array));
  });

  const refused: [string[], RegExp][] = [
    [['--restart-dead', '0.1'], /--restart-dead does not apply to vqvae import: a training setting/],
    [['--codebook-init', 'kmeans'], /--codebook-init does not apply to vqvae import: a training setting/],
    [['--kmeans-warmup', '5'], /--kmeans-warmup does not apply to vqvae import/],
    [['--gradient', 'rotation'], /--gradient does not apply to vqvae import/],
    [['--lookup-dim', '4'], /--lookup-dim does not apply to vqvae import: the PyTorch reference model .* no lookup projections/],
    [['--cosine'], /--cosine does not apply to vqvae import/],
    [['--levels', '4,4,2'], /--levels does not apply to --quantizer vq/],
    [['--quantizer', 'ema', '--depth', '2'], /--depth does not apply to --quantizer ema/],
    [['--quantizer', 'fsq', '--levels', '4,1'], /--levels must be integers >= 2/],
  ];
  for (const [flags, pattern] of refused) {
    it(`refuses ${flags.join(' ')} in one line, writing nothing`, async () => {
      const out = path.join(root, `refused${flags.join('')}`.replace(/[^a-z0-9]/gi, '_'));
      assertFails(await vqvae('import', '--from-pytorch', fixture.stateDictFile, '--config', fixture.configFile, '--out', out, ...flags, '--backend', 'cpu'), 2, pattern);
      assert.ok(!fs.existsSync(out));
    });
  }

  for (const [key, value] of [['lookupDim', 4], ['cosine', true]] as const) {
    it(`refuses a --config with ${key} ${value} in one line naming it, writing nothing`, async () => {
      const config = path.join(root, `${key}.json`);
      fs.writeFileSync(config, JSON.stringify({ ...fixture.config, [key]: value }));
      const out = path.join(root, `refused-${key}`);
      assertFails(await vqvae('import', '--from-pytorch', fixture.stateDictFile, '--config', config, '--out', out, '--backend', 'cpu'), 1, new RegExp(`"${key}" ${value} cannot be imported`));
      assert.ok(!fs.existsSync(out));
    });
  }

  it('rvq: a state dict lacking a layer is refused, naming it, writing nothing', async () => {
    const file = path.join(root, 'rvq-short.safetensors');
    writeSafetensorsFile(file, { ...trunk, 'vq.layers.0.embedding.weight': random([K, D], 1) });
    const config = path.join(root, 'rvq3.json');
    fs.writeFileSync(config, JSON.stringify({ ...fixture.config, quantizer: 'rvq', depth: 2 }));
    const out = path.join(root, 'rvq-short');
    assertFails(await vqvae('import', '--from-pytorch', file, '--config', config, '--out', out, '--backend', 'cpu'), 1, new RegExp(`missing vq\\.layers\\.1\\.embedding\\.weight \\[${K}, ${D}\\]`));
    assert.ok(!fs.existsSync(out));
  });
});
