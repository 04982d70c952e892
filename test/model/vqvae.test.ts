import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { makeModelConfig, validateModelConfig, DEFAULT_MODEL_CONFIG } from '../../src/model/config.js';
import { VqVae, ModelMismatchError, pixelsToInput, outputToPixels } from '../../src/model/vqvae.js';
import { UserError } from '../../src/errors.js';

const small = { hidden: 8, resHidden: 4, codebookSize: 16, codeDim: 4 };

describe('VqVae', () => {
  before(async () => {
    await tf.setBackend('cpu');
  });

  it('maps 28x28x1 images to a 7x7 code grid and back to 28x28x1', () => {
    const model = new VqVae(makeModelConfig(small));
    const out = model.forward(tf.zeros([2, 28, 28, 1]) as tf.Tensor4D);
    assert.deepEqual(out.encoded.shape, [2, 7, 7, 4]);
    assert.deepEqual(out.indices.shape, [2, 7, 7]);
    assert.deepEqual(out.reconstruction.shape, [2, 28, 28, 1]);
    model.dispose();
  });

  it('maps 32x32x3 images to an 8x8 code grid, and 3 stages to 4x4', () => {
    const rgb = new VqVae(makeModelConfig({ ...small, inputChannels: 3, imageHeight: 32, imageWidth: 32 }));
    assert.deepEqual(rgb.encodeIndices(tf.zeros([1, 32, 32, 3]) as tf.Tensor4D).shape, [1, 8, 8]);
    assert.deepEqual(rgb.codeGrid, [8, 8]);
    const deep = new VqVae(makeModelConfig({ ...small, inputChannels: 3, imageHeight: 32, imageWidth: 32, downsamples: 3 }));
    const out = deep.forward(tf.zeros([1, 32, 32, 3]) as tf.Tensor4D);
    assert.deepEqual(out.indices.shape, [1, 4, 4]);
    assert.deepEqual(out.reconstruction.shape, [1, 32, 32, 3]);
  });

  it('decodeIndices(encodeIndices(x)) equals the forward reconstruction', () => {
    const model = new VqVae(makeModelConfig(small), 3);
    const x = tf.randomUniform([2, 28, 28, 1], -0.5, 0.5, 'float32', 5) as tf.Tensor4D;
    const viaCodes = model.decodeIndices(model.encodeIndices(x)).dataSync();
    const direct = model.forward(x).reconstruction.dataSync();
    direct.forEach((v, i) => assert.ok(Math.abs(v - viaCodes[i]!) < 1e-5, `pixel ${i}`));
  });

  it('hands the encoder exactly the gradient the decoder gives the quantized codes (straight-through)', () => {
    const model = new VqVae(makeModelConfig(small), 4);
    const x = tf.randomUniform([2, 28, 28, 1], -0.5, 0.5, 'float32', 6) as tf.Tensor4D;
    const reconstructionLoss = (q: tf.Tensor4D) => tf.mean(tf.squaredDifference(model.decode(q), x)) as tf.Scalar;
    const encoded = model.encode(x);
    const quantized = model.quantizer.apply(encoded).quantized;
    // Gradient at z_q, the decoder's input ...
    const [atQuantized] = tf.grads((q: tf.Tensor) => reconstructionLoss(q as tf.Tensor4D))([quantized]);
    // ... and at z_e, through the quantizer.
    const [atEncoded] = tf.grads((z: tf.Tensor) => reconstructionLoss(model.quantizer.apply(z as tf.Tensor4D).quantized))([encoded]);
    const a = atQuantized!.dataSync();
    const b = atEncoded!.dataSync();
    assert.ok(a.some((v) => v !== 0));
    a.forEach((v, i) => assert.ok(Math.abs(v - b[i]!) <= 1e-7 + 1e-5 * Math.abs(v), `gradient ${i}: ${v} vs ${b[i]}`));
  });

  it('initialises identically for the same seed and differently for another', () => {
    const values = (seed: number) => Object.values(new VqVae(makeModelConfig(small), seed).state()).map((v) => Array.from(v.dataSync()));
    assert.deepEqual(values(7), values(7));
    assert.notDeepEqual(values(7), values(8));
  });

  it('initialises like PyTorch: weights and biases uniform in +-1/sqrt(fan_in)', () => {
    const state = new VqVae(makeModelConfig(small)).state();
    const w = state['encoder.conv.weight']!; // 3x3x8x8: fan_in 72
    const bound = 1 / Math.sqrt(72);
    const values = Array.from(w.dataSync());
    assert.ok(values.every((v) => Math.abs(v) <= bound));
    assert.ok(Math.max(...values.map(Math.abs)) > 0.9 * bound);
  });

  it('loads weights of the same configuration, and names every mismatch of another', () => {
    const a = new VqVae(makeModelConfig(small), 1);
    const b = new VqVae(makeModelConfig(small), 2);
    const tensors = Object.fromEntries(
      Object.entries(a.state()).map(([k, v]) => [k, { shape: v.shape, data: v.dataSync() as Float32Array }]),
    );
    b.load(tensors);
    assert.deepEqual(Array.from(b.state()['decoder.up.1.weight']!.dataSync()), Array.from(a.state()['decoder.up.1.weight']!.dataSync()));
    const other = new VqVae(makeModelConfig({ ...small, codeDim: 6 }));
    assert.throws(
      () => other.load(tensors, 'x.safetensors'),
      (e: unknown) =>
        e instanceof ModelMismatchError &&
        e instanceof UserError &&
        e.message.startsWith('x.safetensors does not match the model config: ') &&
        e.message.includes('encoder.pre_quantize.weight has shape [1, 1, 8, 4], expected [1, 1, 8, 6]') &&
        e.message.includes('quantizer.codebook has shape [16, 4], expected [16, 6]'),
    );
  });

  it('scales pixels to [-0.5, 0.5] and back', () => {
    const pixels = Uint8Array.from([0, 51, 255, 128]);
    const x = pixelsToInput(pixels, 1, 2, 2, 1);
    assert.deepEqual(Array.from(x.dataSync()).map((v) => Math.round(v * 1000) / 1000), [-0.5, -0.3, 0.5, 0.002]);
    assert.deepEqual(Array.from(outputToPixels(tf.tensor([-0.7, 0, 0.6, 0.2]))), [0, 128, 255, 179]);
  });
});

