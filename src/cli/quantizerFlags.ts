/**
 * The quantizer flags of `vqvae train`: `...QUANTIZER_FLAGS` in its flags,
 * then `quantizerSettings(flags, codeDim)` gives the ModelConfig fields
 * given on the command line, checked against each other (each problem one
 * error naming its flag); quantize/recipe.ts fills in the default recipe of
 * a new run.
 */
import {
  CODEBOOK_INITS,
  DEFAULT_MODEL_CONFIG,
  GRADIENTS,
  QUANTIZER_OPTIONS,
  quantizersWith,
  type ModelConfig,
  type QuantizerKind,
  type QuantizerOption,
} from '../model/config.js';
import { AVAILABLE_QUANTIZERS } from '../quantize/factory.js';
import { QUANTIZER_OPTION_FLAGS, TRAIN_QUANTIZER_DEFAULTS } from '../quantize/recipe.js';
import { UsageError, type FlagSpec } from './flags.js';
import { decayFlag } from './modelFlags.js';

/** `vqvae train`'s --decay: its default depends on whether a quantizer is named. */
export const TRAIN_DECAY_FLAG = {
  ...decayFlag,
  help: `EMA decay gamma (default ${TRAIN_QUANTIZER_DEFAULTS.decay} in the default recipe for images; ${DEFAULT_MODEL_CONFIG.decay}, the paper's, with --quantizer ema, --ema or wav data)`,
} as const satisfies FlagSpec;

export const QUANTIZER_FLAGS = [
  {
    name: 'quantizer', type: 'choice', choices: AVAILABLE_QUANTIZERS,
    help: `how vectors become codes: vq (codebook loss, the paper), ema (moving averages, the paper's appendix)${
      AVAILABLE_QUANTIZERS.length > 2 ? `, ${AVAILABLE_QUANTIZERS.slice(2).join(', ')}` : ''} (default ${TRAIN_QUANTIZER_DEFAULTS.quantizer})`,
  },
  { name: 'ema', type: 'boolean', help: 'the same as --quantizer ema' },
  {
    name: 'codebook-init', type: 'choice', choices: CODEBOOK_INITS,
    help: `uniform (Sonnet's random codes) or kmeans (k-means++ and 10 Lloyd iterations on the encoder's outputs of the first batches) (default ${TRAIN_QUANTIZER_DEFAULTS.codebookInit}; vq, ema)`,
  },
  {
    name: 'kmeans-warmup', type: 'int', min: 0, metavar: 'W',
    help: 'with --codebook-init kmeans: train W steps before the k-means initialisation, so it fits a trained encoder\'s outputs (default 0: before the first step; vq, ema)',
  },
  {
    name: 'restart-dead', type: 'number', min: 0, max: 1, exclusiveMin: true, exclusiveMax: true, metavar: 'U',
    help: 'after each step, replace every code whose running usage (1 = a fair share of the vectors) is below U by a vector of the batch far from its code (default: off; vq, ema)',
  },
  {
    name: 'lookup-dim', type: 'int', min: 1, metavar: 'd',
    help: 'search the nearest code in d dimensions, through learned projections from D and back (default: D itself; vq, ema)',
  },
  { name: 'cosine', type: 'boolean', help: 'l2-normalise vectors and codes before the search (cosine similarity; vq, ema)' },
  {
    name: 'gradient', type: 'choice', choices: GRADIENTS,
    help: `how the gradient passes the snap to a code: ste (straight-through, the paper) or rotation (the rotation trick, Fifty et al. 2024) (default ${TRAIN_QUANTIZER_DEFAULTS.gradient})`,
  },
  {
    name: 'levels', type: 'string', metavar: 'N|L1,L2,...',
    help: "code levels: 1 (the default, the paper's model) or 2 (VQ-VAE-2: a top grid of half the size over the bottom one; --codebook-size and --code-dim are then the bottom level's; both levels take --quantizer vq|ema, --codebook-init and --restart-dead); with --quantizer fsq, a list: FSQ's levels per scalar, e.g. 8,5,5,5 (K is their product)",
  },
  { name: 'depth', type: 'int', min: 1, metavar: 'N', help: 'rvq only: the number of residual codebooks' },
] as const satisfies readonly FlagSpec[];

