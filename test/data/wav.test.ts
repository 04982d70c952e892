/**
 * `wav:DIR` on small trees written here: speakers from sub-folders, the two
 * split layouts, resampling with a note, phone timings, and bad input.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { loadDataset } from '../../src/data/index.js';
import { loadWavFolder, readLab } from '../../src/data/wav.js';
import { encodeWav } from '../../src/io/wav.js';
import { assertUserError, literal, tempDir, writeFile } from './helpers.js';

/** A WAV whose samples encode its speaker and utterance: value (s * 10 + u) / 100. */
function tone(file: string, value: number, n = 160, rate = 16000, format: 'pcm16' | 'float32' = 'float32'): void {
  writeFile(file, encodeWav(new Float32Array(n).fill(value), rate, format));
}

test('speaker folders (VCTK layout) give speakers, ids and a fixed held-out split by utterance id', () => {
  const dir = tempDir('vqvae-wavdata-');
  const speakers = ['p226', 'p225', 'zed'];
  for (const [s, name] of speakers.entries()) {
    for (let u = 1; u <= 12; u++) tone(path.join(dir, name, `${name}_${String(u).padStart(3, '0')}.wav`), (s * 20 + u) / 100);
  }
  fs.mkdirSync(path.join(dir, '.hidden'));
  const train = loadWavFolder('wav:x', dir, { split: 'train' });
  const test = loadWavFolder('wav:x', dir, { split: 'test' });
  assert.deepEqual(train.speakers, ['p225', 'p226', 'zed']);
  assert.deepEqual(test.speakers, train.speakers);
  // Ids 001..012 sorted: the 1st and 11th (001, 011) are test, for every speaker.
  assert.deepEqual(test.utterances.map((u) => `${train.speakers[u.speaker]}/${u.id}`), ['p225/001', 'p225/011', 'p226/001', 'p226/011', 'zed/001', 'zed/011']);
  assert.equal(train.utterances.length, 30);
  assert.ok(train.utterances.every((u) => u.id !== '001' && u.id !== '011'));
  // Each file's samples are its own (the value encodes folder and id).
  for (const u of [...train.utterances, ...test.utterances]) {
    const s = speakers.indexOf(train.speakers[u.speaker]!);
    assert.ok(Math.abs(u.samples[0]! - (s * 20 + Number(u.id)) / 100) < 1e-6, u.file);
  }
  assert.deepEqual(train.notes, []);
  assert.equal(loadWavFolder('wav:x', dir, { split: 'train', limit: 4 }).utterances.length, 4);
});

test('train/ and test/ folders are the splits; speakers are taken over both', () => {
  const dir = tempDir('vqvae-wavdata-');
  tone(path.join(dir, 'train', 'a', 'a_1.wav'), 0.1);
  tone(path.join(dir, 'train', 'b', 'b_1.wav'), 0.2);
  tone(path.join(dir, 'test', 'c', 'c_9.wav'), 0.3);
  const train = loadWavFolder('wav:y', dir, { split: 'train' });
  const test = loadWavFolder('wav:y', dir, { split: 'test' });
  assert.deepEqual(train.speakers, ['a', 'b', 'c']);
  assert.deepEqual(train.utterances.map((u) => [u.speaker, u.id]), [[0, '1'], [1, '1']]);
  assert.deepEqual(test.utterances.map((u) => [u.speaker, u.id]), [[2, '9']]);
});

test('other sample rates are resampled to the model rate, with a note saying so', () => {
  const dir = tempDir('vqvae-wavdata-');
  for (let u = 0; u < 3; u++) tone(path.join(dir, 's', `s_${u}.wav`), 0.25, 2205, 22050, 'pcm16');
  tone(path.join(dir, 's', 's_9.wav'), 0.25, 1600, 16000, 'pcm16');
  const data = loadWavFolder('wav:z', dir, { split: 'train' });
  assert.deepEqual(data.notes, ['wav:z: 2 files at 22050 Hz resampled to 16000 Hz']);
  const resampled = data.utterances[0]!;
  assert.equal(resampled.samples.length, 1600, '0.1 s at 16 kHz');
  assert.ok(Math.abs(resampled.samples[800]! - 0.25) < 1e-3, 'a constant stays constant away from the edges');
});

test('phone timings come from .lab files next to the WAVs, in samples', async () => {
  const dir = tempDir('vqvae-wavdata-');
  tone(path.join(dir, 'kal', 'kal_1.wav'), 0.1, 16000);
  tone(path.join(dir, 'kal', 'kal_2.wav'), 0.1, 16000);
  writeFile(path.join(dir, 'kal', 'kal_2.lab'), '0 2200000 pau\n2200000 2569000 dh\n\n');
  const [withLab, without] = loadWavFolder('wav:p', dir, { split: 'train' }).utterances.filter((u) => u.id !== '1').concat(
    loadWavFolder('wav:p', dir, { split: 'test' }).utterances,
  );
  // 0.22 s = 3520 samples, 0.2569 s = 4110.4 → 4110.
  assert.deepEqual(withLab!.phones, [{ start: 0, end: 3520, phone: 'pau' }, { start: 3520, end: 4110, phone: 'dh' }]);
  assert.equal(without!.phones, undefined);
  const bad = writeFile(path.join(dir, 'bad.lab'), '0 100 pau\nnonsense\n');
  await assertUserError(() => readLab(bad, 16000), literal(`${bad}:2`), /expected "start end phone"/);
});

test('bad folders are one clear error line', async () => {
  const root = tempDir('vqvae-wavdata-');
  await assertUserError(() => loadWavFolder('wav:n', path.join(root, 'none')), /wav:n: directory .* not found/);
  const loose = path.join(root, 'loose');
  tone(path.join(loose, 'a.wav'), 0.1);
  await assertUserError(() => loadWavFolder('wav:l', loose), literal(path.join(loose, 'a.wav')), /is not in a speaker sub-folder/);
  const half = path.join(root, 'half');
  tone(path.join(half, 'train', 's', 's_1.wav'), 0.1);
  await assertUserError(() => loadWavFolder('wav:h', half), /has train\/ but no test\//);
  const empty = path.join(root, 'empty');
  fs.mkdirSync(path.join(empty, 's'), { recursive: true });
  await assertUserError(() => loadWavFolder('wav:e', empty), /wav:e: no \.wav files in the train split/);
  const stereo = path.join(root, 'stereo');
  const bytes = encodeWav([0, 0], 16000);
  bytes.writeUInt16LE(2, 22);
  writeFile(path.join(stereo, 's', 's_1.wav'), bytes);
  await assertUserError(() => loadWavFolder('wav:s', stereo, { split: 'test' }), literal(path.join(stereo, 's', 's_1.wav')), /has 2 channels/);
  await assertUserError(() => loadDataset(`wav:${stereo}`), /is speech, not images/);
});
