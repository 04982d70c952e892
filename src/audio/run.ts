/**
 * The audio VQ-VAE's plug-in for the run engine (src/train/run.ts), as
 * `vqvae train --data wav:DIR` uses it: loads the speech (train split, and
 * the test split for evaluation), creates the model with one embedding row
 * per speaker (or restores it; the speakers must be the saved ones), trains
 * it on random windows (train.ts), evaluates bits per sample on test
 * utterances, and saves the audio model directory (checkpoint.ts).
 */
import { UserError } from '../errors.js';
import type { AudioDataset } from '../data/wav.js';
import type { RunPlugin, RunSession, RunState, SavedRun } from '../train/run.js';
import { checkFlagsMatch } from '../train/run.js';
import { loadAudioModel, saveAudioModel, type LoadedAudioModel } from './checkpoint.js';
import type { AudioConfig } from './config.js';
import { bitsPerSample, evaluateAudio, evaluationLine } from './evaluate.js';
import { AudioVqVae } from './model.js';
import * as tf from '@tensorflow/tfjs-core';
import { audioStepper, sampleBatch, type AudioComputedStep } from './train.js';
import { decodeCodes, encodeSamples } from './convert.js';
import { mulberry32 } from '../random.js';
import { AUDIO_REPORT_FILE, AudioReport, type AudioClip } from '../report/audioReport.js';
import { join } from 'node:path';

/** Seconds of the test utterance the report plays, and how many other voices it converts to. */
const REPORT_SECONDS = 1.5;
const REPORT_VOICES = 3;

export interface AudioTrainingState extends RunState {
  data: string;
  /** Samples per training window. */
  window: number;
}

export type SavedAudioRun = LoadedAudioModel & SavedRun<AudioTrainingState>;

/** Config fields set by flags of `vqvae train` for audio, with the flags' names. */
export const AUDIO_MODEL_FLAGS = {
  codebookSize: 'codebook-size',
  codeDim: 'code-dim',
  residualChannels: 'residual-channels',
  skipChannels: 'skip-channels',
  encoderChannels: 'encoder-channels',
  beta: 'beta',
  decay: 'decay',
  restartDead: 'restart-dead',
} as const satisfies Partial<Record<keyof AudioConfig, string>>;

export interface AudioRunOptions {
  data: string;
  loadData(split: 'train' | 'test', limit: number | undefined): AudioDataset;
  limit?: number;
  /** Test utterances per evaluation. */
  evalLimit: number;
  window: number;
  model: Partial<AudioConfig>;
}

