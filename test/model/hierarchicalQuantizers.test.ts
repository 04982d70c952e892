/**
 * Each level of the two-level model with a quantizer kind of its own
 * (src/model/hierarchical.ts topLevelSettings, levelModelConfigs; built by
 * quantize/factory.ts): fsq, simvq, a lookup dimension, cosine, the rotation
 * gradient on either level; the shapes, the variable names of each level,
 * codes → images equal to the forward pass, training steps, the config
 * file's round trip (hierarchicalModelFile.ts), a config without top settings
 * taking the bottom level's, and the configs a level cannot have; an rvq
 * level's codes [b, h, w, depth] against a float64 greedy residual search.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../src/backend/select.js';
import { UserError } from '../../src/errors.js';
import { makeModelConfig, type ModelConfig } from '../../src/model/config.js';
import { HierarchicalVqVae, topLevelSettings, type TopLevelConfig } from '../../src/model/hierarchical.js';
import { hierarchicalConfigForFile, validateHierarchicalConfig } from '../../src/model/hierarchicalFile.js';
import { checkLevelCodesForPrior, modelIdentity } from '../../src/prior/levels.js';
import { mulberry32 } from '../../src/random.js';
import { Adam } from '../../src/train/adam.js';
import { applyHierarchicalStep, disposeHierarchicalStep, hierarchicalStepGradients, initializeLevelCodebooks } from '../../src/train/hierarchicalStep.js';

const small = { hidden: 8, resHidden: 4, resBlocks: 1, codebookSize: 16, codeDim: 4 };

interface Case {
  name: string;
  bottom: Partial<ModelConfig>;
  top: TopLevelConfig;
  /** The variable names (after `quantizer.<level>.`) each level must have. */
  names: { top: string[]; bottom: string[] };
  /** An rvq level's depth: its codes are [b, h, w, depth]. */
  depth?: { top?: number; bottom?: number };
}

const cases: Case[] = [
  {
    name: 'fsq top (levels 5,3) over an ema bottom',
    bottom: { quantizer: 'ema', restartDead: 0.1 },
    top: { codebookSize: 15, codeDim: 3, quantizer: 'fsq', levels: [5, 3] },
    names: { top: ['project_in.weight', 'project_in.bias', 'project_out.weight', 'project_out.bias'], bottom: ['codebook', 'ema_count', 'ema_sum', 'usage'] },
  },
  {
    name: 'simvq top over a vq bottom with lookup dim 2 and cosine',
    bottom: { quantizer: 'vq', lookupDim: 2, cosine: true },
    top: { codebookSize: 12, codeDim: 3, quantizer: 'simvq' },
    names: {
      top: ['frozen_codebook', 'code_transform.weight'],
      bottom: ['codebook', 'project_in.weight', 'project_in.bias', 'project_out.weight', 'project_out.bias'],
    },
  },
  {
    name: 'vq top with cosine and the rotation gradient over an fsq bottom (levels 4,4)',
    bottom: { quantizer: 'fsq', levels: [4, 4], codebookSize: 16 },
    top: { codebookSize: 12, codeDim: 3, quantizer: 'vq', cosine: true, gradient: 'rotation' },
    names: { top: ['codebook'], bottom: ['project_in.weight', 'project_in.bias', 'project_out.weight', 'project_out.bias'] },
  },
  {
    name: 'rvq top (depth 3) over a vq bottom',
    bottom: { quantizer: 'vq' },
    top: { codebookSize: 12, codeDim: 3, quantizer: 'rvq', depth: 3 },
    names: { top: ['layers.0.codebook', 'layers.1.codebook', 'layers.2.codebook'], bottom: ['codebook'] },
    depth: { top: 3 },
  },
  {
    name: 'rvq bottom (depth 2, dead-code restarts, which the ema top takes too) under an ema top',
    bottom: { quantizer: 'rvq', depth: 2, restartDead: 0.1 },
    top: { codebookSize: 12, codeDim: 3, quantizer: 'ema' },
    names: { top: ['codebook', 'ema_count', 'ema_sum', 'usage'], bottom: ['layers.0.codebook', 'layers.0.usage', 'layers.1.codebook', 'layers.1.usage'] },
    depth: { bottom: 2 },
  },
];

