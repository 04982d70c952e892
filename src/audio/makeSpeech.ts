/**
 * Records a multi-speaker speech corpus offline with Debian's synthesizers,
 * which hold recorded voices: Festival's diphone voices kal and ked
 * (festvox-kallpc16k, festvox-kdlpc16k) and its HTS voice slt
 * (festvox-us-slt-hts), and espeak-ng's English voices with their variants.
 *
 * Every voice reads the same `shared` sentences, and `unique` more that only
 * it reads. The output has VCTK's layout, so `--data wav:DIR` (src/data/wav.ts)
 * reads it as it would read VCTK's wav48/:
 *
 *   DIR/prompts.txt                      "<utterance id> <text>", one a line
 *   DIR/<speaker>/<speaker>_<id>.wav     16 kHz mono 16-bit PCM
 *   DIR/<speaker>/<speaker>_<id>.lab     phone timings (Festival voices only)
 *
 * Utterance ids are s0001... for shared sentences (the same id is the same
 * sentence for every speaker) and u<speaker>0001... for each speaker's own.
 *
 * Phone timings: Festival's `utt.save.segs` writes the Segment relation the
 * synthesizer rendered (end time and phone per line, the phone set of its
 * lexicon: 44 phones for these voices, `pau` for silence); it is rewritten
 * as an HTK label file, "start end phone" in units of 100 ns, the format of
 * TIMIT-derived and HTK corpora. espeak-ng prints no timings for its own
 * voices (its --pho output exists only for mbrola voices, which Debian ships
 * separately), so its speakers have no .lab files; the phoneme evaluation
 * uses the speakers that have them.
 *
 * Festival resamples its output to 16 kHz itself (utt.wave.resample; slt
 * renders at 48 kHz); espeak-ng renders at 22050 Hz and is resampled by
 * src/audio/resample.ts.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UserError } from '../errors.js';
import { readWav, writeWav } from '../io/wav.js';
import { resample } from './resample.js';
import { makeSentences } from './sentences.js';

export const SPEECH_RATE = 16000;

export interface Voice {
  /** Speaker folder name. */
  readonly speaker: string;
  readonly engine: 'festival' | 'espeak-ng';
  /** Festival's voice function (without `voice_`), or espeak-ng's -v value. */
  readonly voice: string;
}

export const VOICES: readonly Voice[] = [
  { speaker: 'kal', engine: 'festival', voice: 'kal_diphone' },
  { speaker: 'ked', engine: 'festival', voice: 'ked_diphone' },
  { speaker: 'slt', engine: 'festival', voice: 'cmu_us_slt_arctic_hts' },
  { speaker: 'en-us', engine: 'espeak-ng', voice: 'en-us' },
  { speaker: 'en-us-f3', engine: 'espeak-ng', voice: 'en-us+f3' },
  { speaker: 'en-gb-m3', engine: 'espeak-ng', voice: 'en-gb+m3' },
  { speaker: 'en-sc-f2', engine: 'espeak-ng', voice: 'en-gb-scotland+f2' },
];

export interface MakeSpeechOptions {
  readonly out: string;
  /** Sentences every voice reads. */
  readonly shared: number;
  /** Sentences only one voice reads, per voice. */
  readonly unique: number;
  /** Speaker names to record (default all of VOICES). */
  readonly speakers?: readonly string[];
  readonly seed?: number;
  /** Called after each speaker is done. */
  readonly onSpeaker?: (speaker: string, utterances: number, seconds: number) => void;
}

export interface Utterance {
  readonly id: string;
  readonly text: string;
}

/** The utterances of one speaker: the shared ones, then its own. */
export function utterancesOf(voiceIndex: number, speaker: string, shared: readonly string[], unique: number, seed: number): Utterance[] {
  const own = makeSentences(shared.length + unique * (voiceIndex + 1), seed).slice(shared.length + unique * voiceIndex);
  return [
    ...shared.map((text, i) => ({ id: `s${pad(i + 1)}`, text })),
    ...own.map((text, i) => ({ id: `u${speaker.replace(/[^a-z0-9]/g, '')}${pad(i + 1)}`, text })),
  ];
}

function pad(n: number): string {
  return String(n).padStart(4, '0');
}

