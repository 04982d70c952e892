/**
 * The audio model's generation speed: the real-time factor (seconds spent
 * per second of audio generated) of the default model (src/audio/config.ts)
 * with the native step and with the JavaScript step, one stream.
 *
 *   npx tsc -p . && node dist/bench/audio.js [--seconds 2]
 *
 * Target (issue 11): real-time factor <= 1 on the native backend, 2 cores.
 */
import { selectBackend } from '../src/backend/select.js';
import { AudioVqVae } from '../src/audio/model.js';
import { DEFAULT_AUDIO_CONFIG, hopLength } from '../src/audio/config.js';
import { generateLevels } from '../src/audio/generate.js';
import { mulberry32 } from '../src/random.js';

const arg = process.argv.indexOf('--seconds');
const seconds = arg > 0 ? Number(process.argv[arg + 1]) : 2;
const backend = await selectBackend('auto');
const model = new AudioVqVae({ ...DEFAULT_AUDIO_CONFIG, speakers: 4 }, 1);
const frames = Math.ceil((seconds * model.config.sampleRate) / hopLength(model.config));
const rng = mulberry32(2);
const indices = Int32Array.from({ length: frames }, () => Math.floor(rng() * model.config.codebookSize));
const audioSeconds = (frames * hopLength(model.config)) / model.config.sampleRate;
const results: Record<string, number> = {};
for (const kernel of ['native', 'js'] as const) {
  if (kernel === 'native' && backend.name !== 'native') continue;
  const started = performance.now();
  generateLevels(model, indices, 1, { random: mulberry32(3), kernel });
  const spent = (performance.now() - started) / 1000;
  results[kernel] = spent / audioSeconds;
  console.log(`${kernel} step: ${audioSeconds.toFixed(2)} s of audio in ${spent.toFixed(2)} s, real-time factor ${(spent / audioSeconds).toFixed(3)}`);
}
console.log(JSON.stringify({ backend: backend.reason, config: { residualChannels: model.config.residualChannels, skipChannels: model.config.skipChannels, layers: model.config.dilations.length }, realTimeFactor: results }));