/** One image's code shape of `level` in case `c`: the grid, and the depth of an rvq level. */
function codeShape(c: Case, level: 'top' | 'bottom', grid: readonly number[]): number[] {
  const depth = c.depth?.[level];
  return depth === undefined ? [...grid] : [...grid, depth];
}

function build(c: Case, seed = 0, image: Partial<ModelConfig> = {}): HierarchicalVqVae {
  return new HierarchicalVqVae({ model: makeModelConfig({ ...small, ...c.bottom, ...image }), top: c.top }, seed);
}

/** Smooth blobs with a little noise, [n, 28, 28, 1]. */
function blobs(n: number, seed: number): tf.Tensor4D {
  const rng = mulberry32(seed);
  const values = Float32Array.from({ length: n * 28 * 28 }, (_, i) => {
    const k = Math.floor(i / 784);
    const y = Math.floor((i % 784) / 28);
    const x = i % 28;
    return 0.5 * Math.sin((x + 3 * k) / 5) * Math.cos((y - k) / 4) + 0.05 * (rng() - 0.5);
  });
  return tf.tensor4d(values, [n, 28, 28, 1]);
}

describe('a two-level model with a quantizer kind per level', () => {
  before(async () => {
    await selectBackend('auto');
  });

  for (const c of cases) {
    it(`${c.name}: each level's shapes, codes within its own K, its variables under quantizer.<level>`, () => {
      for (const [image, grids] of [
        [{}, { top: [4, 4], bottom: [7, 7] }],
        [{ inputChannels: 3, imageHeight: 32, imageWidth: 32 }, { top: [4, 4], bottom: [8, 8] }],
      ] as const) {
        const m = build(c, 1, image);
        const b = 2;
        const { imageHeight: H, imageWidth: W, inputChannels: C } = m.config.model;
        const x = tf.randomUniform([b, H, W, C], -0.5, 0.5, 'float32', 3) as tf.Tensor4D;
        const out = m.forward(x);
        assert.deepEqual(out.top.encoded.shape, [b, ...grids.top, c.top.codeDim]);
        assert.deepEqual(out.top.quantized.shape, [b, ...grids.top, c.top.codeDim]);
        assert.deepEqual(out.top.indices.shape, [b, ...codeShape(c, 'top', grids.top)]);
        assert.deepEqual(out.bottom.quantized.shape, [b, ...grids.bottom, small.codeDim]);
        assert.deepEqual(out.bottom.indices.shape, [b, ...codeShape(c, 'bottom', grids.bottom)]);
        assert.deepEqual(m.codeShapes, { top: codeShape(c, 'top', grids.top), bottom: codeShape(c, 'bottom', grids.bottom) });
        assert.deepEqual(out.reconstruction.shape, [b, H, W, C]);
        // K of an fsq level is the product of its levels.
        const K = { top: c.top.levels ? c.top.levels.reduce((p, l) => p * l, 1) : c.top.codebookSize, bottom: m.config.model.codebookSize };
        assert.equal(m.topQuantizer.codebookSize, K.top);
        assert.equal(m.bottomQuantizer.codebookSize, K.bottom);
        for (const level of ['top', 'bottom'] as const) {
          const codes = out[level].indices.dataSync();
          assert.ok(codes.every((k) => k >= 0 && k < K[level]), `${level} codes within 0..${K[level] - 1}`);
        }
        const names = Object.keys({ ...m.topQuantizer.state(), ...m.bottomQuantizer.state() }).sort();
        const expected = [...c.names.top.map((n) => `quantizer.top.${n}`), ...c.names.bottom.map((n) => `quantizer.bottom.${n}`)].sort();
        assert.deepEqual(names, expected);
        tf.dispose([x, out.top.indices, out.bottom.indices, out.reconstruction]);
        m.dispose();
      }
    });

    it(`${c.name}: decodeIndices(encodeIndices(x)) equals the forward reconstruction; the bottom input follows the top codes`, () => {
      const m = build(c, 4);
      const x = blobs(2, 5);
      const codes = m.encodeIndices(x);
      const viaCodes = m.decodeIndices(codes).dataSync();
      const direct = m.forward(x).reconstruction.dataSync();
      direct.forEach((v, i) => assert.ok(Math.abs(v - viaCodes[i]!) < 1e-5, `pixel ${i}: ${v} vs ${viaCodes[i]}`));
      // Another top code at one cell moves what the bottom quantizer sees.
      const features = m.encodeFeatures(x);
      const base = Int32Array.from(codes.top.dataSync());
      const changed = base.slice();
      changed[0] = (base[0]! + 1) % m.topQuantizer.codebookSize;
      const input = (top: Int32Array) => tf.tidy(() => m.encodeBottom(features, m.topQuantizer.lookup(tf.tensor<tf.Rank>(top, codes.top.shape, 'int32') as tf.Tensor3D)).dataSync());
      const [a, b] = [input(base), input(changed)];
      assert.ok(Math.max(...a.map((v, i) => Math.abs(v - b[i]!))) > 1e-5);
      tf.dispose([x, features, codes.top, codes.bottom]);
      m.dispose();
    });

    it(`${c.name}: 15 Adam steps lower the loss; each level's own update runs (EMA moves only its codebook)`, () => {
      const m = build(c, 6);
      const x = blobs(4, 7);
      const optimizer = new Adam({ learningRate: 3e-3 });
      const frozen = Object.entries(m.state()).filter(([n]) => /frozen_codebook|ema_/.test(n)).map(([n, v]) => [n, Array.from(v.dataSync())] as const);
      const losses: number[] = [];
      for (let i = 0; i < 15; i++) {
        const step = hierarchicalStepGradients(m, x, 0.1);
        losses.push(step.loss.dataSync()[0]!);
        if (i === 0) for (const name of Object.keys(m.trainable())) assert.ok(step.grads[name], `no gradient for ${name}`);
        applyHierarchicalStep(m, optimizer, step);
        disposeHierarchicalStep(step);
      }
      assert.ok(losses.every(Number.isFinite));
      assert.ok(losses.at(-1)! < 0.9 * losses[0]!, `loss ${losses[0]} → ${losses.at(-1)}`);
      const state = m.state();
      for (const [name, before] of frozen) {
        const now = Array.from(state[name]!.dataSync());
        // SimVQ's codebook stays frozen; the EMA statistics move.
        if (name.includes('frozen')) assert.deepEqual(now, before, name);
        else assert.notDeepEqual(now, before, name);
      }
      x.dispose();
      m.dispose();
    });
  }

  it('an rvq level\'s codes are the greedy residual search of its vectors (a float64 loop), and decoding them sums each depth\'s code', () => {
    for (const c of cases.filter((k) => k.depth)) {
      const m = build(c, 8);
      const x = blobs(2, 9);
      const out = m.forward(x);
      const level = c.depth!.top ? 'top' : 'bottom';
      const q = level === 'top' ? m.topQuantizer : m.bottomQuantizer;
      const depth = c.depth![level]!;
      const D = q.codeDim;
      const K = q.codebookSize;
      const books = (q as unknown as { layers: { codebook: tf.Variable }[] }).layers.map((l) => Float64Array.from(l.codebook.dataSync()));
      const vectors = out[level].encoded.dataSync();
      const codes = out[level].indices.dataSync();
      const cells = vectors.length / D;
      const expectedSum = new Float64Array(vectors.length);
      for (let cell = 0; cell < cells; cell++) {
        const r = Float64Array.from(vectors.subarray(cell * D, (cell + 1) * D));
        for (let n = 0; n < depth; n++) {
          let best = 0;
          let bestDistance = Infinity;
          for (let k = 0; k < K; k++) {
            let d2 = 0;
            for (let d = 0; d < D; d++) d2 += (r[d]! - books[n]![k * D + d]!) ** 2;
            if (d2 < bestDistance) [best, bestDistance] = [k, d2];
          }
          assert.equal(codes[cell * depth + n], best, `${c.name}: cell ${cell}, depth ${n}`);
          for (let d = 0; d < D; d++) {
            r[d] = r[d]! - books[n]![best * D + d]!;
            expectedSum[cell * D + d] = expectedSum[cell * D + d]! + books[n]![best * D + d]!;
          }
        }
      }
      const looked = q.lookup(out[level].indices).dataSync();
      looked.forEach((v, i) => assert.ok(Math.abs(v - expectedSum[i]!) < 1e-5, `lookup ${i}: ${v} vs ${expectedSum[i]}`));
      // [b, h, w] codes of an rvq level are refused.
      const other = level === 'top' ? 'bottom' : 'top';
      assert.throws(() => m.decodeIndices({ [level]: tf.zeros(out[level].indices.shape.slice(0, 3), 'int32'), [other]: out[other].indices } as never), /codes must be \[2, \d+, \d+, \d+\] for this model, found \[2, \d+, \d+\]/);
      tf.dispose([x, out.top.indices, out.bottom.indices, out.reconstruction]);
      m.dispose();
    }
  });

  it('a prior of a level whose codes (or, for the bottom prior, the top codes it is conditioned on) are residual is refused in one line', () => {
    const [rvqTop, rvqBottom] = cases.filter((k) => k.depth).map((c) => build(c, 1));
    const refuses = (fn: () => void, pattern: RegExp) => assert.throws(fn, (e: unknown) => e instanceof UserError && !e.message.includes('\n') && pattern.test(e.message), String(pattern));
    refuses(() => checkLevelCodesForPrior(rvqTop!, 'top', 'm2'), /^the top prior of the model in m2: its top level is residual \(rvq, depth 3\): a prior over RVQ codes/);
    refuses(() => checkLevelCodesForPrior(rvqTop!, 'bottom', 'm2'), /^the bottom prior of the model in m2: its top level is residual \(rvq, depth 3\)/);
    refuses(() => checkLevelCodesForPrior(rvqBottom!, 'bottom', 'm2'), /^the bottom prior of the model in m2: its bottom level is residual \(rvq, depth 2\)/);
    // The top prior of a model with an rvq bottom level sees one code per cell.
    checkLevelCodesForPrior(rvqBottom!, 'top', 'm2');
    rvqTop!.dispose();
    rvqBottom!.dispose();
  });

  it('k-means init runs only on the levels that ask for it and have a codebook, at their own warm-up step', () => {
    const m = new HierarchicalVqVae({
      model: makeModelConfig({ ...small, quantizer: 'ema', codebookInit: 'kmeans', kmeansWarmup: 2 }),
      top: { codebookSize: 15, codeDim: 3, quantizer: 'fsq', levels: [5, 3] },
    }, 2);
    const batches = [blobs(2, 1), blobs(2, 2), blobs(2, 3), blobs(2, 4)];
    const batchAt = (i: number) => batches[i % batches.length]!.clone();
    assert.deepEqual(initializeLevelCodebooks(m, batchAt, 0), { top: 0, bottom: 0 });
    const before = Array.from(m.bottomQuantizer.codebook.dataSync());
    const used = initializeLevelCodebooks(m, batchAt, 2);
    assert.equal(used.top, 0);
    // 2 * K = 32 vectors wanted, 49 per batch: one batch.
    assert.equal(used.bottom, 2 * 49);
    assert.notDeepEqual(Array.from(m.bottomQuantizer.codebook.dataSync()), before);
    tf.dispose(batches);
    m.dispose();
  });

  it('a config without top settings has the bottom level\'s quantizer on both levels; another top kind leaves off the options it lacks', () => {
    const bottom = makeModelConfig({ ...small, quantizer: 'ema', restartDead: 0.05, decay: 0.9, codebookInit: 'kmeans', cosine: true, beta: 0.5 });
    const same = topLevelSettings(bottom, { codebookSize: 8, codeDim: 3 });
    for (const key of ['quantizer', 'restartDead', 'decay', 'codebookInit', 'cosine', 'beta', 'gradient', 'lookupDim'] as const) assert.deepEqual(same[key], bottom[key], key);
    assert.deepEqual([same.codebookSize, same.codeDim], [8, 3]);
    const fsq = topLevelSettings(bottom, { codebookSize: 6, codeDim: 3, quantizer: 'fsq', levels: [3, 2] });
    assert.deepEqual([fsq.quantizer, fsq.levels, fsq.restartDead, fsq.codebookInit, fsq.cosine], ['fsq', [3, 2], 0, 'uniform', false]);
    // What the kind has no option for, the bottom's still is (beta, decay): harmless to it.
    assert.deepEqual([fsq.beta, fsq.decay], [0.5, 0.9]);
  });

  it('config.json round trip: the top settings are written only where they differ from the bottom\'s, and read back the same', () => {
    const bottom = makeModelConfig({ ...small, quantizer: 'ema', restartDead: 0.05 });
    const plain = hierarchicalConfigForFile({ model: bottom, top: { codebookSize: 8, codeDim: 3 } });
    // The layout of a directory written before per-level quantizers: no topQuantizer, no fsqLevels.
    assert.deepEqual(Object.keys(plain).sort(), [...Object.keys(bottom).filter((k) => k !== 'levels'), 'levels', 'topCodebookSize', 'topCodeDim'].sort());
    assert.equal(plain.levels, 2);
    const back = validateHierarchicalConfig(plain, 'config.json');
    assert.deepEqual(back.model, bottom);
    assert.deepEqual(back.top, topLevelSettings(bottom, { codebookSize: 8, codeDim: 3 }));

    const fsqBottom = makeModelConfig({ ...small, quantizer: 'fsq', levels: [4, 4], codebookSize: 16 });
    const top: TopLevelConfig = { codebookSize: 12, codeDim: 3, quantizer: 'vq', cosine: true, lookupDim: 2 };
    const file = hierarchicalConfigForFile({ model: fsqBottom, top });
    assert.deepEqual(file.fsqLevels, [4, 4]);
    assert.equal(file.levels, 2);
    assert.deepEqual((file.topQuantizer as Record<string, unknown>).quantizer, 'vq');
    const read = validateHierarchicalConfig(JSON.parse(JSON.stringify(file)), 'config.json');
    assert.deepEqual(read.model, fsqBottom);
    assert.deepEqual(read.top, topLevelSettings(fsqBottom, top));
    assert.deepEqual([read.top.cosine, read.top.lookupDim, read.top.levels], [true, 2, []]);
  });

  it('refuses, in one line naming the file and the level, what a level cannot have', () => {
    const bottom = makeModelConfig({ ...small, quantizer: 'ema' });
    const file = (top: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
      ...hierarchicalConfigForFile({ model: bottom, top: { codebookSize: 12, codeDim: 3 } }), topQuantizer: top, ...extra,
    });
    const refuses = (value: unknown, pattern: RegExp) =>
      assert.throws(() => validateHierarchicalConfig(value, 'm/config.json'), (e: unknown) => e instanceof UserError && !e.message.includes('\n') && pattern.test(e.message), String(pattern));
    refuses(file({ quantizer: 'vq', depth: 2 }), /^m\/config\.json \(top level\): "depth" 2 applies to the rvq quantizer only/);
    refuses(file({ quantizer: 'fsq', levels: [5, 3] }), /^m\/config\.json \(top level\): "codebookSize" must be the product of the FSQ levels 5,3 = 15, found 12/);
    refuses(file({ quantizer: 'simvq', cosine: true }), /^m\/config\.json \(top level\): "cosine" does not apply to the simvq quantizer/);
    refuses(file({ lookupDim: 4 }), /^m\/config\.json \(top level\): "lookupDim" 4 must be at most the code dimension 3/);
    refuses(file({ codebookSize: 3 }), /^m\/config\.json: unknown key "codebookSize" in "topQuantizer"/);
    refuses(file({}, { fsqLevels: [4, 4] }), /^m\/config\.json: "levels" does not apply to the ema quantizer/);
    refuses({ ...file({}), depth: 2 }, /^m\/config\.json: "depth" 2 applies to the rvq quantizer only/);
  });

  it('the identity priors check (prior/levels.ts) stays that of the config and codebooks for vq and ema levels, and follows what maps a code to its vector on the others', () => {
    const ema = new HierarchicalVqVae({ model: makeModelConfig({ ...small, quantizer: 'ema', restartDead: 0.1 }), top: { codebookSize: 12, codeDim: 3 } }, 1);
    // The digest as it was before other kinds: the file's config, then each level's `.codebook` variables by name.
    const hash = createHash('sha256');
    hash.update(JSON.stringify(hierarchicalConfigForFile(ema.config)));
    for (const q of [ema.topQuantizer, ema.bottomQuantizer]) {
      const state = q.state();
      for (const name of Object.keys(state).filter((n) => n.endsWith('.codebook')).sort()) {
        hash.update(name);
        hash.update(new Uint8Array(state[name]!.dataSync<'float32'>().slice().buffer));
      }
    }
    assert.equal(modelIdentity(ema), hash.digest('hex').slice(0, 16));
    ema.dispose();
    const fsq = build(cases[0]!, 1);
    const before = modelIdentity(fsq);
    const w = fsq.state()['quantizer.top.project_out.weight']!;
    w.assign(tf.add(w, 0.01));
    assert.notEqual(modelIdentity(fsq), before, 'another FSQ projection out: other vectors for the same top codes');
    fsq.dispose();
  });
});
