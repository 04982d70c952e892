/// <reference lib="dom" />
/**
 * The page with an audio model (seeded random weights, as `vqvae train
 * --data wav:DIR` saves one, then `vqvae export`): a WAV file picked at
 * another sample rate is resampled, encoded to the codes the library computes
 * here in Node, and decoded in the browser with each speaker's voice; each
 * output is a playable 16-bit WAV of the input's length at the model's rate,
 * sample for sample the library's generation with the same random numbers.
 * A recording from Chromium's fake microphone goes the same way. A bad WAV
 * is one line on the page. Screenshot in test-output/web/.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { saveAudioModel } from '../../src/audio/checkpoint.js';
import { decodeCodes, encodeSamples } from '../../src/audio/convert.js';
import { AudioVqVae } from '../../src/audio/model.js';
import { resample } from '../../src/audio/resample.js';
import { selectBackend } from '../../src/backend/select.js';
import { decodeWav, encodeWav } from '../../src/io/wav.js';
import { mulberry32 } from '../../src/random.js';
import { startPageServer, type PageServer } from '../../src/serve/pageServer.js';
import { assertOk, vqvae } from '../e2e/helpers.js';
import { launchChromium, screenshotDir, tempDir } from './helpers.js';

const root = tempDir();
const shots = screenshotDir();
const SPEAKERS = ['ann', 'bob', 'cy'];
/** A tiny model at 8 kHz: one code per 8 samples. */
const CONFIG = {
  sampleRate: 8000, downsamples: 3, encoderChannels: 8, codebookSize: 16, codeDim: 4,
  speakers: SPEAKERS.length, speakerDim: 4, residualChannels: 8, skipChannels: 8, dilations: [1, 2, 4, 8, 16],
};
let model: AudioVqVae;
const dataDir = path.join(root, 'speech-data');
const tone = (n: number, hz: number, rate: number): Float32Array =>
  Float32Array.from({ length: n }, (_, i) => 0.4 * Math.sin((2 * Math.PI * hz * i) / rate) + 0.2 * Math.sin((2 * Math.PI * 3 * hz * i) / rate));
let server: PageServer;
let browser: Browser;
let page: Page;
const errors: string[] = [];

before(async () => {
  await selectBackend('cpu');
  // Its data: one test utterance for ann and one for bob (train/ holds one too), 0.1 s at 8 kHz.
  for (const [split, speaker, id, hz] of [['train', 'ann', 0, 300], ['test', 'ann', 1, 200], ['test', 'bob', 2, 500]] as const) {
    fs.mkdirSync(path.join(dataDir, split, speaker), { recursive: true });
    fs.writeFileSync(path.join(dataDir, split, speaker, `${speaker}_${id}.wav`), encodeWav(tone(800, hz, 8000), 8000));
  }
  const trained = path.join(root, 'speech');
  model = new AudioVqVae(CONFIG, 4);
  saveAudioModel(trained, model, SPEAKERS, { data: `wav:${dataDir}`, step: 0 });
  const out = path.join(root, 'speech-web');
  assertOk(await vqvae('export', '--model', trained, '--out', out));
  server = await startPageServer({ model: out, port: 0 });
  // A fake microphone (a beep) that needs no permission prompt.
  browser = await launchChromium(['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream']);
  page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  page.on('pageerror', (e) => errors.push(e.message));
});

after(async () => {
  await browser?.close();
  await server?.close();
  model?.dispose();
});

