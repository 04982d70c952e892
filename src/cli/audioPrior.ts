/**
 * The audio side of `vqvae prior train` and `vqvae sample`: prior.ts hands
 * over when --codes holds an audio model's code sequences [N, frames], and
 * sample.ts when --model is an audio model. The prior is the 1-D gated stack
 * of src/audio/codePrior.ts (trained by src/audio/codePriorRun.ts); sampling
 * draws code sequences from it and decodes them with the WaveNet in a
 * speaker's voice, to a WAV file.
 */
import type { BackendChoice } from '../backend/select.js';
import { join } from 'node:path';
import { isAudioModelDir, loadAudioModel, parseAudioModelFile, speakerIndex } from '../audio/checkpoint.js';
import { sampleCodes } from '../audio/codePrior.js';
import { codePriorRun, isCodePriorDir, isSequenceFile, loadCodePrior } from '../audio/codePriorRun.js';
import { decodeCodes } from '../audio/convert.js';
import { UserError } from '../errors.js';
import { checkpointExists, CONFIG_FILE, loadCheckpoint } from '../io/checkpoint.js';
import { writeNpyFile } from '../io/npyFile.js';
import { writeWav } from '../io/wav.js';
import { mulberry32 } from '../random.js';
import { runTraining } from '../train/run.js';
import type { CommandContext } from './command.js';
import { info, runOptions, useBackend, type RunFlagValues } from './common.js';
import { UsageError } from './flags.js';

/** Seconds of speech `vqvae sample` draws for an audio model without --seconds. */
export const DEFAULT_SAMPLE_SECONDS = 3;
/** Silence between the samples of one WAV, seconds. */
export const SAMPLE_GAP_SECONDS = 0.25;

export interface AudioPriorFlags extends RunFlagValues {
  codes: string;
  labels?: string;
  out: string;
  testCodes?: string;
  testLabels?: string;
  model?: string;
  channels?: number;
  layers?: number;
  kernelSize?: number;
  codebookSize?: number;
  classes?: number;
  limit?: number;
  distributed?: unknown;
}

/**
 * Whether `vqvae prior train` trains the 1-D prior: --model is an audio
 * model. Codes [N, frames] without one are refused with a line that says so
 * (image code grids are [N, h, w]).
 */
export function isAudioPriorRun(codes: string, model: string | undefined): boolean {
  if (model !== undefined && isAudioModelDir(model)) return true;
  if (isSequenceFile(codes)) {
    throw new UserError(`${codes}: codes [N, frames] are an audio model's: give --model with that audio model for a prior over them (image code grids must be [N, h, w])`);
  }
  return false;
}

/** `vqvae prior train` on [N, frames] codes of the audio model --model. */
export async function runAudioPriorTrain(flags: AudioPriorFlags, defaults: { steps: number; batch: number; lr: number; seed: number }, ctx: CommandContext): Promise<number> {
  if (flags.kernelSize !== undefined) throw new UsageError(`--kernel-size applies to image code grids; ${flags.codes} holds audio code sequences (see --layers)`);
  if (flags.distributed) throw new UsageError(`--distributed is not supported for a prior over audio codes yet (${flags.codes})`);
  // The config only: the backend is not ready before runTraining.
  const { model } = parseAudioModelFile(loadCheckpoint(flags.model!).config, join(flags.model!, CONFIG_FILE));
  const modelCodebookSize = model.codebookSize;
  const modelSpeakers = model.speakers;
  const { codes, labels, testCodes, testLabels, limit, channels, layers, codebookSize, classes } = flags;
  const plugin = codePriorRun({ codes, labels, testCodes, testLabels, modelCodebookSize, modelSpeakers: labels !== undefined ? modelSpeakers : undefined, limit, channels, layers, codebookSize, classes });
  return runTraining(plugin, runOptions(flags, flags.out, defaults, ctx));
}

export interface AudioSampleFlags {
  model: string;
  prior: string;
  out: string;
  n?: number;
  speaker?: string;
  seconds?: number;
  temperature: number;
  seed: number;
  codesOut?: string;
  class?: string;
  backend: string;
  json: boolean;
}

/** `vqvae sample` with an audio model: code sequences from the prior, decoded in --speaker's voice, one WAV. */
export async function runAudioSample(flags: AudioSampleFlags, ctx: CommandContext): Promise<void> {
  if (flags.class !== undefined) throw new UsageError('--class applies to image priors; for an audio model give --speaker');
  if (!checkpointExists(flags.prior) || !isCodePriorDir(flags.prior)) {
    throw new UserError(`--prior ${flags.prior}: not a prior over audio codes (train one with \`vqvae prior train --codes CODES.npy\` on \`vqvae encode\`'s codes of the audio model)`);
  }
  const backend = await useBackend(flags.backend as BackendChoice, ctx);
  const loaded = loadAudioModel(flags.model);
  const { prior, config } = loadCodePrior(flags.prior);
  try {
    if (flags.speaker === undefined) throw new UsageError(`--speaker is needed to decode speech: one of ${loaded.speakers.join(', ')}`);
    const speaker = speakerIndex(loaded, flags.speaker);
    if (config.codebookSize > loaded.model.codebookSize) {
      throw new UserError(`the prior in ${flags.prior} draws ${config.codebookSize} code values but the model in ${flags.model} has only ${loaded.model.codebookSize} codes`);
    }
    if (config.speakers > 0 && config.speakers !== loaded.model.speakers) {
      throw new UserError(`the prior in ${flags.prior} is conditioned on ${config.speakers} speakers but the model in ${flags.model} has ${loaded.model.speakers}`);
    }
    const model = loaded.vqvae;
    const rate = loaded.model.sampleRate;
    const n = flags.n ?? 1;
    const seconds = flags.seconds ?? DEFAULT_SAMPLE_SECONDS;
    const length = Math.max(1, Math.round((seconds * rate) / model.hop));
    const started = performance.now();
    const codeProgress = ctx.progress({ total: length, label: 'code' });
    const codes = sampleCodes(prior, {
      n, length, temperature: flags.temperature, seed: flags.seed,
      ...(config.speakers > 0 ? { speaker } : {}),
      onStep: (done) => codeProgress.update(done),
    });
    codeProgress.stop();
    const codeSeconds = (performance.now() - started) / 1000;
    const gap = Math.round(SAMPLE_GAP_SECONDS * rate);
    const perSample = length * model.hop;
    const audio = new Float32Array(n * perSample + (n - 1) * gap);
    const progress = ctx.progress({ total: n * perSample, label: 'sample' });
    const random = mulberry32(flags.seed);
    for (let i = 0; i < n; i++) {
      const wave = decodeCodes(model, codes.subarray(i * length, (i + 1) * length), speaker, { random, onProgress: (done) => progress.update(i * perSample + done) });
      audio.set(wave, i * (perSample + gap));
    }
    progress.stop();
    const total = (performance.now() - started) / 1000;
    writeWav(flags.out, audio, rate);
    if (flags.codesOut) writeNpyFile(flags.codesOut, codes, [n, length]);
    info(ctx, `wrote ${flags.out}: ${n} sample${n === 1 ? '' : 's'} of ${((length * model.hop) / rate).toFixed(2)} s (${length} codes each) in ${flags.speaker}'s voice, ` +
      `in ${total.toFixed(1)} s (${codeSeconds.toFixed(1)} s drawing codes)${flags.codesOut ? `; codes in ${flags.codesOut}` : ''}`);
    ctx.printJson({ samples: n, codes: length, seconds: total, sample_seconds: codeSeconds, backend });
  } finally {
    prior.dispose();
    loaded.vqvae.dispose();
  }
}