describe('model config', () => {
  it('has the reference sizes as defaults', () => {
    assert.deepEqual(
      [DEFAULT_MODEL_CONFIG.hidden, DEFAULT_MODEL_CONFIG.resHidden, DEFAULT_MODEL_CONFIG.resBlocks, DEFAULT_MODEL_CONFIG.codebookSize, DEFAULT_MODEL_CONFIG.codeDim, DEFAULT_MODEL_CONFIG.beta],
      [128, 32, 2, 512, 64, 0.25],
    );
  });

  it('rejects unknown keys, wrong types and sizes that do not divide', () => {
    const good = { ...DEFAULT_MODEL_CONFIG };
    assert.throws(() => validateModelConfig({ ...good, hiden: 3 }, 'c.json'), {
      message: /^c\.json: unknown key "hiden"; valid keys are inputChannels, /,
    });
    assert.throws(() => validateModelConfig({ ...good, codebookSize: 0 }, 'c.json'), {
      message: 'c.json: "codebookSize" must be an integer >= 1, found 0',
    });
    assert.throws(() => validateModelConfig({ ...good, hidden: '128' }, 'c.json'), {
      message: 'c.json: "hidden" must be an integer >= 1, found "128"',
    });
    assert.throws(() => makeModelConfig({ imageHeight: 30 }), {
      message: 'model config: image size 30x28 must divide by 2^downsamples = 4',
    });
    assert.throws(() => validateModelConfig({ ...good, quantizer: 'kmeans' }), {
      message: `model config: "quantizer" must be one of 'vq', 'ema', 'simvq', 'fsq', 'rvq', found "kmeans"`,
    });
  });
});
