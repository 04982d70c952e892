/**
 * The two-level VQ-VAE (src/model/hierarchical.ts): the grid of every level
 * for 28x28 and 32x32 inputs, the bottom level quantized given the top
 * level's decoding, the 4 → 7 transposed convolution against a float64 loop,
 * codes → images equal to the forward pass, and training steps lowering the
 * loss on a tiny batch.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../src/backend/select.js';
import { makeModelConfig, type ModelConfig } from '../../src/model/config.js';
import { HierarchicalVqVae, levelGrids } from '../../src/model/hierarchical.js';
import { ConvTranspose2d } from '../../src/model/layers.js';
import { mulberry32 } from '../../src/random.js';
import { Adam } from '../../src/train/adam.js';
import { applyHierarchicalStep, disposeHierarchicalStep, hierarchicalStepGradients } from '../../src/train/hierarchicalStep.js';

const small = { hidden: 8, resHidden: 4, resBlocks: 1, codebookSize: 16, codeDim: 4 };
const top = { codebookSize: 12, codeDim: 3 };

function model(overrides: Partial<ModelConfig> = {}, seed = 0): HierarchicalVqVae {
  return new HierarchicalVqVae({ model: makeModelConfig({ ...small, ...overrides }), top }, seed);
}

describe('HierarchicalVqVae', () => {
  before(async () => {
    await selectBackend('auto');
  });

  const shapeCases = [
    { name: '28x28 grey', overrides: {}, image: [28, 28, 1], bottom: [7, 7], top: [4, 4] },
    { name: '32x32 RGB', overrides: { inputChannels: 3, imageHeight: 32, imageWidth: 32 }, image: [32, 32, 3], bottom: [8, 8], top: [4, 4] },
    { name: '32x32 RGB, categorical', overrides: { inputChannels: 3, imageHeight: 32, imageWidth: 32, likelihood: 'categorical' as const }, image: [32, 32, 3], bottom: [8, 8], top: [4, 4] },
    { name: '28x28, one stride-2 stage', overrides: { downsamples: 1 }, image: [28, 28, 1], bottom: [14, 14], top: [7, 7] },
  ];
  for (const c of shapeCases) {
    it(`${c.name}: bottom ${c.bottom.join('x')}, top ${c.top.join('x')}, every tensor of the forward pass its shape`, () => {
      const m = model(c.overrides);
      const b = 2;
      assert.deepEqual(m.grids, { top: c.top, bottom: c.bottom });
      assert.deepEqual(levelGrids(m.config.model), { top: c.top, bottom: c.bottom });
      const x = tf.randomUniform([b, ...c.image] as [number, number, number, number], -0.5, 0.5, 'float32', 1) as tf.Tensor4D;
      const out = m.forward(x);
      assert.deepEqual(out.top.encoded.shape, [b, ...c.top, top.codeDim]);
      assert.deepEqual(out.top.quantized.shape, [b, ...c.top, top.codeDim]);
      assert.deepEqual(out.top.indices.shape, [b, ...c.top]);
      assert.deepEqual(out.bottom.encoded.shape, [b, ...c.bottom, small.codeDim]);
      assert.deepEqual(out.bottom.indices.shape, [b, ...c.bottom]);
      assert.deepEqual(out.reconstruction.shape, [b, ...c.image]);
      if (c.overrides.likelihood === 'categorical') assert.deepEqual(out.logits!.shape, [b, ...c.image, 256]);
      const idx = m.encodeIndices(x);
      assert.deepEqual(idx.top.shape, [b, ...c.top]);
      assert.deepEqual(idx.bottom.shape, [b, ...c.bottom]);
      // Codes stay within each level's own codebook.
      assert.ok(Math.max(...idx.top.dataSync()) < top.codebookSize);
      assert.ok(Math.max(...idx.bottom.dataSync()) < small.codebookSize);
      tf.dispose([x, idx.top, idx.bottom]);
      m.dispose();
    });
  }

  it('keeps each level in its own variables: two codebooks of their own sizes', () => {
    const m = model();
    const state = m.state();
    assert.deepEqual(state['quantizer.top.codebook']!.shape, [top.codebookSize, top.codeDim]);
    assert.deepEqual(state['quantizer.bottom.codebook']!.shape, [small.codebookSize, small.codeDim]);
    assert.equal(m.topQuantizer.codebookSize, top.codebookSize);
    assert.equal(m.bottomQuantizer.codebookSize, small.codebookSize);
    m.dispose();
  });

  it('quantizes the bottom level given the top: changing one top code changes the bottom quantizer\'s input', () => {
    const m = model({}, 3);
    const x = tf.randomUniform([1, 28, 28, 1], -0.5, 0.5, 'float32', 2) as tf.Tensor4D;
    const features = m.encodeFeatures(x);
    const topIndices = m.encodeIndices(x).top;
    const base = Int32Array.from(topIndices.dataSync());
    const [ht, wt] = m.grids.top;
    const bottomInput = (codes: Int32Array) =>
      tf.tidy(() => m.encodeBottom(features, m.topQuantizer.lookup(tf.tensor3d(codes, [1, ht, wt], 'int32'))).dataSync());
    const reference = bottomInput(base);
    // The forward pass hands the bottom quantizer exactly this (the top codes it chose, decoded).
    const forward = m.forward(x).bottom.encoded.dataSync();
    forward.forEach((v, i) => assert.ok(Math.abs(v - reference[i]!) < 1e-5, `bottom input ${i}: ${v} vs ${reference[i]}`));
    for (const position of [0, 5, ht * wt - 1]) {
      const changed = base.slice();
      changed[position] = (base[position]! + 1) % top.codebookSize;
      const moved = bottomInput(changed);
      const diff = Math.max(...moved.map((v, i) => Math.abs(v - reference[i]!)));
      assert.ok(diff > 1e-4, `top code ${position} changed, bottom input moved by ${diff}`);
    }
    // The same top codes give the same bottom input: it is the top codes, not noise, that moved it.
    assert.deepEqual(Array.from(bottomInput(base)), Array.from(reference));
    tf.dispose([x, features, topIndices]);
    m.dispose();
  });

  it('decodeIndices(encodeIndices(x)) equals the forward reconstruction', () => {
    for (const overrides of [{}, { inputChannels: 3, imageHeight: 32, imageWidth: 32 }]) {
      const m = model(overrides, 4);
      const c = m.config.model;
      const x = tf.randomUniform([2, c.imageHeight, c.imageWidth, c.inputChannels], -0.5, 0.5, 'float32', 5) as tf.Tensor4D;
      const viaCodes = m.decodeIndices(m.encodeIndices(x)).dataSync();
      const direct = m.forward(x).reconstruction.dataSync();
      direct.forEach((v, i) => assert.ok(Math.abs(v - viaCodes[i]!) < 1e-5, `pixel ${i}`));
      assert.throws(() => m.decodeIndices({ top: tf.zeros([2, 3, 3], 'int32') as tf.Tensor3D, bottom: m.encodeIndices(x).bottom }), /top codes must be/);
      m.dispose();
    }
  });

  it('loads its own state, and names what differs in another config\'s', () => {
    const a = model({}, 1);
    const b = model({}, 2);
    const tensors = Object.fromEntries(Object.entries(a.state()).map(([k, v]) => [k, { shape: v.shape, data: v.dataSync() as Float32Array }]));
    b.load(tensors);
    for (const [k, v] of Object.entries(b.state())) assert.deepEqual(Array.from(v.dataSync()), Array.from(tensors[k]!.data), k);
    const other = new HierarchicalVqVae({ model: makeModelConfig(small), top: { codebookSize: 20, codeDim: 3 } });
    assert.throws(() => other.load(tensors), /quantizer\.top\.codebook has shape \[12, 3\], expected \[20, 3\]/);
    tf.dispose([a, b, other].map(() => []));
    a.dispose();
    b.dispose();
    other.dispose();
  });

  for (const quantizer of ['vq', 'ema'] as const) {
    it(`${quantizer}: 20 Adam steps on one tiny batch lower the loss and its reconstruction term`, () => {
      const m = model({ quantizer }, 6);
      const rng = mulberry32(7);
      // Smooth blobs, so the batch has structure to learn.
      const values = Float32Array.from({ length: 4 * 28 * 28 }, (_, i) => {
        const n = Math.floor(i / 784);
        const y = Math.floor((i % 784) / 28);
        const x = i % 28;
        return 0.5 * Math.sin((x + 3 * n) / 5) * Math.cos((y - n) / 4) + 0.05 * (rng() - 0.5);
      });
      const x = tf.tensor4d(values, [4, 28, 28, 1]);
      const optimizer = new Adam({ learningRate: 3e-3 });
      const losses: number[] = [];
      const reconstruction: number[] = [];
      for (let i = 0; i < 20; i++) {
        const step = hierarchicalStepGradients(m, x, 0.1);
        losses.push(step.loss.dataSync()[0]!);
        reconstruction.push(step.reconstructionLoss.dataSync()[0]!);
        // Every trainable variable of both levels gets a gradient.
        if (i === 0) for (const name of Object.keys(m.trainable())) assert.ok(step.grads[name], `no gradient for ${name}`);
        applyHierarchicalStep(m, optimizer, step);
        disposeHierarchicalStep(step);
      }
      assert.ok(losses.every(Number.isFinite));
      assert.ok(losses.at(-1)! < 0.85 * losses[0]!, `loss ${losses[0]} → ${losses.at(-1)}`);
      assert.ok(reconstruction.at(-1)! < reconstruction[0]!, `reconstruction ${reconstruction[0]} → ${reconstruction.at(-1)}`);
      x.dispose();
      m.dispose();
    });
  }
});

describe('ConvTranspose2d to an explicit size', () => {
  before(async () => {
    await selectBackend('auto');
  });

  /** The transposed convolution by its definition, in float64: the adjoint of a 'same' convolution of out → in. */
  function reference(x: Float32Array, inSize: [number, number], w: Float32Array, k: number, cin: number, cout: number, outSize: [number, number]): Float64Array {
    const [ih, iw] = inSize;
    const [oh, ow] = outSize;
    const padTop = Math.floor(Math.max((ih - 1) * 2 + k - oh, 0) / 2);
    const padLeft = Math.floor(Math.max((iw - 1) * 2 + k - ow, 0) / 2);
    const out = new Float64Array(oh * ow * cout);
    for (let iy = 0; iy < ih; iy++) {
      for (let ix = 0; ix < iw; ix++) {
        for (let ky = 0; ky < k; ky++) {
          for (let kx = 0; kx < k; kx++) {
            const oy = iy * 2 + ky - padTop;
            const ox = ix * 2 + kx - padLeft;
            if (oy < 0 || oy >= oh || ox < 0 || ox >= ow) continue;
            for (let co = 0; co < cout; co++) {
              for (let ci = 0; ci < cin; ci++) {
                // tfjs's transposed filter is [kh, kw, out, in].
                out[(oy * ow + ox) * cout + co]! += x[(iy * iw + ix) * cin + ci]! * w[((ky * k + kx) * cout + co) * cin + ci]!;
              }
            }
          }
        }
      }
    }
    return out;
  }

  for (const [inSize, outSize] of [[[4, 4], [7, 7]], [[4, 3], [8, 5]], [[4, 4], [8, 8]]] as [[number, number], [number, number]][]) {
    it(`[${inSize}] → [${outSize}] equals the float64 loop (and the PyTorch size when it is 2x)`, () => {
      const vars = new Map();
      const conv = new ConvTranspose2d({ inChannels: 3, outChannels: 2, kernel: 4, stride: 2, padding: 1 }, vars, 't', mulberry32(1));
      const x = tf.randomUniform([1, ...inSize, 3], -1, 1, 'float32', 3) as tf.Tensor4D;
      const y = conv.apply(x, 'linear', false, outSize);
      assert.deepEqual(y.shape, [1, ...outSize, 2]);
      const expected = reference(x.dataSync() as Float32Array, inSize, conv.weight.dataSync() as Float32Array, 4, 3, 2, outSize);
      const bias = conv.bias.dataSync();
      const got = y.dataSync();
      got.forEach((v, i) => assert.ok(Math.abs(v - (expected[i]! + bias[i % 2]!)) < 1e-5, `output ${i}: ${v} vs ${expected[i]! + bias[i % 2]!}`));
      if (outSize[0] === 2 * inSize[0] && outSize[1] === 2 * inSize[1]) {
        const pytorchSize = conv.apply(x).dataSync();
        got.forEach((v, i) => assert.ok(Math.abs(v - pytorchSize[i]!) < 1e-6));
      }
      assert.throws(() => conv.apply(x, 'linear', false, [inSize[0] * 2 + 1, outSize[1]]), /cannot give/);
      tf.dispose([x, y]);
      for (const v of vars.values()) v.dispose();
    });
  }
});
