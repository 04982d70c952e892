/**
 * What `vqvae eval`, `encode` and `decode` do with an audio model directory
 * (format vqvae-audio, src/audio/checkpoint.ts): those commands look at the
 * model first and hand it here.
 *
 * - eval: bits per sample of the split, code usage, phoneme accuracy where
 *   the data have phone timings (codes mapped on the train split), and with
 *   --conversions N a measured voice conversion: N test utterances decoded
 *   with another speaker, scored by an MFCC speaker classifier trained on
 *   the train split (src/audio/speakerClassifier.ts);
 * - encode: codes of every utterance as int32 [N, F], F the longest
 *   utterance's frames (T / 64), shorter rows padded with -1; --labels-out
 *   writes the speakers [N];
 * - decode: one row of such codes (--item) to a WAV in --speaker's voice.
 */
import type { BackendChoice } from '../backend/select.js';
import { loadAudioModel, speakerIndex, type LoadedAudioModel } from '../audio/checkpoint.js';
import { decodeCodes, encodeSamples } from '../audio/convert.js';
import { bitsPerSample, evaluateAudio, evaluationLine, spread } from '../audio/evaluate.js';
import { codeHistogram, SpeakerClassifier, utteranceFeatures } from '../audio/speakerClassifier.js';
import { parseDataSpec } from '../data/spec.js';
import { loadWavFolder, type AudioDataset } from '../data/wav.js';
import { UserError } from '../errors.js';
import { readNpyFile, writeNpyFile } from '../io/npyFile.js';
import { writeWav } from '../io/wav.js';
import { mulberry32 } from '../random.js';
import type { CommandContext } from './command.js';
import { info, useBackend } from './common.js';

interface DataFlags {
  data: string | undefined;
  split: 'train' | 'test';
  limit: number | undefined;
  backend: string;
}

function openData(loaded: LoadedAudioModel, flags: { data: string | undefined }, split: 'train' | 'test', limit: number | undefined, ctx: CommandContext): AudioDataset {
  const spec = flags.data ?? (loaded.training?.['data'] as string | undefined);
  if (spec === undefined) throw new UserError('--data is needed: the model does not record what it was trained on');
  const parsed = parseDataSpec(spec);
  if (parsed.kind !== 'wav') throw new UserError(`--data ${spec}: an audio model reads wav:DIR data`);
  const data = loadWavFolder(spec, parsed.dir, { split, limit, sampleRate: loaded.model.sampleRate });
  for (const note of data.notes) info(ctx, note);
  const unknown = data.speakers.filter((s) => !loaded.speakers.includes(s));
  if (unknown.length > 0) throw new UserError(`${spec}: speakers ${unknown.join(', ')} are not the model's (${loaded.speakers.join(', ')})`);
  return data;
}

/** Speaker indices of the data set → the model's. */
function remap(data: AudioDataset, loaded: LoadedAudioModel): AudioDataset {
  return { ...data, utterances: data.utterances.map((u) => ({ ...u, speaker: loaded.speakers.indexOf(data.speakers[u.speaker]!) })) };
}

export async function audioEval(dir: string, flags: DataFlags & { conversions: number; json: boolean }, ctx: CommandContext): Promise<void> {
  await useBackend(flags.backend as BackendChoice, ctx);
  const loaded = loadAudioModel(dir);
  const model = loaded.vqvae;
  try {
    const test = remap(openData(loaded, flags, flags.split, flags.limit, ctx), loaded);
    const hasPhones = test.utterances.some((u) => u.phones);
    const train = hasPhones || flags.conversions > 0 ? remap(openData(loaded, flags, 'train', undefined, ctx), loaded) : undefined;
    const e = evaluateAudio(model, test.utterances, hasPhones ? train!.utterances : undefined);
    info(ctx, `${test.spec} ${flags.split} (${e.utterances} utterances, ${e.frames} codes): ${evaluationLine(e)}`);
    const summary: Record<string, unknown> = {
      utterances: e.utterances, bits_per_sample: e.bitsPerSample, codes_used: e.codesUsed, code_perplexity: e.codePerplexity,
      ...(e.phonemes ? { phoneme_accuracy: e.phonemes.accuracy, phoneme_chance_majority: e.phonemes.majority, phoneme_chance_uniform: e.phonemes.uniform, phones: e.phonemes.phones } : {}),
    };
    if (flags.conversions > 0) Object.assign(summary, measureConversion(loaded, train!, test, flags.conversions, ctx));
    if (flags.json) ctx.printJson(summary);
  } finally {
    model.dispose();
  }
}

