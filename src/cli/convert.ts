/** `vqvae convert`: one WAV through an audio model, decoded with another speaker's voice. */
import type { BackendChoice } from '../backend/select.js';
import { loadAudioModel, speakerIndex } from '../audio/checkpoint.js';
import { decodeCodes, encodeSamples } from '../audio/convert.js';
import { resample } from '../audio/resample.js';
import { UserError } from '../errors.js';
import { readWav, writeWav } from '../io/wav.js';
import { mulberry32 } from '../random.js';
import { defineCommand } from './command.js';
import { backendFlag, info, useBackend } from './common.js';
import { jsonFlag } from './flags.js';

export const convertCommand = defineCommand({
  name: 'convert',
  summary: 'convert the voice of a WAV file to one of an audio model\'s speakers',
  description:
    'Encodes a mono WAV file (any rate; resampled to the model\'s) into codes with a model trained by ' +
    '`vqvae train --data wav:DIR`, then decodes the codes with the WaveNet conditioned on --speaker, sample by ' +
    'sample, and writes the result as a 16-bit WAV. With the speaker the audio came from, this is a reconstruction.',
  usage: '--model DIR --in FILE.wav --speaker NAME --out FILE.wav [flags]',
  flags: [
    { name: 'model', type: 'string', required: true, metavar: 'DIR', help: 'audio model directory' },
    { name: 'in', type: 'string', required: true, metavar: 'FILE.wav', help: 'speech to convert (mono WAV)' },
    { name: 'speaker', type: 'string', required: true, metavar: 'NAME', help: 'the voice to decode with: one of the model\'s speakers' },
    { name: 'out', type: 'string', required: true, metavar: 'FILE.wav', help: 'where to write the converted speech' },
    { name: 'seconds', type: 'number', min: 0, exclusiveMin: true, metavar: 'S', help: 'convert only the first S seconds' },
    { name: 'seed', type: 'int', min: 0, default: 0, help: 'seed of the sampling' },
    backendFlag,
    jsonFlag,
  ],
  examples: ['vqvae convert --model runs/speech --in kal_s0001.wav --speaker slt --out slt.wav'],
  async run(flags, ctx) {
    if (flags.out === flags.in) throw new UserError('--out must differ from --in');
    const wav = readWav(flags.in);
    await useBackend(flags.backend as BackendChoice, ctx);
    const loaded = loadAudioModel(flags.model);
    const speaker = speakerIndex(loaded, flags.speaker);
    const rate = loaded.model.sampleRate;
    let samples = wav.samples;
    if (wav.sampleRate !== rate) {
      info(ctx, `${flags.in}: resampled from ${wav.sampleRate} Hz to ${rate} Hz`);
      samples = resample(samples, wav.sampleRate, rate);
    }
    if (flags.seconds !== undefined) samples = samples.subarray(0, Math.max(1, Math.round(flags.seconds * rate)));
    const model = loaded.vqvae;
    const codes = encodeSamples(model, samples);
    const progress = ctx.progress({ total: codes.length * model.hop, label: 'sample' });
    const started = performance.now();
    const out = decodeCodes(model, codes, speaker, { random: mulberry32(flags.seed), onProgress: (done) => progress.update(done) });
    progress.stop();
    const seconds = (performance.now() - started) / 1000;
    writeWav(flags.out, out.subarray(0, samples.length), rate);
    info(ctx, `wrote ${flags.out}: ${(samples.length / rate).toFixed(2)} s as ${flags.speaker} (${codes.length} codes, generated in ${seconds.toFixed(1)} s, real-time factor ${(seconds / (out.length / rate)).toFixed(2)})`);
    if (flags.json) ctx.printJson({ out: flags.out, speaker: flags.speaker, codes: codes.length, seconds: samples.length / rate, realTimeFactor: seconds / (out.length / rate) });
    model.dispose();
  },
});
