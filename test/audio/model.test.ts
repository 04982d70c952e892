/**
 * The audio VQ-VAE's shapes and the WaveNet decoder's causality: with the
 * codes and speaker fixed, the logits at t depend on exactly the levels
 * t - receptiveField .. t - 1, where receptiveField = 1 + sum of dilations
 * is worked out here from the dilations, not read from the model.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../src/backend/select.js';
import { AudioVqVae, categoricalCrossEntropy } from '../../src/audio/model.js';
import { DEFAULT_AUDIO_CONFIG, validateAudioConfig } from '../../src/audio/config.js';
import { mulberry32 } from '../../src/random.js';
import { assertUserError } from '../data/helpers.js';

before(async () => {
  await selectBackend('auto');
});

const SMALL = { downsamples: 3, encoderChannels: 8, codebookSize: 16, codeDim: 4, speakers: 3, speakerDim: 2, residualChannels: 4, skipChannels: 6, dilations: [1, 2, 4, 1, 2] };

function randomLevels(rng: () => number, n: number): Int32Array {
  return Int32Array.from({ length: n }, () => Math.floor(rng() * 256));
}

test('shapes: 64x shorter latents with the default encoder, logits over 256 levels', () => {
  const model = new AudioVqVae({ ...DEFAULT_AUDIO_CONFIG, encoderChannels: 8, codeDim: 8, residualChannels: 4, skipChannels: 4, dilations: [1, 2], speakers: 2 });
  const rng = mulberry32(3);
  const samples = tf.tensor2d(Float32Array.from({ length: 2 * 1024 }, () => rng() * 2 - 1), [2, 1024]);
  const levels = tf.tensor2d(randomLevels(rng, 2048), [2, 1024], 'int32');
  const out = model.forward(samples, levels, tf.tensor1d([0, 1], 'int32'));
  assert.deepEqual(out.encoded.shape, [2, 16, 8]);
  assert.deepEqual(out.indices.shape, [2, 1, 16]);
  assert.deepEqual(out.logits.shape, [2, 1024, 256]);
  // An untrained model is close to uniform over 256 levels: about 8 bits per sample.
  const bits = out.crossEntropy.dataSync()[0]! / Math.LN2;
  assert.ok(bits > 7 && bits < 10, `bits per sample ${bits}`);
  assert.throws(() => model.encode(tf.zeros([1, 1000]) as tf.Tensor2D), /1000 samples is not a multiple of the hop, 64/);
  model.dispose();
});

test('cross-entropy equals -log softmax of the target, computed in float64', () => {
  const rng = mulberry32(5);
  const logits = Float32Array.from({ length: 2 * 3 * 5 }, () => rng() * 4 - 2);
  const targets = Int32Array.from([0, 4, 2, 1, 3, 3]);
  let expected = 0;
  for (let i = 0; i < 6; i++) {
    const row = [...logits.subarray(i * 5, i * 5 + 5)];
    const max = Math.max(...row);
    const logZ = max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
    expected += logZ - row[targets[i]!]!;
  }
  const got = categoricalCrossEntropy(tf.tensor3d(logits, [2, 3, 5]), tf.tensor2d(targets, [2, 3], 'int32'), 5).dataSync()[0]!;
  assert.ok(Math.abs(got - expected / 6) < 1e-5, `${got} vs ${expected / 6}`);
});

test('the decoder is causal: logits at t depend on levels t - (1 + sum d) .. t - 1 and on nothing later', () => {
  const model = new AudioVqVae(SMALL, 7);
  const receptive = 1 + SMALL.dilations.reduce((a, b) => a + b, 0); // 11
  const t = 64;
  const rng = mulberry32(11);
  const base = randomLevels(rng, t);
  const codes = tf.randomNormal([1, t / 8, 4], 0, 1, 'float32', 1) as tf.Tensor3D;
  const speaker = tf.tensor1d([2], 'int32');
  const logitsOf = (levels: Int32Array) => tf.tidy(() => model.decoder.apply(tf.tensor2d(levels, [1, t], 'int32'), codes, speaker).arraySync()[0]!);
  const reference = logitsOf(base);
  for (const at of [0, 20, 40]) {
    const changed = base.slice();
    changed[at] = (changed[at]! + 128) % 256;
    const logits = logitsOf(changed);
    // Exact comparison: rows outside the field go through the very same arithmetic.
    const moved = reference.map((row, i) => row.some((v, k) => v !== logits[i]![k]!));
    for (let i = 0; i < t; i++) {
      const inField = i > at && i <= at + receptive;
      assert.equal(moved[i], inField, `perturbing level ${at}: logits at ${i} ${moved[i] ? 'changed' : 'did not change'}`);
    }
  }
  model.dispose();
});

test('the codes condition the decoder frame by frame, and the speaker everywhere', () => {
  const model = new AudioVqVae(SMALL, 8);
  const t = 32;
  const levels = tf.tensor2d(randomLevels(mulberry32(2), t), [1, t], 'int32');
  const codes = tf.randomNormal([1, 4, 4], 0, 1, 'float32', 2) as tf.Tensor3D;
  const run = (c: tf.Tensor3D, s: number) => model.decoder.apply(levels, c, tf.tensor1d([s], 'int32')).arraySync()[0]!;
  const reference = run(codes, 0);
  // Changing code frame 2 (samples 16..23) changes nothing before sample 16.
  const changed = tf.concat([tf.slice(codes, [0, 0, 0], [1, 2, 4]), tf.add(tf.slice(codes, [0, 2, 0], [1, 1, 4]), 1), tf.slice(codes, [0, 3, 0], [1, 1, 4])], 1) as tf.Tensor3D;
  const withChange = run(changed, 0);
  const differs = (a: number[][], b: number[][], i: number) => a[i]!.some((v, k) => Math.abs(v - b[i]![k]!) > 1e-6);
  for (let i = 0; i < 16; i++) assert.equal(differs(reference, withChange, i), false, `sample ${i} before the changed frame`);
  for (let i = 16; i < 24; i++) assert.equal(differs(reference, withChange, i), true, `sample ${i} under the changed frame`);
  const otherSpeaker = run(codes, 1);
  for (let i = 0; i < t; i++) assert.equal(differs(reference, otherSpeaker, i), true, `sample ${i} with another speaker`);
  model.dispose();
});

test('the config is validated field by field', async () => {
  await assertUserError(() => validateAudioConfig({ dilation: [1] } as never), /unknown field "dilation"/);
  await assertUserError(() => validateAudioConfig({ residualChannels: 0 }), /residualChannels must be an integer >= 1, found 0/);
  await assertUserError(() => validateAudioConfig({ dilations: [] }), /dilations must be a non-empty list/);
  await assertUserError(() => validateAudioConfig({ quantizer: 'gumbel' as never }), /quantizer must be "vq" or "ema"/);
  assert.deepEqual(validateAudioConfig({}).dilations, [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]);
});

test('restartDead: stored in the config (0 when a config lacks it), in [0, 1)', () => {
  assert.equal(validateAudioConfig({}).restartDead, 0);
  assert.equal(validateAudioConfig({ restartDead: 0.1 }).restartDead, 0.1);
  assertUserError(() => validateAudioConfig({ restartDead: 1 }), /restartDead must be a number in \[0, 1\)/);
  // A model with restarts keeps each code's running usage in its state (saved, for --resume).
  const model = new AudioVqVae({ ...SMALL, restartDead: 0.1 });
  assert.ok(Object.keys(model.state()).some((name) => name.endsWith('.usage')), Object.keys(model.state()).join(', '));
  model.dispose();
});