describe('the page with an audio model', () => {
  it('shows the audio panel instead of the image panels, naming the speakers', async () => {
    await page.goto(server.url);
    await page.waitForFunction(() => document.body.dataset.status === 'ready', null, { timeout: 60_000 });
    assert.equal(await page.locator('#audio-panel').isVisible(), true);
    for (const id of ['#draw-panel', '#recon-panel', '#codebook-panel', '#sample-panel']) assert.equal(await page.locator(id).isVisible(), false, id);
    assert.match(await page.locator('#status').innerText(), /^Audio model: speech at 8000 Hz → one code per 8 samples from a codebook of 16 .*3 speakers \(ann, bob, cy\)/);
    assert.deepEqual(await page.locator('#audio-source option').allInnerTexts(), SPEAKERS);
  });

  it('a 0.1 s WAV at 16 kHz is resampled, encoded as the library does, and decoded with each speaker\'s voice', async () => {
    // 0.1 s of a vowel-like tone at 16 kHz: 800 samples at the model's 8 kHz, 100 codes.
    const input = tone(1600, 220, 16000);
    const file = path.join(root, 'hello.wav');
    fs.writeFileSync(file, encodeWav(input, 16000));
    await page.setInputFiles('#audio-file', file);
    await page.waitForFunction(() => document.body.dataset.audioStatus === 'done', null, { timeout: 60_000 });

    const samples = resample(decodeWav(fs.readFileSync(file), 'hello.wav').samples, 16000, 8000);
    assert.equal(samples.length, 800);
    const codes = encodeSamples(model, samples);
    assert.equal(codes.length, 100);
    assert.equal(await page.evaluate(() => document.body.dataset.audioCodes), Array.from(codes).join(','));
    assert.match(await page.locator('#audio-input-info').innerText(), /hello\.wav: 0\.10 s at 16000 Hz, resampled to 8000 Hz\./);

    const wavs = await page.evaluate(async () => {
      const out: { speaker: string; label: string; bytes: number[] }[] = [];
      for (const item of Array.from(document.querySelectorAll('#audio-outputs li'))) {
        const player = item.querySelector('audio')!;
        const bytes = new Uint8Array(await (await fetch(player.src)).arrayBuffer());
        out.push({ speaker: (item as HTMLElement).dataset.speaker!, label: item.querySelector('.speaker-label')!.textContent!, bytes: Array.from(bytes) });
      }
      return out;
    });
    assert.deepEqual(wavs.map((w) => w.speaker), ['0', '1', '2']);
    assert.deepEqual(wavs.map((w) => w.label), ['Reconstruction (ann, the input\'s voice)', 'Converted to bob', 'Converted to cy']);
    const decoded = wavs.map((w) => decodeWav(Uint8Array.from(w.bytes), `speaker ${w.speaker}`));
    for (const [s, wav] of decoded.entries()) {
      assert.equal(wav.sampleRate, 8000);
      assert.equal(wav.format, 'pcm16');
      assert.equal(wav.samples.length, 800, 'as long as the input at the model\'s rate');
      // The library in Node, with the same codes and speaker s's random numbers (mulberry32(s)).
      const expected = decodeCodes(model, codes, s, { random: mulberry32(s), kernel: 'js' });
      const roundTrip = decodeWav(encodeWav(expected, 8000), 'expected').samples;
      assert.deepEqual(Array.from(wav.samples), Array.from(roundTrip), `speaker ${SPEAKERS[s]}: the library's generation`);
    }
    assert.notDeepEqual(Array.from(decoded[0]!.samples), Array.from(decoded[1]!.samples), 'another voice, other samples');

    await page.selectOption('#audio-source', '1');
    assert.deepEqual(await page.locator('.speaker-label').allInnerTexts(), ['Converted to ann', 'Reconstruction (bob, the input\'s voice)', 'Converted to cy']);
    await page.locator('#audio-panel').screenshot({ path: path.join(shots, 'audio.png') });
  });

  it('a recording from the microphone is encoded and decoded with each speaker\'s voice', async () => {
    await page.click('#record');
    await page.waitForFunction(() => document.getElementById('record')!.textContent === 'Stop recording');
    await page.waitForTimeout(500);
    await page.click('#record');
    await page.waitForFunction(
      () => document.body.dataset.audioStatus === 'done' && document.getElementById('audio-input-info')!.textContent!.startsWith('the recording:'),
      null,
      { timeout: 60_000 },
    );
    const info = await page.locator('#audio-input-info').innerText();
    const match = /^the recording: (\d+\.\d+) s at (\d+) Hz, resampled to 8000 Hz\.$/.exec(info);
    assert.ok(match, info);
    assert.ok(Number(match[1]) >= 0.3, `about half a second recorded: ${info}`);
    const codes = (await page.evaluate(() => document.body.dataset.audioCodes))!.split(',').map(Number);
    const lengths = await page.evaluate(async () => {
      const out: number[] = [];
      for (const player of Array.from(document.querySelectorAll('#audio-outputs audio'))) {
        out.push((await (await fetch((player as HTMLAudioElement).src)).arrayBuffer()).byteLength);
      }
      return out;
    });
    assert.deepEqual(lengths, [0, 1, 2].map(() => 44 + 2 * codes.length * 8), 'a 16-bit WAV per speaker, one code per 8 samples');
  });

  it('the test utterances exported with the model are offered, and one decodes with its speaker as the input\'s voice', async () => {
    assert.deepEqual(await page.locator('#audio-examples button').allInnerTexts(), ['example 1 (ann), 0.1 s', 'example 2 (bob), 0.1 s']);
    await page.click('#audio-examples button[data-example="1"]');
    await page.waitForFunction(
      () => document.body.dataset.audioStatus === 'done' && document.getElementById('audio-input-info')!.textContent!.startsWith('example 2 (bob): 0.10 s at 8000 Hz.'),
      null,
      { timeout: 60_000 },
    );
    const samples = decodeWav(fs.readFileSync(path.join(dataDir, 'test', 'bob', 'bob_2.wav')), 'bob_2.wav').samples;
    assert.equal(await page.evaluate(() => document.body.dataset.audioCodes), Array.from(encodeSamples(model, samples)).join(','));
    assert.deepEqual(await page.locator('.speaker-label').allInnerTexts(), ['Converted to ann', 'Reconstruction (bob, the input\'s voice)', 'Converted to cy']);
  });

  it('a file that is not a WAV is one line on the page, and the outputs stay', async () => {
    const bad = path.join(root, 'notes.wav');
    fs.writeFileSync(bad, 'these are not samples');
    await page.setInputFiles('#audio-file', bad);
    const message = page.locator('#message');
    await message.waitFor({ state: 'visible' });
    assert.equal(await message.innerText(), 'notes.wav: not a WAV file (no RIFF/WAVE header)');
    assert.equal(await page.locator('#audio-outputs li').count(), 3);
    assert.deepEqual(errors, [], 'no uncaught errors in the page');
  });
});
