/**
 * Training the audio model on two synthetic "speakers" (sines of two
 * pitches): the loss falls; batches are seeded windows with their mu-law
 * levels; a saved model loads back to the same logits, with its speakers.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../src/backend/select.js';
import { AudioVqVae } from '../../src/audio/model.js';
import { loadAudioModel, saveAudioModel, speakerIndex } from '../../src/audio/checkpoint.js';
import { audioStepper, sampleBatch } from '../../src/audio/train.js';
import { muLawEncode } from '../../src/audio/mulaw.js';
import type { AudioDataset } from '../../src/data/wav.js';
import { Adam } from '../../src/train/adam.js';
import { mulberry32 } from '../../src/random.js';
import { assertUserError, tempDir } from '../data/helpers.js';

before(async () => {
  await selectBackend('auto');
});

const CONFIG = { downsamples: 3, encoderChannels: 16, codebookSize: 32, codeDim: 8, speakers: 2, speakerDim: 4, residualChannels: 16, skipChannels: 16, dilations: [1, 2, 4, 8, 16] };

function sines(): AudioDataset {
  const utterances = [200, 450].flatMap((hz, speaker) => [0, 1, 2].map((k) => ({
    file: `s${speaker}_${k}.wav`, id: String(k), speaker,
    samples: Float32Array.from({ length: 3000 }, (_, i) => 0.5 * Math.sin((2 * Math.PI * hz * i) / 16000 + k)),
  })));
  return { spec: 'synthetic', split: 'train', sampleRate: 16000, speakers: ['low', 'high'], utterances, notes: [] };
}

test('batches are windows of the utterances with their mu-law levels and speakers, the same for the same seed', () => {
  const data = sines();
  const a = sampleBatch(data, 3, 64, 256, mulberry32(4));
  const b = sampleBatch(data, 3, 64, 256, mulberry32(4));
  assert.deepEqual(a, b);
  assert.deepEqual([...a.levels], [...muLawEncode(a.samples)]);
  for (let i = 0; i < 3; i++) {
    const window = a.samples.subarray(i * 64, (i + 1) * 64);
    // The window occurs in an utterance of its speaker.
    const found = data.utterances.some((u) => u.speaker === a.speakers[i] && u.samples.some((_, s) => s + 64 <= u.samples.length && window.every((v, j) => v === u.samples[s + j])));
    assert.ok(found, `window ${i} comes from speaker ${a.speakers[i]}'s audio`);
  }
});

test('training steps lower the bits per sample of predictable audio', () => {
  const model = new AudioVqVae(CONFIG, 1);
  const adam = new Adam({ learningRate: 1e-2 });
  const stepper = audioStepper(model, sines(), { batch: 4, window: 256, seed: 2 });
  const bits: number[] = [];
  for (let step = 0; step < 25; step++) {
    const computed = stepper.computeGradients(step);
    bits.push(computed.metrics['bitsPerSample']!);
    stepper.applyGradients(computed, adam);
    computed.dispose();
  }
  const first = bits.slice(0, 3).reduce((a, b) => a + b) / 3;
  const last = bits.slice(-3).reduce((a, b) => a + b) / 3;
  assert.ok(first > 7, `starts near uniform over 256 levels: ${first}`);
  assert.ok(last < first - 2, `bits per sample ${first.toFixed(2)} → ${last.toFixed(2)}`);
  model.dispose();
});

test('a saved audio model loads back to the same logits and speakers; a mismatch is one line', async () => {
  const dir = path.join(tempDir('vqvae-audio-'), 'model');
  const model = new AudioVqVae({ ...CONFIG, quantizer: 'ema' }, 3);
  saveAudioModel(dir, model, ['low', 'high'], { data: 'synthetic', step: 0 });
  const loaded = loadAudioModel(dir);
  assert.deepEqual(loaded.speakers, ['low', 'high']);
  assert.equal(speakerIndex(loaded, 'high'), 1);
  await assertUserError(() => speakerIndex(loaded, 'bob'), /--speaker "bob": the model knows low, high/);
  const batch = sampleBatch(sines(), 2, 64, 256, mulberry32(1));
  const logits = (m: AudioVqVae) => tf.tidy(() => m.forward(tf.tensor2d(batch.samples, [2, 64]), tf.tensor2d(batch.levels, [2, 64], 'int32'), tf.tensor1d(batch.speakers, 'int32')).logits.dataSync());
  assert.deepEqual(logits(loaded.vqvae), logits(model));
  const other = path.join(path.dirname(dir), 'other');
  saveAudioModel(other, new AudioVqVae({ ...CONFIG, quantizer: 'ema', residualChannels: 8 }, 3), ['low', 'high']);
  const { saveCheckpoint, loadCheckpoint } = await import('../../src/io/checkpoint.js');
  const mixed = loadCheckpoint(other);
  saveCheckpoint(other, { ...(loadCheckpoint(dir).config as object) }, mixed.tensors);
  await assertUserError(() => loadAudioModel(other), /does not match the model config: decoder.input.weight has shape \[1, 8\], expected \[1, 16\]; /);
});

test('starting the codebook on encoder outputs spreads the codes over the data', () => {
  for (const quantizer of ['vq', 'ema'] as const) {
    const model = new AudioVqVae({ ...CONFIG, codebookSize: 64, quantizer }, 1);
    const batch = sampleBatch(sines(), 8, 256, 256, mulberry32(3));
    const x = tf.tensor2d(batch.samples, [8, 256]);
    const used = () => tf.tidy(() => new Set(model.encode(x).indices.dataSync()).size);
    const before = used();
    model.initCodebookFromData(x, mulberry32(4));
    const after = used();
    assert.ok(after > before && after >= 8, `${quantizer}: codes used ${before} → ${after} of 64`);
    // Every code is an encoder output of that batch.
    const encoded = tf.tidy(() => tf.reshape(model.encoder.apply(x), [-1, 8]).arraySync() as number[][]);
    const codebook = model.quantizer.codebook.arraySync() as number[][];
    for (const code of codebook) assert.ok(encoded.some((z) => z.every((v, i) => Math.abs(v - code[i]!) < 1e-6)));
    x.dispose();
    model.dispose();
  }
});
