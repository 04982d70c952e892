/**
 * `vqvae train --data wav:DIR`: the audio model's flags and their mapping to
 * the run engine with the audio plug-in (src/audio/run.ts). train.ts calls
 * it for wav:DIR data; flags of the image model are refused there, and these
 * flags are refused for image data.
 */
import { dilationCycles, DEFAULT_AUDIO_CONFIG as a } from '../audio/config.js';
import { audioRun } from '../audio/run.js';
import { loadWavFolder } from '../data/wav.js';
import { parseDataSpec } from '../data/spec.js';
import { runTraining } from '../train/run.js';
import type { CommandContext } from './command.js';
import { info, runOptions, type RunFlagValues } from './common.js';
import { UsageError, type IntFlag } from './flags.js';

/** Training defaults of the audio model: windows of 4096 samples (64 codes), 8 a batch. */
export const AUDIO_DEFAULTS = { steps: 2000, batch: 8, lr: 1e-3, seed: 0 } as const;
export const DEFAULT_WINDOW = 4096;
/** The most stride-2 convolutions --hop may ask for (4096 samples a code). */
export const MAX_DOWNSAMPLES = 12;

export const AUDIO_TRAIN_FLAGS = [
  { name: 'window', type: 'int', min: 2, metavar: 'N', help: `wav data: samples per training window, a multiple of the hop (default ${DEFAULT_WINDOW})` },
  { name: 'hop', type: 'int', min: 2, max: 2 ** MAX_DOWNSAMPLES, metavar: 'N', help: `wav data: samples per code, a power of 2 (the encoder's stride-2 convolutions): 64 is 250 codes/s at 16 kHz, 512 is 31.25/s (default ${2 ** a.downsamples})` },
  { name: 'layers', type: 'int', min: 1, metavar: 'N', help: `wav data: WaveNet layers, dilations 1, 2, .., 512 repeated (default ${a.dilations.length})` },
  { name: 'residual-channels', type: 'int', min: 1, metavar: 'N', help: `wav data: WaveNet residual channels (default ${a.residualChannels})` },
  { name: 'skip-channels', type: 'int', min: 1, metavar: 'N', help: `wav data: WaveNet skip channels (default ${a.skipChannels})` },
  { name: 'encoder-channels', type: 'int', min: 1, metavar: 'N', help: `wav data: channels of the encoder's convolutions (default ${a.encoderChannels})` },
] as const satisfies readonly IntFlag[];

export interface AudioTrainFlags extends RunFlagValues {
  data: string;
  out?: string;
  limit?: number;
  evalLimit: number;
  window?: number;
  hop?: number;
  layers?: number;
  residualChannels?: number;
  skipChannels?: number;
  encoderChannels?: number;
  codebookSize?: number;
  codeDim?: number;
  beta?: number;
  decay?: number;
  restartDead?: number;
  ema: boolean;
}

/** Image-model flags that make no sense for speech, by their camelCase keys. */
const IMAGE_ONLY = { hidden: 'hidden', resHidden: 'res-hidden', resBlocks: 'res-blocks', likelihood: 'likelihood', resize: 'resize', epochs: 'epochs', levels: 'levels', fsqLevels: 'fsq-levels',
  topCodebookSize: 'top-codebook-size', topCodeDim: 'top-code-dim', topQuantizer: 'top-quantizer', topFsqLevels: 'top-fsq-levels', topLookupDim: 'top-lookup-dim', topDepth: 'top-depth',
} as const;

/** Refuses the flags of the other kind of data. */
export function checkDataKindFlags(flags: Record<string, unknown>): boolean {
  const isAudio = parseDataSpec(flags['data'] as string).kind === 'wav';
  if (isAudio) {
    if (flags['downsamples'] !== undefined) throw new UsageError(`--downsamples applies to image data; for speech give --hop, the samples per code (a power of 2, default ${2 ** a.downsamples})`);
    for (const [key, flag] of Object.entries(IMAGE_ONLY)) {
      if (flags[key] !== undefined) throw new UsageError(`--${flag} applies to image data; ${flags['data']} is speech (see --window, --layers, --residual-channels)`);
    }
  } else {
    for (const flag of AUDIO_TRAIN_FLAGS) {
      const key = flag.name.replace(/-([a-z])/g, (_, ch: string) => ch.toUpperCase());
      if (flags[key] !== undefined) throw new UsageError(`--${flag.name} applies to wav:DIR data only`);
    }
  }
  return isAudio;
}

/** log2 of --hop, the encoder's stride-2 convolutions; a hop that is not a power of 2 is a usage error. */
export function downsamplesOfHop(hop: number): number {
  const n = Math.round(Math.log2(hop));
  if (2 ** n !== hop) throw new UsageError(`--hop ${hop} must be a power of 2 (the encoder halves the rate per convolution): ${2 ** Math.max(1, Math.floor(Math.log2(hop)))} or ${2 ** Math.ceil(Math.log2(hop))}`);
  return n;
}

export async function runAudioTrain(flags: AudioTrainFlags, out: string, ctx: CommandContext): Promise<number> {
  const downsamples = flags.hop === undefined ? undefined : downsamplesOfHop(flags.hop);
  const hop = 2 ** (downsamples ?? a.downsamples);
  if (flags.window !== undefined && flags.window % hop !== 0) throw new UsageError(`--window ${flags.window} must be a multiple of the hop, ${hop} samples`);
  const dir = (parseDataSpec(flags.data) as { dir: string }).dir;
  const layers = flags.layers ?? a.dilations.length;
  const plugin = audioRun({
    data: flags.data,
    loadData: (split, limit) => loadWavFolder(flags.data, dir, { split, limit }),
    limit: flags.limit,
    evalLimit: flags.evalLimit,
    window: flags.window ?? Math.max(DEFAULT_WINDOW, hop),
    model: {
      downsamples,
      codebookSize: flags.codebookSize,
      codeDim: flags.codeDim,
      beta: flags.beta,
      decay: flags.decay,
      restartDead: flags.restartDead,
      residualChannels: flags.residualChannels,
      skipChannels: flags.skipChannels,
      encoderChannels: flags.encoderChannels,
      ...(flags.layers !== undefined ? { dilations: dilationCycles(Math.min(10, layers), Math.ceil(layers / 10)).slice(0, layers) } : {}),
      ...(flags.ema ? { quantizer: 'ema' as const } : {}),
    },
  });
  info(ctx, `audio model: ${flags.data}`);
  return runTraining(plugin, runOptions(flags, out, AUDIO_DEFAULTS, ctx));
}