export async function makeSpeech(options: MakeSpeechOptions): Promise<{ speakers: string[]; files: number }> {
  const seed = options.seed ?? 1;
  const voices = options.speakers === undefined ? VOICES : options.speakers.map((name) => {
    const voice = VOICES.find((v) => v.speaker === name);
    if (voice === undefined) throw new UserError(`unknown speaker ${JSON.stringify(name)}; choose from ${VOICES.map((v) => v.speaker).join(', ')}`);
    return voice;
  });
  if (fs.existsSync(options.out) && fs.readdirSync(options.out).length > 0) {
    throw new UserError(`--out ${options.out} exists and is not empty; give a new folder`);
  }
  for (const engine of new Set(voices.map((v) => v.engine))) await checkInstalled(engine);
  const shared = makeSentences(options.shared, seed);
  fs.mkdirSync(options.out, { recursive: true });
  const prompts = new Map<string, string>();
  let files = 0;
  for (const voice of voices) {
    const index = VOICES.indexOf(voice);
    const utterances = utterancesOf(index, voice.speaker, shared, options.unique, seed);
    for (const u of utterances) prompts.set(u.id, u.text);
    const dir = path.join(options.out, voice.speaker);
    fs.mkdirSync(dir, { recursive: true });
    const seconds = voice.engine === 'festival' ? await festival(voice, utterances, dir) : await espeak(voice, utterances, dir);
    files += utterances.length;
    options.onSpeaker?.(voice.speaker, utterances.length, seconds);
  }
  const lines = [...prompts].sort(([a], [b]) => (a < b ? -1 : 1)).map(([id, text]) => `${id} ${text}`);
  fs.writeFileSync(path.join(options.out, 'prompts.txt'), `${lines.join('\n')}\n`);
  return { speakers: voices.map((v) => v.speaker), files };
}

async function checkInstalled(engine: Voice['engine']): Promise<void> {
  const result = await run(engine, ['--version']).catch((error: Error) => ({ code: -1, stderr: error.message }));
  if (result.code !== 0) {
    const packages = engine === 'festival' ? 'festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts' : 'espeak-ng';
    throw new UserError(`${engine} not found: apt-get install ${packages}`);
  }
}

/** Runs a synthesizer with no input (its text is in the arguments or a script file). */
function run(command: string, args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stderr }));
  });
}

function schemeString(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** One Festival process renders every utterance of a voice (its start-up costs about a second). */
async function festival(voice: Voice, utterances: readonly Utterance[], dir: string): Promise<number> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vqvae-festival-'));
  try {
    const lines = [`(voice_${voice.voice})`];
    for (const u of utterances) {
      const base = path.join(tmp, u.id);
      lines.push(
        `(set! u (utt.synth (Utterance Text ${schemeString(u.text)})))`,
        `(utt.wave.resample u ${SPEECH_RATE})`,
        `(utt.save.wave u ${schemeString(`${base}.wav`)} 'riff)`,
        `(utt.save.segs u ${schemeString(`${base}.segs`)})`,
      );
    }
    const script = path.join(tmp, 'script.scm');
    fs.writeFileSync(script, `${lines.join('\n')}\n`);
    const result = await run('festival', ['-b', script]);
    let seconds = 0;
    for (const u of utterances) {
      const base = path.join(tmp, u.id);
      if (!fs.existsSync(`${base}.wav`)) {
        throw new UserError(`festival (voice ${voice.voice}) wrote no audio for ${u.id}: ${result.stderr.trim().split('\n')[0] ?? ''}`);
      }
      const wav = readWav(`${base}.wav`);
      const target = path.join(dir, `${voice.speaker}_${u.id}`);
      writeWav(`${target}.wav`, wav.samples, wav.sampleRate);
      fs.writeFileSync(`${target}.lab`, segsToLab(fs.readFileSync(`${base}.segs`, 'utf8')));
      seconds += wav.samples.length / wav.sampleRate;
    }
    return seconds;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** Festival's xlabel segments ("end 100 phone" after a `#` line) → HTK "start end phone", 100 ns units. */
export function segsToLab(segs: string): string {
  const lines = segs.split('\n');
  const body = lines.slice(lines.findIndex((l) => l.trim() === '#') + 1);
  let start = 0;
  const out: string[] = [];
  for (const line of body) {
    const parts = line.trim().split(/\s+/);
    if (parts.length < 3) continue;
    const end = Math.round(Number(parts[0]) * 1e7);
    out.push(`${start} ${end} ${parts[2]}`);
    start = end;
  }
  return `${out.join('\n')}\n`;
}

async function espeak(voice: Voice, utterances: readonly Utterance[], dir: string): Promise<number> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vqvae-espeak-'));
  try {
    let seconds = 0;
    for (const u of utterances) {
      const raw = path.join(tmp, `${u.id}.wav`);
      const result = await run('espeak-ng', ['-v', voice.voice, '-w', raw, u.text]);
      if (result.code !== 0 || !fs.existsSync(raw)) throw new UserError(`espeak-ng (voice ${voice.voice}) failed on ${u.id}: ${result.stderr.trim()}`);
      const wav = readWav(raw);
      const samples = resample(wav.samples, wav.sampleRate, SPEECH_RATE);
      writeWav(path.join(dir, `${voice.speaker}_${u.id}.wav`), samples, SPEECH_RATE);
      seconds += samples.length / SPEECH_RATE;
    }
    return seconds;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
