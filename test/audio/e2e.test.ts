/**
 * End to end on a corpus that make-speech records here (two voices, a few
 * sentences): `vqvae train --data wav:DIR` trains a tiny audio model through
 * the run engine, resumes it, and `vqvae convert` turns one speaker's
 * sentence into the other's voice.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadAudioModel } from '../../src/audio/checkpoint.js';
import { readWav } from '../../src/io/wav.js';
import { assertFails, assertOk, lastJson, tempDir, vqvae } from '../e2e/helpers.js';

const TINY_AUDIO = [
  '--window', '512', '--layers', '4', '--residual-channels', '8', '--skip-channels', '8', '--encoder-channels', '8',
  '--codebook-size', '16', '--code-dim', '4', '--batch', '2', '--eval-limit', '2', '--eval-every', '0',
];

test('train on wav:DIR, resume, evaluate with phonemes, and convert a voice', async () => {
  const root = tempDir('vqvae-audio-e2e-');
  const corpus = path.join(root, 'speech');
  const script = fileURLToPath(new URL('../../src/audio/makeSpeechMain.js', import.meta.url));
  const made = spawnSync(process.execPath, [script, '--out', corpus, '--shared', '4', '--unique', '1', '--speakers', 'kal,en-us'], { encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
  const out = path.join(root, 'model');

  const first = await vqvae('train', '--data', `wav:${corpus}`, '--out', out, '--steps', '3', '--json', ...TINY_AUDIO);
  assertOk(first);
  const summary = lastJson(first);
  assert.equal(summary['steps'], 3);
  assert.ok(Number.isFinite(summary['bits_per_sample']), 'final evaluation: bits per sample');
  assert.ok(typeof summary['phoneme_accuracy'] === 'number', 'kal has phone timings: phoneme accuracy is measured');
  assert.match(first.stdout + first.stderr, /phoneme accuracy [\d.]+% \(chance: majority [\d.]+%/);
  // The report plays the test sentence, its reconstruction and the other voice.
  const report = fs.readFileSync(path.join(out, 'report.html'), 'utf8');
  const players = [...report.matchAll(/<audio controls preload="none" src="data:audio\/wav;base64,([^"]+)"/g)];
  assert.equal(players.length, 3, 'original, reconstruction, converted to the other speaker');
  const { decodeWav } = await import('../../src/io/wav.js');
  for (const [, b64] of players) assert.equal(decodeWav(Buffer.from(b64!, 'base64'), 'clip').sampleRate, 16000);
  assert.match(report, /converted to kal|converted to en-us/);
  const saved = loadAudioModel(out);
  assert.deepEqual(saved.speakers, ['en-us', 'kal']);
  assert.equal(saved.training?.['step'], 3);
  assert.deepEqual(saved.model.dilations, [1, 2, 4, 8]);
  saved.vqvae.dispose();

  const resumed = await vqvae('train', '--data', `wav:${corpus}`, '--out', out, '--steps', '5', '--resume', '--json', ...TINY_AUDIO);
  assertOk(resumed);
  assert.equal(lastJson(resumed)['steps'], 5);
  // Another model size on resume is refused; image flags are refused for speech.
  assertFails(await vqvae('train', '--data', `wav:${corpus}`, '--out', out, '--steps', '6', '--resume', '--residual-channels', '16'), 1, /--residual-channels 16 does not match the model/);
  assertFails(await vqvae('train', '--data', `wav:${corpus}`, '--out', path.join(root, 'x'), '--hidden', '8'), 2, /--hidden applies to image data/);
  assertFails(await vqvae('train', '--data', 'mnist', '--out', path.join(root, 'y'), '--window', '512'), 2, /--window applies to wav:DIR data only/);
  assertFails(await vqvae('train', '--data', `wav:${corpus}`, '--out', out, '--steps', '6', '--resume', '--hop', '128'), 1, /--hop 128 does not match the model in .* \(hop 64\)/);
  assertFails(await vqvae('train', '--data', `wav:${corpus}`, '--out', path.join(root, 'x'), '--hop', '100'), 2, /--hop 100 must be a power of 2/);
  assertFails(await vqvae('train', '--data', `wav:${corpus}`, '--out', path.join(root, 'x'), '--downsamples', '3'), 2, /--downsamples applies to image data; for speech give --hop/);
  assertFails(await vqvae('train', '--data', `wav:${corpus}`, '--out', path.join(root, 'x'), '--hop', '1024', '--window', '1536'), 2, /--window 1536 must be a multiple of the hop, 1024 samples/);

  // eval: the measures, and one conversion scored by the speaker classifier.
  const evaluated = await vqvae('eval', '--model', out, '--json', '--conversions', '1', '--limit', '2');
  assertOk(evaluated);
  const measures = lastJson(evaluated);
  assert.equal(measures['utterances'], 2);
  for (const key of ['bits_per_sample', 'codes_used', 'phoneme_accuracy', 'phoneme_chance_majority', 'classifier_real_accuracy', 'conversion_to_target', 'codes_speaker_accuracy', 'bits_own_speaker', 'bits_target_speaker']) {
    assert.equal(typeof measures[key], 'number', key);
  }
  // encode writes [N, frames] with -1 padding; decode turns a row back into speech.
  const codesFile = path.join(root, 'codes.npy');
  assertOk(await vqvae('encode', '--model', out, '--data', `wav:${corpus}`, '--split', 'test', '--out', codesFile, '--labels-out', path.join(root, 'speakers.npy')));
  const { readNpyFile } = await import('../../src/io/npyFile.js');
  const codes = readNpyFile(codesFile);
  assert.equal(codes.shape[0], 2, 'the held-out sentence s0001, for both speakers');
  const longest = Math.max(...['en-us', 'kal'].map((s) => Math.ceil(readWav(path.join(corpus, s, `${s}_s0001.wav`)).samples.length / 64)));
  assert.equal(codes.shape[1], longest);
  const decoded = path.join(root, 'decoded.wav');
  assertFails(await vqvae('decode', '--model', out, '--codes', codesFile, '--out', decoded), 1, /--speaker is needed to decode speech: one of en-us, kal/);
  assertOk(await vqvae('decode', '--model', out, '--codes', codesFile, '--item', '1', '--speaker', 'kal', '--out', decoded));
  const frames1 = [...(codes.data as Int32Array).subarray(longest, 2 * longest)].filter((v) => v !== -1).length;
  assert.equal(readWav(decoded).samples.length, frames1 * 64);

  // The 1-D prior over those codes, conditioned on the speakers, then speech sampled from it.
  const priorDir = path.join(root, 'prior');
  const speakersFile = path.join(root, 'speakers.npy');
  const priorFlags = ['--codes', codesFile, '--labels', speakersFile, '--model', out, '--out', priorDir, '--batch', '2', '--channels', '8'];
  const trained = await vqvae('prior', 'train', ...priorFlags, '--layers', '3', '--steps', '2', '--json', '--test-codes', codesFile, '--test-labels', speakersFile);
  assertOk(trained);
  assert.match(trained.stdout + trained.stderr, /1-D gated stack, channels 8, 3 layers/);
  assert.ok(Number.isFinite(lastJson(trained)['test_bits_per_code']));
  assertOk(await vqvae('prior', 'train', ...priorFlags, '--steps', '3', '--resume'));
  assertFails(await vqvae('prior', 'train', ...priorFlags, '--steps', '4', '--resume', '--layers', '5'), 1, /--layers 5 does not match the prior/);
  assertFails(await vqvae('prior', 'train', '--codes', codesFile, '--model', out, '--out', path.join(root, 'p2'), '--kernel-size', '5'), 2, /--kernel-size applies to image code grids/);
  assertFails(await vqvae('prior', 'train', '--codes', codesFile, '--out', path.join(root, 'p3')), 1, /codes \[N, frames\] are an audio model's: give --model/);
  assert.ok(!fs.existsSync(path.join(root, 'p2')) && !fs.existsSync(path.join(root, 'p3')));
  const sampled = path.join(root, 'sampled.wav');
  const sampledCodes = path.join(root, 'sampled.npy');
  assertFails(await vqvae('sample', '--model', out, '--prior', priorDir, '--out', sampled), 2, /--speaker is needed/);
  assertFails(await vqvae('sample', '--model', out, '--prior', out, '--speaker', 'kal', '--out', sampled), 1, /not a prior over audio codes/);
  assert.ok(!fs.existsSync(sampled));
  assertOk(await vqvae('sample', '--model', out, '--prior', priorDir, '--speaker', 'kal', '--seconds', '0.1', '--n', '2', '--out', sampled, '--codes-out', sampledCodes));
  const perSample = Math.round((0.1 * 16000) / 64) * 64;
  assert.equal(readWav(sampled).samples.length, 2 * perSample + 0.25 * 16000, 'two samples and the silence between them');
  assert.deepEqual(readNpyFile(sampledCodes).shape, [2, perSample / 64]);

  // --hop 128: seven stride-2 convolutions, one code per 128 samples.
  const coarse = path.join(root, 'coarse');
  assertOk(await vqvae('train', '--data', `wav:${corpus}`, '--out', coarse, '--steps', '1', '--hop', '128', ...TINY_AUDIO));
  const coarseModel = loadAudioModel(coarse);
  assert.equal(coarseModel.model.downsamples, 7);
  coarseModel.vqvae.dispose();
  const coarseCodes = path.join(root, 'coarse.npy');
  assertOk(await vqvae('encode', '--model', coarse, '--data', `wav:${corpus}`, '--split', 'test', '--out', coarseCodes));
  assert.equal(readNpyFile(coarseCodes).shape[1], Math.max(...['en-us', 'kal'].map((s) => Math.ceil(readWav(path.join(corpus, s, `${s}_s0001.wav`)).samples.length / 128))));

  const source = path.join(corpus, 'kal', 'kal_s0001.wav');
  const converted = path.join(root, 'as-en-us.wav');
  assertOk(await vqvae('convert', '--model', out, '--in', source, '--speaker', 'en-us', '--out', converted, '--seconds', '0.25'));
  const wav = readWav(converted);
  assert.equal(wav.sampleRate, 16000);
  assert.equal(wav.samples.length, 4000);
  assert.ok(fs.statSync(converted).size > 8000);
});
