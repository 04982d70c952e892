/**
 * `make-speech` on a tiny scale: two voices (one Festival, one espeak-ng),
 * three shared sentences and one of each voice's own, into a temp folder.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { readWav } from '../../src/io/wav.js';
import { segsToLab } from '../../src/audio/makeSpeech.js';
import { makeSentences } from '../../src/audio/sentences.js';
import { tempDir } from '../data/helpers.js';

const script = fileURLToPath(new URL('../../src/audio/makeSpeechMain.js', import.meta.url));

test('make-speech writes one folder per speaker of 16 kHz mono speech, the same sentences for each, and phone timings', () => {
  const out = path.join(tempDir('vqvae-speech-'), 'corpus');
  const result = spawnSync(process.execPath, [script, '--out', out, '--shared', '3', '--unique', '1', '--speakers', 'kal,en-us'], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /wrote 8 utterances of 2 speakers/);
  assert.deepEqual(fs.readdirSync(out).sort(), ['en-us', 'kal', 'prompts.txt']);

  const prompts = fs.readFileSync(path.join(out, 'prompts.txt'), 'utf8').trim().split('\n');
  const shared = makeSentences(3, 1);
  for (let i = 0; i < 3; i++) assert.ok(prompts.includes(`s000${i + 1} ${shared[i]}`), `prompt s000${i + 1}`);
  assert.equal(prompts.length, 5, 'three shared sentences and one of each speaker');

  for (const speaker of ['kal', 'en-us']) {
    const wavs = fs.readdirSync(path.join(out, speaker)).filter((f) => f.endsWith('.wav')).sort();
    assert.deepEqual(wavs.slice(0, 3), ['s0001', 's0002', 's0003'].map((id) => `${speaker}_${id}.wav`));
    assert.equal(wavs.length, 4);
    for (const file of wavs) {
      const wav = readWav(path.join(out, speaker, file));
      assert.equal(wav.sampleRate, 16000);
      const seconds = wav.samples.length / 16000;
      assert.ok(seconds > 0.8 && seconds < 10, `${file}: ${seconds} s`);
      const rms = Math.sqrt(wav.samples.reduce((s, x) => s + x * x, 0) / wav.samples.length);
      assert.ok(rms > 0.01, `${file} is speech, not silence (rms ${rms})`);
    }
  }
  // Festival's speaker has phone timings that tile its audio; espeak-ng's has none.
  for (const file of fs.readdirSync(path.join(out, 'kal')).filter((f) => f.endsWith('.lab'))) {
    const rows = fs.readFileSync(path.join(out, 'kal', file), 'utf8').trim().split('\n').map((l) => l.split(' '));
    assert.ok(rows.length >= 8, `${file} has a phone per sound`);
    let previousEnd = 0;
    for (const [start, end, phone] of rows) {
      assert.equal(Number(start), previousEnd, `${file}: phones are contiguous`);
      assert.ok(Number(end) > Number(start));
      assert.match(phone!, /^[a-z@]+$/);
      previousEnd = Number(end);
    }
    const seconds = readWav(path.join(out, 'kal', file.replace(/\.lab$/, '.wav'))).samples.length / 16000;
    assert.ok(Math.abs(previousEnd / 1e7 - seconds) < 0.3, `${file}: timings end at ${previousEnd / 1e7} s, audio at ${seconds} s`);
  }
  assert.equal(fs.readdirSync(path.join(out, 'en-us')).filter((f) => f.endsWith('.lab')).length, 0);
});

test('make-speech refuses a non-empty folder and an unknown speaker in one line', () => {
  const dir = tempDir('vqvae-speech-');
  fs.writeFileSync(path.join(dir, 'x'), '');
  const busy = spawnSync(process.execPath, [script, '--out', dir], { encoding: 'utf8' });
  assert.equal(busy.status, 2);
  assert.equal(busy.stderr, `make-speech: error: --out ${dir} exists and is not empty; give a new folder\n`);
  const unknown = spawnSync(process.execPath, [script, '--out', path.join(dir, 'new'), '--speakers', 'kal,bob'], { encoding: 'utf8' });
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /^make-speech: error: unknown speaker "bob"; choose from kal, ked, slt, en-us/);
  assert.equal(fs.existsSync(path.join(dir, 'new')), false, 'nothing written');
  const help = spawnSync(process.execPath, [script, '--help'], { encoding: 'utf8' });
  assert.equal(help.status, 0);
  assert.match(help.stdout, /--out DIR/);
});

test('segsToLab turns Festival end times into contiguous HTK start/end labels', () => {
  const segs = 'separator ;\nnfields 1\n#\n0.2200 100 pau\n0.2569 100 dh\n0.3008 100 ax\n';
  assert.equal(segsToLab(segs), '0 2200000 pau\n2200000 2569000 dh\n2569000 3008000 ax\n');
});
