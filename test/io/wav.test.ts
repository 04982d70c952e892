/**
 * WAV reading and writing: every format against sox (an independent writer
 * and reader), the round trip, and each kind of bad file giving one clear
 * error line that names the file.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { decodeWav, encodeWav, readWav, WAV_FORMATS, writeWav, type WavFormat } from '../../src/io/wav.js';
import { resample } from '../../src/audio/resample.js';
import { isOneLineUserError, literal } from '../shared/assertions.js';
import { tempDir } from '../data/helpers.js';

const SOX_ENCODING: Record<WavFormat, string[]> = {
  pcm8: ['-e', 'unsigned-integer', '-b', '8'],
  pcm16: ['-e', 'signed-integer', '-b', '16'],
  pcm24: ['-e', 'signed-integer', '-b', '24'],
  pcm32: ['-e', 'signed-integer', '-b', '32'],
  float32: ['-e', 'floating-point', '-b', '32'],
};
const STEP: Record<WavFormat, number> = { pcm8: 1 / 128, pcm16: 1 / 32768, pcm24: 1 / 8388608, pcm32: 1 / 2147483648, float32: 1e-7 };

function sine(n: number, rate: number, hz: number, amplitude = 0.5): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => amplitude * Math.sin((2 * Math.PI * hz * i) / rate));
}

test('reads what sox writes in every format: the same tone as sox\'s float32 copy within one quantization step', () => {
  const dir = tempDir('vqvae-wav-');
  const tone = (format: WavFormat) => {
    const file = path.join(dir, `${format}.wav`);
    execFileSync('sox', ['-D', '-n', '-r', '8000', '-c', '1', ...SOX_ENCODING[format], file, 'synth', '0.05', 'sine', '440', 'vol', '0.5']);
    return readWav(file);
  };
  const reference = tone('float32').samples;
  // sox's float tone is a 440 Hz sine of amplitude 0.5 (its phase starts a little off 0).
  const analytic = sine(400, 8000, 440);
  for (let i = 0; i < 400; i++) assert.ok(Math.abs(reference[i]! - analytic[i]!) < 0.03, `float32 sample ${i}`);
  for (const format of WAV_FORMATS) {
    const wav = tone(format);
    assert.equal(wav.format, format);
    assert.equal(wav.sampleRate, 8000);
    assert.equal(wav.samples.length, 400);
    for (let i = 0; i < 400; i++) {
      assert.ok(Math.abs(wav.samples[i]! - reference[i]!) <= STEP[format] + 1e-7, `${format} sample ${i}: ${wav.samples[i]} vs ${reference[i]}`);
    }
  }
});

test('sox reads what writeWav writes in every format, and readWav reads it back', () => {
  const dir = tempDir('vqvae-wav-');
  const samples = sine(300, 16000, 1000, 0.8);
  for (const format of WAV_FORMATS) {
    const file = path.join(dir, `${format}.wav`);
    writeWav(file, samples, 16000, format);
    const info = execFileSync('sox', ['--i', file], { encoding: 'utf8' });
    assert.match(info, /Channels\s+: 1/);
    assert.match(info, /Sample Rate\s+: 16000/);
    assert.match(info, /= 300 samples/);
    // sox's own conversion to float32 agrees with ours.
    const viaSox = path.join(dir, `${format}-sox.wav`);
    execFileSync('sox', ['-D', file, '-e', 'floating-point', '-b', '32', viaSox]);
    const theirs = readWav(viaSox).samples;
    const ours = readWav(file).samples;
    for (let i = 0; i < samples.length; i++) {
      assert.ok(Math.abs(ours[i]! - samples[i]!) <= STEP[format] / 2 + 1e-7, `${format} round trip ${i}`);
      assert.ok(Math.abs(theirs[i]! - ours[i]!) <= 1e-6, `${format} sox vs ours ${i}`);
    }
  }
});

test('integer formats clip at full scale instead of wrapping', () => {
  const wav = decodeWav(encodeWav([1.5, -1.5, 1, -1], 8000, 'pcm16'), 'clip.wav');
  assert.deepEqual([...wav.samples], [32767 / 32768, -1, 32767 / 32768, -1]);
});

test('a WAVE_FORMAT_EXTENSIBLE header and extra chunks are read', () => {
  const dir = tempDir('vqvae-wav-');
  const file = path.join(dir, 'ext.wav');
  // sox writes 24-bit WAVs with the extensible header.
  execFileSync('sox', ['-n', '-r', '16000', '-c', '1', '-e', 'signed-integer', '-b', '24', file, 'synth', '0.01', 'sine', '300']);
  assert.equal(fs.readFileSync(file).readUInt16LE(20), 0xfffe, 'sox wrote an extensible header');
  assert.equal(readWav(file).samples.length, 160);
  // A LIST chunk (odd length, so padded) between fmt and data is skipped.
  const plain = encodeWav([0.25, -0.25], 8000);
  const list = Buffer.concat([Buffer.from('LIST'), Buffer.from([3, 0, 0, 0]), Buffer.from('abc'), Buffer.from([0])]);
  const withList = Buffer.concat([plain.subarray(0, 36), list, plain.subarray(36)]);
  withList.writeUInt32LE(withList.length - 8, 4);
  assert.deepEqual([...decodeWav(withList, 'list.wav').samples], [0.25, -0.25]);
});

test('each bad WAV is one clear error line naming the file', () => {
  const dir = tempDir('vqvae-wav-');
  const good = encodeWav(sine(100, 8000, 440), 8000, 'pcm16');
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ['empty.wav', new Uint8Array(0), /zero length/],
    ['text.wav', Buffer.from('hello, this is not audio at all'), /not a WAV file \(no RIFF\/WAVE header\)/],
    ['truncated.wav', good.subarray(0, 120), /truncated: the data chunk says 200 bytes, the file holds 76/],
    ['half-sample.wav', (() => { const b = Buffer.from(good.subarray(0, 47)); b.writeUInt32LE(3, 40); return b; })(), /truncated: .*not a whole number of 2-byte samples/],
    ['no-data.wav', good.subarray(0, 36), /truncated: no data chunk/],
    ['zero-samples.wav', encodeWav([], 8000), /no audio samples \(zero length data\)/],
    ['alaw.wav', (() => { const b = Buffer.from(good); b.writeUInt16LE(6, 20); return b; })(), /unsupported encoding \(format tag 6, 16 bits\)/],
  ];
  for (const [name, bytes, pattern] of cases) {
    const file = path.join(dir, name);
    fs.writeFileSync(file, bytes);
    assert.throws(() => readWav(file), (e) => isOneLineUserError(e, [literal(file), pattern]), name);
  }
  const stereo = path.join(dir, 'stereo.wav');
  execFileSync('sox', ['-n', '-r', '8000', '-c', '2', '-b', '16', stereo, 'synth', '0.01', 'sine', '440']);
  assert.throws(() => readWav(stereo), (e) => isOneLineUserError(e, [literal(stereo), /has 2 channels; only mono is read/]));
  const missing = path.join(dir, 'missing.wav');
  assert.throws(() => readWav(missing), (e) => isOneLineUserError(e, [literal(missing), /file not found/]));
});

test('resampling keeps a tone in band and removes one above the new Nyquist frequency', () => {
  // 440 Hz from 22050 Hz to 16000 Hz matches the analytic sine away from the edges.
  const out = resample(sine(22050, 22050, 440), 22050, 16000);
  assert.equal(out.length, 16000);
  const expected = sine(16000, 16000, 440);
  let maxError = 0;
  for (let i = 200; i < 15800; i++) maxError = Math.max(maxError, Math.abs(out[i]! - expected[i]!));
  assert.ok(maxError < 5e-3, `in-band error ${maxError}`);
  // 10 kHz cannot exist at 16 kHz: it must not come back as a 6 kHz alias.
  const alias = resample(sine(32000, 32000, 10000), 32000, 16000);
  let rms = 0;
  for (let i = 200; i < alias.length - 200; i++) rms += alias[i]! * alias[i]!;
  rms = Math.sqrt(rms / (alias.length - 400));
  assert.ok(rms < 0.01, `aliased tone rms ${rms} (input rms 0.35)`);
  // Upsampling 8000 → 16000 interpolates the band-limited signal.
  const up = resample(sine(8000, 8000, 300), 8000, 16000);
  const upExpected = sine(16000, 16000, 300);
  let upError = 0;
  for (let i = 400; i < 15600; i++) upError = Math.max(upError, Math.abs(up[i]! - upExpected[i]!));
  assert.ok(upError < 5e-3, `upsampling error ${upError}`);
});
