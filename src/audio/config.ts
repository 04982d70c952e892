/**
 * The audio VQ-VAE's configuration (van den Oord et al. 2017, section 4.3):
 * typed data with defaults in one place, validated field by field when read
 * from disk (an unknown key or a wrong type is an error).
 *
 * The paper's model: six stride-2 convolutions of window 4 (latents 64x
 * shorter than the audio), K = 512, and a WaveNet decoder with dilations
 * 1, 2, ..., 512. The defaults keep that encoder and codebook and one cycle
 * of dilations 1..512, with a narrow decoder (32 residual, 64 skip channels)
 * so that it trains on two CPU cores and generates faster than real time
 * there (bench/audio.ts measures it).
 */
import { UserError } from '../errors.js';
import type { QuantizerKind } from '../model/config.js';

export interface AudioConfig {
  /** Samples per second of the audio the model reads and writes. */
  sampleRate: number;
  /** mu-law levels of the decoder's categorical output (WaveNet: 256). */
  levels: number;
  /** Stride-2 convolutions of the encoder: 6 gives latents 2^6 = 64x shorter. */
  downsamples: number;
  /** Channels of the encoder's convolutions. */
  encoderChannels: number;
  /** Codebook size K. */
  codebookSize: number;
  /** Code dimension D. */
  codeDim: number;
  quantizer: QuantizerKind;
  beta: number;
  decay: number;
  epsilon: number;
  /** Restart codes whose running usage (1 = a fair share) falls below this after a step (src/quantize/restart.ts); 0: never. */
  restartDead: number;
  /** Number of speakers (the embedding table's rows). */
  speakers: number;
  /** Width of the speaker embedding. */
  speakerDim: number;
  /** Residual channels of the WaveNet (C). */
  residualChannels: number;
  /** Skip channels of the WaveNet (S). */
  skipChannels: number;
  /** Dilation of each layer's kernel-2 causal convolution, in order. */
  dilations: number[];
}

/** 1, 2, 4, ..., 2^(n-1), repeated `cycles` times. */
export function dilationCycles(perCycle: number, cycles: number): number[] {
  return Array.from({ length: perCycle * cycles }, (_, i) => 2 ** (i % perCycle));
}

export const DEFAULT_AUDIO_CONFIG: Readonly<AudioConfig> = Object.freeze({
  sampleRate: 16000,
  levels: 256,
  downsamples: 6,
  encoderChannels: 64,
  codebookSize: 512,
  codeDim: 64,
  quantizer: 'vq',
  beta: 0.25,
  decay: 0.99,
  epsilon: 1e-5,
  restartDead: 0,
  speakers: 1,
  speakerDim: 16,
  residualChannels: 32,
  skipChannels: 64,
  dilations: dilationCycles(10, 1),
});

/** How many samples one latent covers: 2^downsamples. */
export function hopLength(config: AudioConfig): number {
  return 2 ** config.downsamples;
}

/** The samples before t that output t depends on: 1 (the input shift) + sum of dilations. */
export function receptiveField(config: AudioConfig): number {
  return 1 + config.dilations.reduce((a, b) => a + b, 0);
}

const POSITIVE_INTS: readonly (keyof AudioConfig)[] = [
  'sampleRate', 'levels', 'downsamples', 'encoderChannels', 'codebookSize', 'codeDim', 'speakers', 'speakerDim',
  'residualChannels', 'skipChannels',
];

/** A complete config from a partial one, checked; `where` names the source in errors. */
export function validateAudioConfig(input: Partial<AudioConfig> | Record<string, unknown>, where = 'audio config'): AudioConfig {
  const known = new Set(Object.keys(DEFAULT_AUDIO_CONFIG));
  for (const key of Object.keys(input)) {
    if (!known.has(key)) throw new UserError(`${where}: unknown field ${JSON.stringify(key)}; known fields: ${[...known].join(', ')}`);
  }
  // A field given as undefined (a flag left out) keeps its default.
  const given = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined));
  const config = { ...DEFAULT_AUDIO_CONFIG, ...given } as AudioConfig;
  for (const key of POSITIVE_INTS) {
    const v = config[key];
    if (!(typeof v === 'number' && Number.isInteger(v) && v >= 1)) throw new UserError(`${where}: ${key} must be an integer >= 1, found ${JSON.stringify(v)}`);
  }
  if (config.levels < 2) throw new UserError(`${where}: levels must be at least 2, found ${config.levels}`);
  if (config.quantizer !== 'vq' && config.quantizer !== 'ema') {
    throw new UserError(`${where}: quantizer must be "vq" or "ema", found ${JSON.stringify(config.quantizer)}`);
  }
  for (const key of ['beta', 'decay', 'epsilon'] as const) {
    if (!(typeof config[key] === 'number' && Number.isFinite(config[key]) && config[key] >= 0)) {
      throw new UserError(`${where}: ${key} must be a number >= 0, found ${JSON.stringify(config[key])}`);
    }
  }
  if (!(typeof config.restartDead === 'number' && config.restartDead >= 0 && config.restartDead < 1)) {
    throw new UserError(`${where}: restartDead must be a number in [0, 1) (0: no restarts), found ${JSON.stringify(config.restartDead)}`);
  }
  const d = config.dilations;
  if (!Array.isArray(d) || d.length === 0 || !d.every((x) => Number.isInteger(x) && x >= 1)) {
    throw new UserError(`${where}: dilations must be a non-empty list of integers >= 1, found ${JSON.stringify(d)}`);
  }
  return { ...config, dilations: [...d] };
}