export interface QuantizerFlagValues {
  quantizer?: QuantizerKind;
  ema?: boolean;
  codebookInit?: ModelConfig['codebookInit'];
  kmeansWarmup?: number;
  restartDead?: number;
  lookupDim?: number;
  cosine?: boolean;
  gradient?: ModelConfig['gradient'];
  levels?: string;
  depth?: number;
}

/**
 * `--levels` read both ways: one integer is the number of code levels (1 or
 * 2, VQ-VAE-2), taken out of the quantizer's flags; a list (8,5,5,5), or any
 * value with --quantizer fsq, is FSQ's levels per scalar and stays in them.
 */
export function codeLevels<F extends Pick<QuantizerFlagValues, 'levels'> & { quantizer?: string }>(flags: F): { levels?: number; quantizerFlags: F } {
  const text = flags.levels;
  if (text === undefined || flags.quantizer === 'fsq' || !/^\s*-?\d+\s*$/.test(text)) return { quantizerFlags: flags };
  const n = Number(text);
  if (n < 1 || n > 2) {
    throw new UsageError(`--levels must be between 1 and 2 (the number of code levels; FSQ's levels per scalar, e.g. 8,5,5,5, go with --quantizer fsq), got ${text.trim()}`);
  }
  return { levels: n, quantizerFlags: { ...flags, levels: undefined } };
}

/** `8,5,5,5` → [8, 5, 5, 5]; each an integer >= 2. */
export function parseLevels(text: string): number[] {
  const parts = text.split(',');
  const levels = parts.map((p) => (/^\s*\d+\s*$/.test(p) ? Number(p) : NaN));
  if (levels.some((l) => !Number.isInteger(l) || l < 2)) {
    throw new UsageError(`--levels must be integers >= 2 separated by commas, e.g. 8,5,5,5; got "${text}"`);
  }
  return levels;
}

/** The ModelConfig fields the quantizer flags give (undefined where not given), or one UsageError naming a flag. */
export function quantizerSettings(flags: QuantizerFlagValues, codeDim: number): Partial<ModelConfig> {
  if (flags.ema && flags.quantizer !== undefined && flags.quantizer !== 'ema') {
    throw new UsageError(`--ema contradicts --quantizer ${flags.quantizer}; give one of them`);
  }
  const quantizer = flags.ema ? 'ema' : flags.quantizer;
  const given: Partial<ModelConfig> = {
    quantizer,
    codebookInit: flags.codebookInit,
    kmeansWarmup: flags.kmeansWarmup,
    restartDead: flags.restartDead,
    lookupDim: flags.lookupDim,
    cosine: flags.cosine ? true : undefined,
    gradient: flags.gradient,
    levels: flags.levels !== undefined ? parseLevels(flags.levels) : undefined,
    depth: flags.depth,
  };
  const kind = quantizer ?? TRAIN_QUANTIZER_DEFAULTS.quantizer;
  for (const option of Object.keys(QUANTIZER_OPTION_FLAGS) as QuantizerOption[]) {
    if (given[option] !== undefined && !QUANTIZER_OPTIONS[kind].includes(option)) {
      throw new UsageError(`--${QUANTIZER_OPTION_FLAGS[option]} does not apply to --quantizer ${kind} (it applies to ${quantizersWith(option)})`);
    }
  }
  const init = given.codebookInit ?? (quantizer === undefined ? TRAIN_QUANTIZER_DEFAULTS.codebookInit : 'uniform');
  if (flags.kmeansWarmup !== undefined && init !== 'kmeans') {
    throw new UsageError(`--kmeans-warmup needs --codebook-init kmeans (the codebook init is ${init})`);
  }
  if (flags.lookupDim !== undefined && flags.lookupDim > codeDim) {
    throw new UsageError(`--lookup-dim ${flags.lookupDim} is larger than the code dimension D = ${codeDim} (--code-dim)`);
  }
  if (kind === 'fsq' && given.levels === undefined) throw new UsageError('--quantizer fsq needs --levels, e.g. --levels 8,5,5,5');
  return given;
}


/** Why `vqvae import` refuses each quantizer option of `vqvae train` that a PyTorch state dict cannot hold. */
const NOT_FOR_IMPORT = {
  'codebook-init': 'a training setting, and an imported model holds no training state',
  'kmeans-warmup': 'a training setting, and an imported model holds no training state',
  'restart-dead': 'a training setting, and an imported model holds no training state',
  gradient: 'a training setting, and an imported model holds no training state',
  'lookup-dim': 'the PyTorch reference model (tools/pytorch/vqvae_torch.py) has no lookup projections',
  cosine: 'the PyTorch reference model (tools/pytorch/vqvae_torch.py) searches its codes unnormalised',
} as const;

