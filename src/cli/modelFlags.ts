/**
 * The model-size flags that `train` and `import` share, and the ModelConfig
 * fields they set: `...MODEL_SIZE_FLAGS` in a command's flags, then
 * `modelSizeOverrides(flags)` gives the fields given on the command line.
 */
import { DEFAULT_MODEL_CONFIG as d, type ModelConfig } from '../model/config.js';
import type { IntFlag, NumberFlag } from './flags.js';

export const MODEL_SIZE_FLAGS = [
  { name: 'hidden', type: 'int', min: 2, metavar: 'N', help: `channels of encoder and decoder (default ${d.hidden}; even)` },
  { name: 'res-hidden', type: 'int', min: 1, metavar: 'N', help: `channels inside a residual block (default ${d.resHidden})` },
  { name: 'res-blocks', type: 'int', min: 0, metavar: 'N', help: `residual blocks in encoder and decoder (default ${d.resBlocks})` },
  { name: 'codebook-size', type: 'int', min: 1, metavar: 'K', help: `number of codes K (default ${d.codebookSize})` },
  { name: 'code-dim', type: 'int', min: 1, metavar: 'D', help: `dimension D of each code (default ${d.codeDim})` },
  { name: 'downsamples', type: 'int', min: 1, max: 5, metavar: 'N', help: `stride-2 stages: 28x28 → 7x7 codes with 2 (default ${d.downsamples})` },
  { name: 'beta', type: 'number', min: 0, metavar: 'B', help: `commitment cost beta (default ${d.beta})` },
] as const satisfies readonly (IntFlag | NumberFlag)[];

export const decayFlag = {
  name: 'decay', type: 'number', min: 0, max: 1, exclusiveMin: true, exclusiveMax: true, metavar: 'G',
  help: `EMA decay gamma (default ${d.decay})`,
} as const satisfies NumberFlag;

export interface ModelSizeValues {
  hidden?: number;
  resHidden?: number;
  resBlocks?: number;
  codebookSize?: number;
  codeDim?: number;
  downsamples?: number;
  beta?: number;
  decay?: number;
}

/** The ModelConfig fields of the flags (undefined where a flag was not given). */
export function modelSizeOverrides(flags: ModelSizeValues): Partial<ModelConfig> {
  return {
    hidden: flags.hidden,
    resHidden: flags.resHidden,
    resBlocks: flags.resBlocks,
    codebookSize: flags.codebookSize,
    codeDim: flags.codeDim,
    downsamples: flags.downsamples,
    beta: flags.beta,
    decay: flags.decay,
  };
}
