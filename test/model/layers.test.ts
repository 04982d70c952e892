/**
 * Shapes of every layer of the VQ-VAE: each convolution's output size from
 * the formula (in + 2p - k) / s + 1 (transposed: (in - 1) s - 2p + k), the
 * residual stack's, the encoder's and decoder's, and every variable of the
 * model against the architecture written out here from the description in
 * src/model/encoder.ts and decoder.ts, for several sizes.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { makeModelConfig, type ModelConfig } from '../../src/model/config.js';
import { Conv2d, ConvTranspose2d, type VariableMap } from '../../src/model/layers.js';
import { ResidualStack } from '../../src/model/residualStack.js';
import { VqVae } from '../../src/model/vqvae.js';
import { mulberry32 } from '../../src/random.js';

const convOut = (size: number, k: number, s: number, p: number) => Math.floor((size + 2 * p - k) / s) + 1;
const convTransposeOut = (size: number, k: number, s: number, p: number) => (size - 1) * s - 2 * p + k;

/** name → shape of every variable, from the architecture. */
function expectedVariables(c: ModelConfig): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  const conv = (name: string, k: number, cin: number, cout: number) => {
    out[`${name}.weight`] = [k, k, cin, cout];
    out[`${name}.bias`] = [cout];
  };
  const h = c.hidden;
  let channels = c.inputChannels;
  for (let i = 0; i < c.downsamples; i++) {
    const next = i === c.downsamples - 1 ? h : h / 2;
    conv(`encoder.down.${i}`, 4, channels, next);
    channels = next;
  }
  conv('encoder.conv', 3, h, h);
  for (const part of ['encoder', 'decoder']) {
    for (let i = 0; i < c.resBlocks; i++) {
      conv(`${part}.res.${i}.conv3`, 3, h, c.resHidden);
      conv(`${part}.res.${i}.conv1`, 1, c.resHidden, h);
    }
  }
  conv('encoder.pre_quantize', 1, h, c.codeDim);
  conv('decoder.conv', 3, c.codeDim, h);
  channels = h;
  const last = c.likelihood === 'categorical' ? c.inputChannels * 256 : c.inputChannels;
  for (let i = 0; i < c.downsamples; i++) {
    const next = i === c.downsamples - 1 ? last : h / 2;
    // A transposed convolution's weight is [k, k, out, in].
    out[`decoder.up.${i}.weight`] = [4, 4, next, channels];
    out[`decoder.up.${i}.bias`] = [next];
    channels = next;
  }
  out['quantizer.codebook'] = [c.codebookSize, c.codeDim];
  if (c.quantizer === 'ema') {
    out['quantizer.ema_count'] = [c.codebookSize];
    out['quantizer.ema_sum'] = [c.codebookSize, c.codeDim];
  }
  return out;
}

describe('layer shapes', () => {
  before(async () => {
    await tf.setBackend('cpu');
  });

  it('a convolution and a transposed one give the sizes of their formulas', () => {
    const vars: VariableMap = new Map();
    const rng = mulberry32(1);
    const x = tf.zeros([2, 12, 10, 3]) as tf.Tensor4D;
    for (const [k, s, p] of [[4, 2, 1], [3, 1, 1], [1, 1, 0]] as const) {
      const conv = new Conv2d({ inChannels: 3, outChannels: 5, kernel: k, stride: s, padding: p }, vars, `c${k}`, rng);
      assert.deepEqual(conv.apply(x).shape, [2, convOut(12, k, s, p), convOut(10, k, s, p), 5], `conv ${k}x${k} stride ${s}`);
    }
    const up = new ConvTranspose2d({ inChannels: 3, outChannels: 7, kernel: 4, stride: 2, padding: 1 }, vars, 'up', rng);
    assert.deepEqual(up.apply(x).shape, [2, convTransposeOut(12, 4, 2, 1), convTransposeOut(10, 4, 2, 1), 7]);
    tf.dispose([x, ...vars.values()]);
  });

  it('a residual stack keeps its input shape, ends in a ReLU, and with no blocks is a ReLU', () => {
    const vars: VariableMap = new Map();
    const x = tf.randomNormal([2, 5, 6, 8], 0, 1, 'float32', 3) as tf.Tensor4D;
    const stack = new ResidualStack(8, 3, 2, vars, 'res', mulberry32(2));
    const y = stack.apply(x);
    assert.deepEqual(y.shape, x.shape);
    assert.ok(Array.from(y.dataSync()).every((v) => v >= 0));
    assert.deepEqual([...vars.keys()].sort(), ['res.0.conv1.bias', 'res.0.conv1.weight', 'res.0.conv3.bias', 'res.0.conv3.weight',
      'res.1.conv1.bias', 'res.1.conv1.weight', 'res.1.conv3.bias', 'res.1.conv3.weight']);
    const empty = new ResidualStack(8, 3, 0, new Map(), 'none', mulberry32(2)).apply(x);
    assert.deepEqual(Array.from(empty.dataSync()), Array.from(x.dataSync(), (v) => Math.max(0, v)));
    tf.dispose([x, y, empty, ...vars.values()]);
  });

  const sizes: [string, Partial<ModelConfig>][] = [
    ['28x28x1, 2 stages', { hidden: 8, resHidden: 4, resBlocks: 2, codebookSize: 16, codeDim: 4 }],
    ['32x32x3, 3 stages, EMA', { hidden: 12, resHidden: 5, resBlocks: 1, codebookSize: 9, codeDim: 6, inputChannels: 3, imageHeight: 32, imageWidth: 32, downsamples: 3, quantizer: 'ema' }],
    ['24x16x1, 1 stage, categorical, no residual blocks', { hidden: 6, resHidden: 2, resBlocks: 0, codebookSize: 4, codeDim: 3, imageHeight: 24, imageWidth: 16, downsamples: 1, likelihood: 'categorical' }],
  ];
  for (const [name, sizesOf] of sizes) {
    it(`${name}: every variable, the encoder's and the decoder's output`, () => {
      const c = makeModelConfig(sizesOf);
      const model = new VqVae(c, 0);
      const actual = Object.fromEntries(Object.entries(model.state()).map(([n, v]) => [n, v.shape]));
      assert.deepEqual(actual, expectedVariables(c));
      let h = c.imageHeight;
      let w = c.imageWidth;
      for (let i = 0; i < c.downsamples; i++) [h, w] = [convOut(h, 4, 2, 1), convOut(w, 4, 2, 1)];
      const x = tf.zeros([2, c.imageHeight, c.imageWidth, c.inputChannels]) as tf.Tensor4D;
      const z = model.encoder.apply(x);
      assert.deepEqual(z.shape, [2, h, w, c.codeDim]);
      assert.deepEqual(model.codeGrid, [h, w]);
      const raw = model.decoder.apply(z);
      const channels = c.likelihood === 'categorical' ? c.inputChannels * 256 : c.inputChannels;
      assert.deepEqual(raw.shape, [2, c.imageHeight, c.imageWidth, channels]);
      const out = model.forward(x);
      assert.deepEqual(out.reconstruction.shape, x.shape);
      assert.deepEqual(out.indices.shape, [2, h, w]);
      if (c.likelihood === 'categorical') assert.deepEqual(out.logits!.shape, [2, c.imageHeight, c.imageWidth, c.inputChannels, 256]);
      tf.dispose([x, z, raw]);
      model.dispose();
    });
  }
});