/**
 * The quantizer flags of `vqvae import`: --quantizer, --levels (fsq) and
 * --depth (rvq) say which quantizer tensors the file holds; train's other
 * quantizer flags are listed as refused, and `importQuantizerSettings`
 * refuses them in one line saying why.
 */
export const IMPORT_QUANTIZER_FLAGS = [
  {
    name: 'quantizer', type: 'choice', choices: AVAILABLE_QUANTIZERS,
    help: 'the quantizer whose tensors the file holds (default vq, or --config\'s)',
  },
  {
    name: 'levels', type: 'string', metavar: 'N|L1,L2,...',
    help: "code levels: 1 (the default) or 2 (VQ-VAE-2, tools/pytorch/vqvae2_torch.py's layout; --codebook-size and --code-dim are the bottom level's, both levels --quantizer vq|ema); with --quantizer fsq, a list: the levels per scalar, e.g. 8,5,5,5 (K is their product)",
  },
  { name: 'depth', type: 'int', min: 1, metavar: 'N', help: 'rvq: the number of residual codebooks' },
  { name: 'codebook-init', type: 'string', metavar: 'X', help: `refused: ${NOT_FOR_IMPORT['codebook-init']}` },
  { name: 'kmeans-warmup', type: 'string', metavar: 'W', help: `refused: ${NOT_FOR_IMPORT['kmeans-warmup']}` },
  { name: 'restart-dead', type: 'string', metavar: 'U', help: `refused: ${NOT_FOR_IMPORT['restart-dead']}` },
  { name: 'gradient', type: 'string', metavar: 'X', help: `refused: ${NOT_FOR_IMPORT.gradient}` },
  { name: 'lookup-dim', type: 'string', metavar: 'd', help: `refused: ${NOT_FOR_IMPORT['lookup-dim']}` },
  { name: 'cosine', type: 'boolean', help: `refused: ${NOT_FOR_IMPORT.cosine}` },
] as const satisfies readonly FlagSpec[];

export interface ImportQuantizerFlagValues {
  quantizer?: QuantizerKind;
  ema?: boolean;
  levels?: string;
  depth?: number;
  codebookInit?: string;
  kmeansWarmup?: string;
  restartDead?: string;
  gradient?: string;
  lookupDim?: string;
  cosine?: boolean;
}

/**
 * The ModelConfig fields `vqvae import`'s quantizer flags give, over
 * `base` (the --config file's settings): the quantizer, FSQ's levels (and K,
 * their product) and RVQ's depth; a refused flag, or one that does not apply
 * to the quantizer, is one UsageError naming it.
 */
export function importQuantizerSettings(flags: ImportQuantizerFlagValues, base: Partial<ModelConfig>): Partial<ModelConfig> {
  for (const [flag, why] of Object.entries(NOT_FOR_IMPORT)) {
    const value = flags[flag.replace(/-(\w)/g, (_, c: string) => c.toUpperCase()) as keyof ImportQuantizerFlagValues];
    if (value !== undefined && value !== false) throw new UsageError(`--${flag} does not apply to vqvae import: ${why}`);
  }
  if (flags.ema && flags.quantizer !== undefined && flags.quantizer !== 'ema') {
    throw new UsageError(`--ema contradicts --quantizer ${flags.quantizer}; give one of them`);
  }
  const quantizer = flags.ema ? 'ema' : flags.quantizer;
  const kind = quantizer ?? base.quantizer ?? 'vq';
  const out: Partial<ModelConfig> = quantizer !== undefined ? { quantizer } : {};
  if (flags.levels !== undefined) {
    if (kind !== 'fsq') throw new UsageError(`--levels does not apply to --quantizer ${kind} (it applies to fsq)`);
    out.levels = parseLevels(flags.levels);
    out.codebookSize = out.levels.reduce((a, b) => a * b, 1);
  }
  if (flags.depth !== undefined) {
    if (kind !== 'rvq') throw new UsageError(`--depth does not apply to --quantizer ${kind} (it applies to rvq)`);
    out.depth = flags.depth;
  }
  return out;
}
