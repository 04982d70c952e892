/**
 * `vqvae convert` with a small audio model saved here: the output WAV has
 * the input's length at the model's rate; encoding and decoding agree with
 * the model's own forward pass; mistakes are one line and write nothing.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../src/backend/select.js';
import { saveAudioModel } from '../../src/audio/checkpoint.js';
import { encodeSamples, padToHop } from '../../src/audio/convert.js';
import { AudioVqVae } from '../../src/audio/model.js';
import { encodeWav, readWav } from '../../src/io/wav.js';
import { assertFails, assertOk, lastJson, tempDir, vqvae } from '../e2e/helpers.js';

before(async () => {
  await selectBackend('auto');
});

const CONFIG = { downsamples: 4, encoderChannels: 8, codebookSize: 16, codeDim: 4, speakers: 2, speakerDim: 2, residualChannels: 8, skipChannels: 8, dilations: [1, 2, 4, 8] };

function setUp(): { dir: string; model: string; input: string } {
  const dir = tempDir('vqvae-convert-');
  const model = path.join(dir, 'model');
  saveAudioModel(model, new AudioVqVae(CONFIG, 2), ['alice', 'bob']);
  const input = path.join(dir, 'in.wav');
  // 0.1 s at 8 kHz: resampled to 1600 samples at 16 kHz, 100 code frames of 16.
  fs.writeFileSync(input, encodeWav(Float32Array.from({ length: 800 }, (_, i) => 0.3 * Math.sin(i / 5)), 8000));
  return { dir, model, input };
}

test('convert writes the input\'s duration at the model\'s rate, saying it resampled', async () => {
  const { dir, model, input } = setUp();
  const out = path.join(dir, 'out.wav');
  const result = await vqvae('convert', '--model', model, '--in', input, '--speaker', 'bob', '--out', out, '--json');
  assertOk(result);
  assert.match(result.stderr + result.stdout, /in\.wav: resampled from 8000 Hz to 16000 Hz/);
  const wav = readWav(out);
  assert.equal(wav.sampleRate, 16000);
  assert.equal(wav.samples.length, 1600);
  const summary = lastJson(result);
  assert.equal(summary['codes'], 100);
  assert.equal(summary['speaker'], 'bob');
  // A different seed draws different audio; the same seed the same.
  const again = path.join(dir, 'again.wav');
  assertOk(await vqvae('convert', '--model', model, '--in', input, '--speaker', 'bob', '--out', again));
  assert.deepEqual(readWav(again).samples, wav.samples);
});

test('encodeSamples pads to whole frames and gives the forward pass\'s codes', () => {
  const model = new AudioVqVae(CONFIG, 3);
  const samples = Float32Array.from({ length: 1000 }, (_, i) => 0.5 * Math.sin(i / 7) * Math.cos(i / 31));
  const padded = padToHop(samples, 16);
  assert.equal(padded.length, 1008);
  const whole = tf.tidy(() => model.encode(tf.tensor2d(padded, [1, 1008])).indices.dataSync());
  assert.deepEqual([...encodeSamples(model, samples)], [...whole]);
  assert.equal(whole.length, 63);
  model.dispose();
});

test('convert: unknown speaker, bad WAV, missing model are one line, and nothing is written', async () => {
  const { dir, model, input } = setUp();
  const out = path.join(dir, 'never.wav');
  assertFails(await vqvae('convert', '--model', model, '--in', input, '--speaker', 'carol', '--out', out), 1, /--speaker "carol": the model knows alice, bob/);
  const bad = path.join(dir, 'bad.wav');
  fs.writeFileSync(bad, 'RIFF....WAVEjunk');
  assertFails(await vqvae('convert', '--model', model, '--in', bad, '--speaker', 'bob', '--out', out), 1, /bad\.wav: /);
  assertFails(await vqvae('convert', '--model', path.join(dir, 'nope'), '--in', input, '--speaker', 'bob', '--out', out), 1, /no model at/);
  assert.equal(fs.existsSync(out), false);
});
