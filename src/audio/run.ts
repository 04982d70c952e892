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
import { audioStepper, type AudioComputedStep } from './train.js';

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
    async open({ out, saved, settings, output }) {
      if (saved) checkFlagsMatch(options.model, saved.model, AUDIO_MODEL_FLAGS, `model in ${out}`);
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
      const c = model.config;
      const seconds = data.utterances.reduce((s, u) => s + u.samples.length, 0) / data.sampleRate;
      const session: RunSession<AudioTrainingState, AudioComputedStep> = {
        ...audioStepper(model, data, { batch: settings.batch, window, seed: settings.seed }),
        describe: ({ batch, learningRate }) =>
          `data: ${data.spec}, ${data.utterances.length} utterances (${(seconds / 60).toFixed(1)} min) of ${data.speakers.length} speakers at ${data.sampleRate} Hz; ` +
          `model: ${c.downsamples} stride-2 convs (codes every ${hop} samples), K ${c.codebookSize}, D ${c.codeDim}, ${c.quantizer === 'ema' ? 'EMA' : 'VQ'} codebook, ` +
          `WaveNet ${c.dilations.length} layers (dilations up to ${Math.max(...c.dilations)}), ${c.residualChannels} residual / ${c.skipChannels} skip channels; ` +
          `batch ${batch} x ${window} samples, lr ${learningRate}`,
        state: (s) => ({ ...s, data: options.data, window }),
        save: (dir, state, optimizer) => saveAudioModel(dir, model, data.speakers, state, optimizer),
        progressFields: ({ loss, metrics: m }) => ({ loss, bits: m['bitsPerSample']!, ppl: m['perplexity']! }),
        evaluate(step) {
          if (!test) return undefined;
          return `step ${step}: test ${bitsPerSample(model, test.utterances).toFixed(3)} bits per sample`;
        },
        finish(result) {
          if (!test || result.stopReason === 'interrupted') return;
          const e = evaluateAudio(model, test.utterances, data.utterances);
          output.info(`test (${e.utterances} utterances): ${evaluationLine(e)}`);
          return { bits_per_sample: e.bitsPerSample, codes_used: e.codesUsed, ...(e.phonemes ? { phoneme_accuracy: e.phonemes.accuracy, phoneme_chance: e.phonemes.majority } : {}) };
        },
        dispose: () => model.dispose(),
      };
      return { session };
    },
  };
}
