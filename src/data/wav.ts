/**
 * The `wav:DIR` SPEC: speech in WAV files, one sub-folder per speaker, the
 * layout of VCTK's wav48/ (DIR/p225/p225_001.wav) and of
 * `npm run make-speech` (src/audio/makeSpeech.ts).
 *
 * Layout:
 *   DIR/train/<speaker>/*.wav, DIR/test/<speaker>/*.wav   the two splits
 *   DIR/<speaker>/*.wav                                    no train/ or test/:
 *     a fixed held-out split by utterance id: the file name without the
 *     `<speaker>_` prefix and `.wav` (p225_001.wav is id 001); the distinct
 *     ids of all speakers, sorted, go one in ten to test (the 1st, 11th, ...),
 *     so a sentence that several speakers read is in the same split for all.
 * Speakers are the sub-folder names sorted (by UTF-16 code unit), over both
 * splits, so a speaker index means the same voice in train and test.
 * Hidden entries and deeper folders are not read; a WAV directly in DIR (or
 * in train/ or test/) has no speaker and is an error.
 *
 * Audio: every supported WAV encoding (src/io/wav.ts), mono; files at
 * another rate are resampled to `sampleRate` (default 16000) and the result
 * says so in `notes`, e.g. "wav:/d: 35 files at 22050 Hz resampled to 16000 Hz".
 *
 * Phone timings: a `.lab` file next to a WAV (same name) holds HTK labels,
 * "start end phone" per line in units of 100 ns (what make-speech writes);
 * they are converted to sample positions at `sampleRate`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.js';
import { readWav } from '../io/wav.js';
import { resample } from '../audio/resample.js';
import type { Split } from './dataset.js';
import { byCodeUnit, isDirectory, readDir } from './files.js';
import { checkLoadOptions } from './loadOptions.js';

export const DEFAULT_SAMPLE_RATE = 16000;

/** One phone of an utterance, [start, end) in samples at the data set's rate. */
export interface PhoneSegment {
  readonly start: number;
  readonly end: number;
  readonly phone: string;
}

export interface AudioUtterance {
  readonly file: string;
  /** The utterance id (file name without the speaker prefix and extension). */
  readonly id: string;
  /** Index into `speakers`. */
  readonly speaker: number;
  /** Mono samples at the data set's rate. */
  readonly samples: Float32Array;
  /** Phone timings, where a .lab file exists. */
  readonly phones?: readonly PhoneSegment[];
}

export interface AudioDataset {
  readonly spec: string;
  readonly split: Split;
  readonly sampleRate: number;
  /** Speaker names (sub-folders) of both splits, sorted. */
  readonly speakers: readonly string[];
  readonly utterances: readonly AudioUtterance[];
  /** Things the user should be told: resampling. */
  readonly notes: readonly string[];
}

export interface AudioLoadOptions {
  split?: Split;
  /** Keep only the first N utterances (speaker by speaker, by file name). */
  limit?: number;
  /** The rate to resample to; default 16000. */
  sampleRate?: number;
  onProgress?: (done: number, total: number) => void;
}

interface WavEntry {
  readonly file: string;
  readonly id: string;
  readonly speaker: number;
}