/** Train utterances (spread over the split) whose code histograms train the codes' speaker classifier, and test ones it is scored on. */
export const CODE_CLASSIFIER_TRAIN = 160;
export const CODE_CLASSIFIER_TEST = 48;

/**
 * Converts `count` test utterances spread over the split, the i-th to speaker (source + 1 + i)
 * mod speakers, and classifies the results with a classifier trained on the
 * train split's real audio: how often it names the target, and the source.
 * Two diagnostics of what limits conversion: how well a classifier of the
 * same kind names the speaker from the codes alone (their histogram: speaker
 * identity left in the codes), and the decoder's teacher-forced bits per
 * sample on the chosen utterances with their own speaker against the
 * conversion's target (how much the decoder relies on the speaker input).
 */
function measureConversion(loaded: LoadedAudioModel, train: AudioDataset, test: AudioDataset, count: number, ctx: CommandContext): Record<string, number> {
  const speakers = loaded.speakers.length;
  if (speakers < 2) throw new UserError('--conversions needs a model of at least two speakers');
  const rate = loaded.model.sampleRate;
  const classifier = SpeakerClassifier.fit(train.utterances.map((u) => utteranceFeatures(u.samples, rate)), train.utterances.map((u) => u.speaker), speakers);
  const real = test.utterances.filter((u) => classifier.predict(utteranceFeatures(u.samples, rate)) === u.speaker).length / test.utterances.length;
  info(ctx, `speaker classifier (MFCC + logistic regression): ${(100 * real).toFixed(1)}% of real test utterances to their speaker`);
  const k = loaded.model.codebookSize;
  const model = loaded.vqvae;
  const histogram = (u: { samples: Float32Array }) => codeHistogram(encodeSamples(model, u.samples), k);
  const codeTrain = spread(train.utterances, CODE_CLASSIFIER_TRAIN);
  const codeClassifier = SpeakerClassifier.fit(codeTrain.map(histogram), codeTrain.map((u) => u.speaker), speakers);
  const codeTest = spread(test.utterances, CODE_CLASSIFIER_TEST);
  const fromCodes = codeTest.filter((u) => codeClassifier.predict(histogram(u)) === u.speaker).length / codeTest.length;
  info(ctx, `speaker from the codes alone (code histogram + logistic regression, ${codeTest.length} test utterances): ${(100 * fromCodes).toFixed(1)}% (chance ${(100 / speakers).toFixed(1)}%)`);
  const chosen = spread(test.utterances, count); // every speaker's, in a split sorted by speaker
  const targetOf = (u: { speaker: number }, i: number) => (u.speaker + 1 + (i % (speakers - 1))) % speakers;
  const bitsOwn = bitsPerSample(model, chosen);
  const bitsTarget = bitsPerSample(model, chosen.map((u, i) => ({ ...u, speaker: targetOf(u, i) })));
  info(ctx, `decoder bits per sample on those utterances: ${bitsOwn.toFixed(3)} with their own speaker, ${bitsTarget.toFixed(3)} with the conversion's target`);
  let toTarget = 0;
  let toSource = 0;
  const random = mulberry32(0);
  chosen.forEach((u, i) => {
    const target = targetOf(u, i);
    const converted = decodeCodes(loaded.vqvae, encodeSamples(loaded.vqvae, u.samples), target, { random }).subarray(0, u.samples.length);
    const predicted = classifier.predict(utteranceFeatures(converted, rate));
    if (predicted === target) toTarget++;
    if (predicted === u.speaker) toSource++;
    info(ctx, `  ${u.file}: ${loaded.speakers[u.speaker]} → ${loaded.speakers[target]}, classified as ${loaded.speakers[predicted]}`);
  });
  const n = chosen.length;
  info(ctx, `conversion (${n} utterances): classified as the target ${(100 * toTarget / n).toFixed(1)}%, as the source ${(100 * toSource / n).toFixed(1)}% (chance ${(100 / speakers).toFixed(1)}%)`);
  return {
    classifier_real_accuracy: real, conversion_to_target: toTarget / n, conversion_to_source: toSource / n, conversions: n,
    codes_speaker_accuracy: fromCodes, bits_own_speaker: bitsOwn, bits_target_speaker: bitsTarget,
  };
}