export function audioRun(options: AudioRunOptions): RunPlugin<AudioTrainingState, SavedAudioRun, AudioComputedStep> {
  return {
    noun: 'audio model',
    unit: 'windows',
    rateLabel: 'win/s',
    source: options.data,
    sourceOf: (state) => state.data,
    load: (dir) => loadAudioModel(dir) as SavedAudioRun,
    formatLoss: (loss) => loss.toFixed(4),
    async open({ out, saved, settings, backend, output }) {
      if (saved) {
        checkFlagsMatch(options.model, saved.model, AUDIO_MODEL_FLAGS, `model in ${out}`);
        // --hop is 2^downsamples.
        const given = options.model.downsamples;
        if (given !== undefined && given !== saved.model.downsamples) {
          throw new UserError(`--hop ${2 ** given} does not match the model in ${out} (hop ${2 ** saved.model.downsamples}); leave it out to resume`);
        }
      }
      const data = options.loadData('train', options.limit);
      for (const note of data.notes) output.info(note);
      let test: AudioDataset | undefined;
      try {
        test = options.loadData('test', options.evalLimit);
      } catch (error) {
        if (!(error instanceof UserError)) throw error;
        output.warn(`no test split to evaluate on (${error.message})`);
      }
      if (saved && saved.speakers.join('\n') !== data.speakers.join('\n')) {
        throw new UserError(`${options.data} has speakers ${data.speakers.join(', ')}, but the model in ${out} was trained on ${saved.speakers.join(', ')}`);
      }
      const model = saved?.vqvae ?? new AudioVqVae({ ...options.model, speakers: data.speakers.length }, settings.seed);
      const hop = model.hop;
      const window = saved?.training?.window ?? options.window;
      if (window % hop !== 0) throw new UserError(`--window ${window} must be a multiple of the hop, ${hop} samples`);
      if (!saved) {
        // Codes start on encoder outputs of 4 batches of training audio (model.ts says why).
        const start = sampleBatch(data, 4 * settings.batch, window, model.config.levels, mulberry32(settings.seed + 7));
        const x = tf.tensor2d(start.samples, [start.batch, window]);
        model.initCodebookFromData(x, mulberry32(settings.seed + 11));
        x.dispose();
      }
      const c = model.config;
      const seconds = data.utterances.reduce((s, u) => s + u.samples.length, 0) / data.sampleRate;
      const report = new AudioReport(`vqvae train: ${out}`, {
        data: `${data.spec} (${data.utterances.length} utterances, ${(seconds / 60).toFixed(1)} min, speakers ${data.speakers.join(', ')})`,
        model: `K ${c.codebookSize}, D ${c.codeDim}, codes every ${hop} samples, WaveNet ${c.dilations.length} layers, ${c.residualChannels}/${c.skipChannels} channels`,
        training: `batch ${settings.batch} x ${window} samples, lr ${settings.learningRate}, seed ${settings.seed}, backend ${backend}`,
      });
      const session: RunSession<AudioTrainingState, AudioComputedStep> = {
        ...audioStepper(model, data, { batch: settings.batch, window, seed: settings.seed }),
        describe: ({ batch, learningRate }) =>
          `data: ${data.spec}, ${data.utterances.length} utterances (${(seconds / 60).toFixed(1)} min) of ${data.speakers.length} speakers at ${data.sampleRate} Hz; ` +
          `model: ${c.downsamples} stride-2 convs (codes every ${hop} samples), K ${c.codebookSize}, D ${c.codeDim}, ${c.quantizer === 'ema' ? 'EMA' : 'VQ'} codebook, ` +
          `WaveNet ${c.dilations.length} layers (dilations up to ${Math.max(...c.dilations)}), ${c.residualChannels} residual / ${c.skipChannels} skip channels; ` +
          `batch ${batch} x ${window} samples, lr ${learningRate}`,
        state: (s) => ({ ...s, data: options.data, window }),
        save(dir, state, optimizer) {
          saveAudioModel(dir, model, data.speakers, state, optimizer);
          report.write(dir);
        },
        afterStep: (step, { metrics }) => report.addStep(step, metrics['bitsPerSample']!),
        progressFields: ({ loss, metrics: m }) => ({ loss, bits: m['bitsPerSample']!, ppl: m['perplexity']! }),
        evaluate(step) {
          if (!test) return undefined;
          const line = `step ${step}: test ${bitsPerSample(model, test.utterances).toFixed(3)} bits per sample`;
          report.addLine(line);
          return line;
        },
        finish(result) {
          if (!test || result.stopReason === 'interrupted') return;
          const e = evaluateAudio(model, test.utterances, data.utterances);
          output.info(`test (${e.utterances} utterances): ${evaluationLine(e)}`);
          report.addLine(`step ${result.steps}: test ${evaluationLine(e)}`);
          report.setClips(reportClips(model, test, data.speakers));
          report.write(out);
          output.info(`report: ${join(out, AUDIO_REPORT_FILE)} (open it in a browser)`);
          return { bits_per_sample: e.bitsPerSample, codes_used: e.codesUsed, ...(e.phonemes ? { phoneme_accuracy: e.phonemes.accuracy, phoneme_chance: e.phonemes.majority } : {}) };
        },
        dispose: () => model.dispose(),
      };
      return { session };
    },
  };
}

/** The first test utterance (its first seconds), its reconstruction, and the same codes in other voices. */
function reportClips(model: AudioVqVae, test: AudioDataset, speakers: readonly string[]): AudioClip[] {
  const u = test.utterances[0];
  if (u === undefined) return [];
  const rate = test.sampleRate;
  const samples = u.samples.subarray(0, Math.round(REPORT_SECONDS * rate));
  const codes = encodeSamples(model, samples);
  const voices = [u.speaker, ...speakers.map((_, i) => i).filter((i) => i !== u.speaker).slice(0, REPORT_VOICES)];
  return [
    { label: `original: ${speakers[u.speaker]}, ${u.file}`, samples, sampleRate: rate },
    ...voices.map((v) => ({
      label: v === u.speaker ? `reconstruction (${speakers[v]})` : `converted to ${speakers[v]}`,
      samples: decodeCodes(model, codes, v, { random: mulberry32(v) }).subarray(0, samples.length),
      sampleRate: rate,
    })),
  ];
}