export function loadWavFolder(spec: string, dir: string, options: AudioLoadOptions = {}): AudioDataset {
  const { split, limit } = checkLoadOptions({ split: options.split, limit: options.limit });
  const sampleRate = options.sampleRate ?? DEFAULT_SAMPLE_RATE;
  if (!(Number.isInteger(sampleRate) && sampleRate > 0)) throw new UserError(`invalid sample rate ${sampleRate}: expected a positive integer`);
  if (!isDirectory(dir)) throw new UserError(`${spec}: directory ${dir} not found`);
  const train = path.join(dir, 'train');
  const test = path.join(dir, 'test');
  const hasSplits = isDirectory(train) || isDirectory(test);
  if (hasSplits && !(isDirectory(train) && isDirectory(test))) {
    throw new UserError(`${spec}: ${dir} has ${isDirectory(train) ? 'train/' : 'test/'} but no ${isDirectory(train) ? 'test/' : 'train/'}; expected both, or speaker folders directly in ${dir}`);
  }
  const roots = hasSplits ? [train, test] : [dir];
  const speakers = listSpeakers(spec, roots);
  if (speakers.length === 0) throw new UserError(`${spec}: no speaker sub-folders in ${roots.join(' or ')}; expected DIR/<speaker>/*.wav`);

  let entries = listWavs(hasSplits ? (split === 'train' ? train : test) : dir, speakers);
  if (!hasSplits) {
    const ids = [...new Set(entries.map((e) => e.id))].sort(byCodeUnit);
    const testIds = new Set(ids.filter((_, i) => i % 10 === 0));
    entries = entries.filter((e) => testIds.has(e.id) === (split === 'test'));
  }
  if (entries.length === 0) throw new UserError(`${spec}: no .wav files in the ${split} split`);
  if (limit !== undefined) entries = entries.slice(0, limit);

  const resampledFrom = new Map<number, number>();
  const utterances = entries.map((entry, i): AudioUtterance => {
    const wav = readWav(entry.file);
    let samples = wav.samples;
    if (wav.sampleRate !== sampleRate) {
      samples = resample(samples, wav.sampleRate, sampleRate);
      resampledFrom.set(wav.sampleRate, (resampledFrom.get(wav.sampleRate) ?? 0) + 1);
    }
    const lab = entry.file.replace(/\.wav$/i, '.lab');
    const phones = fs.existsSync(lab) ? readLab(lab, sampleRate) : undefined;
    if (options.onProgress && ((i + 1) % 200 === 0 || i + 1 === entries.length)) options.onProgress(i + 1, entries.length);
    return { file: entry.file, id: entry.id, speaker: entry.speaker, samples, ...(phones ? { phones } : {}) };
  });
  const notes = [...resampledFrom].map(([rate, n]) => `${spec}: ${n} file${n === 1 ? '' : 's'} at ${rate} Hz resampled to ${sampleRate} Hz`);
  return { spec, split, sampleRate, speakers, utterances, notes };
}

function listSpeakers(spec: string, roots: readonly string[]): string[] {
  const names = new Set<string>();
  for (const root of roots) {
    for (const entry of readDir(root)) {
      if (entry.isDirectory()) names.add(entry.name);
      else if (/\.wav$/i.test(entry.name)) {
        throw new UserError(`${spec}: ${path.join(root, entry.name)} is not in a speaker sub-folder; expected ${root}/<speaker>/*.wav`);
      }
    }
  }
  return [...names].sort(byCodeUnit);
}

function listWavs(splitDir: string, speakers: readonly string[]): WavEntry[] {
  const out: WavEntry[] = [];
  speakers.forEach((name, speaker) => {
    const folder = path.join(splitDir, name);
    if (!isDirectory(folder)) return;
    const files = readDir(folder).filter((e) => !e.isDirectory() && /\.wav$/i.test(e.name)).map((e) => e.name).sort(byCodeUnit);
    for (const file of files) {
      const stem = file.replace(/\.wav$/i, '');
      const id = stem.startsWith(`${name}_`) ? stem.slice(name.length + 1) : stem;
      out.push({ file: path.join(folder, file), id, speaker });
    }
  });
  return out;
}

/** HTK labels "start end phone" (100 ns units) → sample positions. */
export function readLab(file: string, sampleRate: number): PhoneSegment[] {
  const segments: PhoneSegment[] = [];
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  lines.forEach((line, i) => {
    const parts = line.trim().split(/\s+/);
    if (parts.length === 1 && parts[0] === '') return;
    const [start, end] = [Number(parts[0]), Number(parts[1])];
    if (parts.length < 3 || !Number.isFinite(start) || !Number.isFinite(end) || end < start) {
      throw new UserError(`${file}:${i + 1}: expected "start end phone" (HTK label, 100 ns units), found ${JSON.stringify(line)}`);
    }
    segments.push({ start: Math.round((start * 1e-7) * sampleRate), end: Math.round((end * 1e-7) * sampleRate), phone: parts[2]! });
  });
  return segments;
}
