/**
 * The MFCC front end against a direct float64 computation (naive DFT, mel
 * formula), and the speaker classifier on real synthesized voices.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { codeHistogram, fft, hzToMel, melFilterbank, melToHz, mfcc, SpeakerClassifier, utteranceFeatures } from '../../src/audio/speakerClassifier.js';
import { loadWavFolder } from '../../src/data/wav.js';
import { mulberry32 } from '../../src/random.js';
import { tempDir } from '../data/helpers.js';

test('the FFT equals a direct DFT', () => {
  const rng = mulberry32(1);
  const x = Float64Array.from({ length: 64 }, () => rng() - 0.5);
  const re = x.slice();
  const im = new Float64Array(64);
  fft(re, im);
  for (let k = 0; k < 64; k++) {
    let r = 0, i = 0;
    for (let t = 0; t < 64; t++) {
      r += x[t]! * Math.cos((2 * Math.PI * k * t) / 64);
      i -= x[t]! * Math.sin((2 * Math.PI * k * t) / 64);
    }
    assert.ok(Math.abs(re[k]! - r) < 1e-9 && Math.abs(im[k]! - i) < 1e-9, `bin ${k}`);
  }
});

test('mel scale and filterbank: 1000 Hz is about 1000 mel, filters peak at 1 and tile the band', () => {
  assert.ok(Math.abs(hzToMel(1000) - 1000) < 0.1);
  assert.ok(Math.abs(melToHz(hzToMel(3456)) - 3456) < 1e-9);
  const bank = melFilterbank(26, 512, 16000);
  assert.equal(bank.length, 26);
  for (const row of bank) assert.ok(Math.max(...row) > 0.5 && Math.max(...row) <= 1);
  // Between the first and last centre, neighbouring triangles sum to 1.
  const centre = (m: number) => (melToHz((hzToMel(8000) * (m + 1)) / 27) * 512) / 16000;
  for (let k = Math.ceil(centre(0)); k <= Math.floor(centre(25)); k++) {
    const sum = bank.reduce((s, row) => s + row[k]!, 0);
    assert.ok(Math.abs(sum - 1) < 1e-9, `bin ${k}: ${sum}`);
  }
});

test('MFCC of a frame equals the recipe done directly (Hamming, DFT power, mel, log, DCT-II)', () => {
  const rng = mulberry32(4);
  const samples = Float32Array.from({ length: 400 }, () => rng() - 0.5);
  const [got] = mfcc(samples, { sampleRate: 16000 });
  const bank = melFilterbank(26, 512, 16000);
  const power = Array.from({ length: 257 }, (_, k) => {
    let r = 0, i = 0;
    for (let t = 0; t < 400; t++) {
      const w = samples[t]! * (0.54 - 0.46 * Math.cos((2 * Math.PI * t) / 399));
      r += w * Math.cos((2 * Math.PI * k * t) / 512);
      i -= w * Math.sin((2 * Math.PI * k * t) / 512);
    }
    return r * r + i * i;
  });
  const logMel = bank.map((row) => Math.log(row.reduce((s, v, k) => s + v * power[k]!, 0) + 1e-10));
  for (let q = 0; q < 13; q++) {
    const c = logMel.reduce((s, v, m) => s + v * Math.cos((Math.PI * q * (m + 0.5)) / 26), 0) * Math.sqrt((q === 0 ? 1 : 2) / 26);
    assert.ok(Math.abs(got![q]! - c) < 1e-8, `c${q}: ${got![q]} vs ${c}`);
  }
});

test('the classifier tells synthesized voices apart on sentences it has not heard', () => {
  const out = path.join(tempDir('vqvae-speech-'), 'corpus');
  const script = fileURLToPath(new URL('../../src/audio/makeSpeechMain.js', import.meta.url));
  const made = spawnSync(process.execPath, [script, '--out', out, '--shared', '10', '--unique', '0', '--speakers', 'kal,slt,en-us'], { encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
  const train = loadWavFolder('wav:c', out, { split: 'train' });
  const test_ = loadWavFolder('wav:c', out, { split: 'test' });
  assert.ok(test_.utterances.length === 3, 'the held-out sentence, once per voice');
  const features = (u: { samples: Float32Array }) => utteranceFeatures(u.samples, 16000);
  const classifier = SpeakerClassifier.fit(train.utterances.map(features), train.utterances.map((u) => u.speaker), 3);
  for (const u of test_.utterances) assert.equal(classifier.predict(features(u)), u.speaker, `${u.file}`);
});

test('code histogram: the fraction of the frames each code takes', () => {
  const h = codeHistogram([2, 0, 2, 2], 4);
  assert.deepEqual([...h], [0.25, 0, 0.75, 0]);
  assert.ok(Math.abs(h.reduce((a, b) => a + b, 0) - 1) < 1e-12);
});
