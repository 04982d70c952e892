#!/usr/bin/env node
/**
 * `npm run make-speech -- --out DIR [--shared N] [--unique N] [--speakers a,b]`:
 * the command-line face of src/audio/makeSpeech.ts.
 */
import { isUserError } from '../errors.js';
import { type FlagSpec, parseFlags } from '../cli/flags.js';
import { renderCommandHelp } from '../cli/help.js';
import { makeSpeech, VOICES } from './makeSpeech.js';

const flags = [
  { name: 'out', type: 'string', required: true, metavar: 'DIR', help: 'new folder to write the corpus to (outside the repository)' },
  { name: 'shared', type: 'int', min: 1, default: 300, metavar: 'N', help: 'sentences every speaker reads' },
  { name: 'unique', type: 'int', min: 0, default: 30, metavar: 'N', help: 'sentences only one speaker reads, per speaker' },
  { name: 'speakers', type: 'string', metavar: 'LIST', help: `comma-separated speakers (default all: ${VOICES.map((v) => v.speaker).join(', ')})` },
  { name: 'seed', type: 'int', min: 0, default: 1, help: 'seed of the sentence generator' },
] as const satisfies readonly FlagSpec[];

const command = {
  name: 'make-speech',
  summary: 'record a speech corpus with festival and espeak-ng',
  description:
    'Has each voice (festival kal, ked, slt; espeak-ng English variants) read the same sentences and a few of its own, ' +
    'writing 16 kHz mono WAV files, one folder per speaker (VCTK layout), with phone timings (.lab) for the festival voices. ' +
    'Read it with --data wav:DIR.',
  flags,
  examples: ['npm run make-speech -- --out /tmp/speech', 'npm run make-speech -- --out /tmp/tiny --shared 4 --unique 1 --speakers kal,en-us'],
  run: async () => 0,
};

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(renderCommandHelp(command, ['make-speech']));
    return 0;
  }
  const options = parseFlags(flags, argv);
  const started = Date.now();
  const result = await makeSpeech({
    out: options.out,
    shared: options.shared,
    unique: options.unique,
    seed: options.seed,
    speakers: options.speakers?.split(',').map((s) => s.trim()).filter((s) => s !== ''),
    onSpeaker: (speaker, n, seconds) => process.stdout.write(`${speaker}: ${n} utterances, ${seconds.toFixed(1)} s of audio\n`),
  });
  process.stdout.write(`wrote ${result.files} utterances of ${result.speakers.length} speakers to ${options.out} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (isUserError(error)) {
      process.stderr.write(`make-speech: error: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  },
);