export async function audioEncode(dir: string, flags: DataFlags & { out: string; labelsOut: string | undefined }, ctx: CommandContext): Promise<void> {
  await useBackend(flags.backend as BackendChoice, ctx);
  const loaded = loadAudioModel(dir);
  try {
    const data = remap(openData(loaded, flags, flags.split, flags.limit, ctx), loaded);
    const rows = data.utterances.map((u) => encodeSamples(loaded.vqvae, u.samples));
    const frames = Math.max(...rows.map((r) => r.length));
    const codes = new Int32Array(rows.length * frames).fill(-1);
    rows.forEach((r, i) => codes.set(r, i * frames));
    writeNpyFile(flags.out, codes, [rows.length, frames]);
    info(ctx, `wrote ${flags.out}: int32 [${rows.length}, ${frames}] (${loaded.vqvae.hop} samples per code; -1 pads shorter utterances)`);
    if (flags.labelsOut) {
      writeNpyFile(flags.labelsOut, Int32Array.from(data.utterances, (u) => u.speaker), [rows.length]);
      info(ctx, `wrote ${flags.labelsOut}: int32 [${rows.length}] speaker indices (${loaded.speakers.join(', ')})`);
    }
  } finally {
    loaded.vqvae.dispose();
  }
}

export async function audioDecode(dir: string, flags: { codes: string; out: string; speaker: string | undefined; item: number; seed: number; backend: string }, ctx: CommandContext): Promise<void> {
  await useBackend(flags.backend as BackendChoice, ctx);
  const loaded = loadAudioModel(dir);
  try {
    if (flags.speaker === undefined) throw new UserError(`--speaker is needed to decode speech: one of ${loaded.speakers.join(', ')}`);
    const speaker = speakerIndex(loaded, flags.speaker);
    const codes = readNpyFile(flags.codes);
    if ((codes.dtype !== 'int32' && codes.dtype !== 'int64') || codes.shape.length !== 2) {
      throw new UserError(`${flags.codes}: expected integer codes [N, frames] as \`vqvae encode\` writes for an audio model, found ${codes.dtype} [${codes.shape.join(', ')}]`);
    }
    const [n, frames] = codes.shape as [number, number];
    if (flags.item >= n) throw new UserError(`--item ${flags.item}: ${flags.codes} has ${n} rows (0..${n - 1})`);
    const row = Int32Array.from((codes.data as Int32Array).subarray(flags.item * frames, (flags.item + 1) * frames)).filter((v) => v !== -1);
    const k = loaded.model.codebookSize;
    const bad = row.findIndex((v) => v < 0 || v >= k);
    if (bad >= 0) throw new UserError(`${flags.codes}: code ${row[bad]} at row ${flags.item}, frame ${bad} is out of range: the model has ${k} codes (0..${k - 1})`);
    if (row.length === 0) throw new UserError(`${flags.codes}: row ${flags.item} holds no codes`);
    const audio = decodeCodes(loaded.vqvae, row, speaker, { random: mulberry32(flags.seed) });
    writeWav(flags.out, audio, loaded.model.sampleRate);
    info(ctx, `wrote ${flags.out}: ${(audio.length / loaded.model.sampleRate).toFixed(2)} s in ${flags.speaker}'s voice from ${row.length} codes`);
  } finally {
    loaded.vqvae.dispose();
  }
}
