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
    help: "code levels: 1 (the default, the paper's model) or 2 (VQ-VAE-2: a top grid of half the size over the bottom one; --codebook-size, --code-dim and --quantizer are then the bottom level's, --top-* the top level's); " +
      'as before --fsq-levels existed, a list (or any value with --quantizer fsq and no --fsq-levels) is FSQ\'s levels per scalar, e.g. 8,5,5,5',
  },
  {
    name: 'fsq-levels', type: 'string', metavar: 'L1,L2,...',
    help: "fsq: the levels per scalar, e.g. 8,5,5,5 (K is their product); with --levels 2, of each fsq level (the top's: --top-fsq-levels if given)",
  },
  { name: 'depth', type: 'int', min: 1, metavar: 'N', help: 'rvq only: the number of residual codebooks' },
] as const satisfies readonly FlagSpec[];

/**
 * `vqvae train --levels 2`'s top-level quantizer flags. Every other
 * quantizer flag (--codebook-init, --kmeans-warmup, --restart-dead,
 * --lookup-dim, --cosine, --gradient, --fsq-levels, --decay) applies to each
 * level whose kind implements it.
 */
export const TOP_QUANTIZER_FLAGS = [
  {
    name: 'top-quantizer', type: 'choice', choices: AVAILABLE_QUANTIZERS,
    help: "with --levels 2: the top level's quantizer (default: the bottom level's, --quantizer); an rvq level's codes are [N, h, w, depth]. " +
      'Every other quantizer flag applies to each level whose kind has it',
  },
  { name: 'top-depth', type: 'int', min: 1, metavar: 'N', help: "with --levels 2 and a top level of kind rvq: its number of residual codebooks (default --depth)" },
  { name: 'top-fsq-levels', type: 'string', metavar: 'L1,L2,...', help: "with --levels 2 and a top level of kind fsq: its levels per scalar (default --fsq-levels); --top-codebook-size is their product" },
  { name: 'top-lookup-dim', type: 'int', min: 1, metavar: 'd', help: "with --levels 2: the top level's lookup dimension (vq, ema; default --lookup-dim)" },
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
  fsqLevels?: string;
  depth?: number;
}

/**
 * `--levels` read both ways: one integer is the number of code levels (1 or
 * 2, VQ-VAE-2), taken out of the quantizer's flags; a list (8,5,5,5), or any
 * value with --quantizer fsq, is FSQ's levels per scalar and stays in them,
 * as before --fsq-levels existed. With --fsq-levels, --levels is always the
 * number of code levels.
 */
export function codeLevels<F extends Pick<QuantizerFlagValues, 'levels' | 'fsqLevels'> & { quantizer?: string }>(flags: F): { levels?: number; quantizerFlags: F } {
  const text = flags.levels;
  if (text !== undefined && flags.fsqLevels !== undefined && !/^\s*-?\d+\s*$/.test(text)) {
    throw new UsageError(`--levels ${text.trim()} with --fsq-levels: --levels is then the number of code levels (1 or 2); give FSQ's levels per scalar once, with --fsq-levels`);
  }
  if (text === undefined || (flags.quantizer === 'fsq' && flags.fsqLevels === undefined) || !/^\s*-?\d+\s*$/.test(text)) return { quantizerFlags: flags };
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

/**
 * The ModelConfig fields the quantizer flags give (undefined where not
 * given), or one UsageError naming a flag; `unnamed` is the kind the options
 * are checked against when no quantizer is named (a resumed level's).
 */
export function quantizerSettings(flags: QuantizerFlagValues, codeDim: number, unnamed: QuantizerKind = TRAIN_QUANTIZER_DEFAULTS.quantizer): Partial<ModelConfig> {
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
    levels: fsqLevelsText(flags) !== undefined ? parseLevels(fsqLevelsText(flags)!) : undefined,
    depth: flags.depth,
  };
  const kind = quantizer ?? unnamed;
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
  if (quantizer === 'fsq' && given.levels === undefined) throw new UsageError('--quantizer fsq needs --fsq-levels (or --levels), e.g. --fsq-levels 8,5,5,5');
  return given;
}

/** FSQ's levels per scalar as given: --fsq-levels, or --levels when codeLevels left it among the quantizer's flags. */
function fsqLevelsText(flags: QuantizerFlagValues): string | undefined {
  if (flags.fsqLevels !== undefined && flags.levels !== undefined) {
    throw new UsageError('give FSQ\'s levels per scalar once: --fsq-levels or --levels, not both');
  }
  return flags.fsqLevels ?? flags.levels;
}

export interface TwoLevelQuantizerFlagValues extends QuantizerFlagValues {
  topQuantizer?: QuantizerKind;
  topFsqLevels?: string;
  topLookupDim?: number;
  topDepth?: number;
}

/** What `levelQuantizerSettings` gives: each level's fields as `quantizerSettings` gives them, and the flag behind each top field. */
export interface LevelQuantizerSettings {
  bottom: Partial<ModelConfig>;
  top: Partial<ModelConfig>;
  /** The flag that gave each top field, for messages (--top-quantizer, or --quantizer where it gave both). */
  topFlags: Partial<Record<keyof ModelConfig, string>>;
}

/**
 * The quantizer flags of `vqvae train --levels 2`, read per level: --quantizer
 * (or --ema) is the bottom level's and, without --top-quantizer, the top
 * level's; each option flag applies to each level whose kind implements it
 * (model/config.ts QUANTIZER_OPTIONS), --top-fsq-levels and --top-lookup-dim
 * in place of --fsq-levels and --lookup-dim on the top. A flag that applies
 * to neither level, or a level that cannot take it, is one UsageError naming
 * it. With --resume, `saved` is each level's kind in the directory.
 */
export function levelQuantizerSettings(
  flags: TwoLevelQuantizerFlagValues,
  codeDims: { top: number; bottom: number },
  saved?: { top: QuantizerKind; bottom: QuantizerKind },
): LevelQuantizerSettings {
  if (flags.ema && flags.quantizer !== undefined && flags.quantizer !== 'ema') {
    throw new UsageError(`--ema contradicts --quantizer ${flags.quantizer}; give one of them`);
  }
  const bottomNamed = flags.ema ? 'ema' : flags.quantizer;
  const topNamed = flags.topQuantizer ?? bottomNamed;
  // A level's kind: named, else the resumed model's (`saved`), else the default recipe's.
  const kinds = { bottom: bottomNamed ?? saved?.bottom ?? TRAIN_QUANTIZER_DEFAULTS.quantizer, top: topNamed ?? saved?.top ?? TRAIN_QUANTIZER_DEFAULTS.quantizer };
  const fsq = fsqLevelsText(flags);
  const has = (kind: QuantizerKind, option: QuantizerOption) => QUANTIZER_OPTIONS[kind].includes(option);
  const options: Record<QuantizerOption, unknown> = {
    codebookInit: flags.codebookInit, kmeansWarmup: flags.kmeansWarmup, restartDead: flags.restartDead, lookupDim: flags.lookupDim,
    cosine: flags.cosine ? true : undefined, gradient: flags.gradient, levels: fsq, depth: flags.depth,
  };
  for (const option of Object.keys(options) as QuantizerOption[]) {
    if (options[option] !== undefined && !has(kinds.bottom, option) && !has(kinds.top, option)) {
      const flag = option === 'levels' ? (flags.fsqLevels !== undefined ? 'fsq-levels' : 'levels') : QUANTIZER_OPTION_FLAGS[option];
      throw new UsageError(`--${flag} does not apply to either level (bottom ${kinds.bottom}, top ${kinds.top}; it applies to ${quantizersWith(option)})`);
    }
  }
  for (const [flag, value, option] of [['top-fsq-levels', flags.topFsqLevels, 'levels'], ['top-lookup-dim', flags.topLookupDim, 'lookupDim'], ['top-depth', flags.topDepth, 'depth']] as const) {
    if (value !== undefined && !has(kinds.top, option)) throw new UsageError(`--${flag} does not apply to a top level of kind ${kinds.top} (it applies to ${quantizersWith(option)})`);
  }
  const levelFlags = (level: 'top' | 'bottom'): QuantizerFlagValues => {
    const kind = kinds[level];
    const pick = <T>(option: QuantizerOption, value: T): T | undefined => (has(kind, option) ? value : undefined);
    return {
      quantizer: level === 'top' ? topNamed : flags.quantizer,
      ema: level === 'top' ? undefined : flags.ema,
      codebookInit: pick('codebookInit', flags.codebookInit),
      kmeansWarmup: pick('kmeansWarmup', flags.kmeansWarmup),
      restartDead: pick('restartDead', flags.restartDead),
      lookupDim: pick('lookupDim', level === 'top' ? flags.topLookupDim ?? flags.lookupDim : flags.lookupDim),
      cosine: pick('cosine', flags.cosine),
      gradient: pick('gradient', flags.gradient),
      fsqLevels: pick('levels', level === 'top' ? flags.topFsqLevels ?? fsq : fsq),
      depth: pick('depth', level === 'top' ? flags.topDepth ?? flags.depth : flags.depth),
    };
  };
  const top = levelFlags('top');
  if (kinds.top === 'fsq' && top.fsqLevels === undefined && topNamed !== undefined) {
    throw new UsageError(`a top level of kind fsq needs --top-fsq-levels (or --fsq-levels), e.g. --top-fsq-levels 8,5,5`);
  }
  if (flags.topLookupDim === undefined && top.lookupDim !== undefined && top.lookupDim > codeDims.top) {
    throw new UsageError(`--lookup-dim ${top.lookupDim} is larger than the top level's code dimension ${codeDims.top} (--top-code-dim): give --top-lookup-dim`);
  }
  if (flags.topLookupDim !== undefined && flags.topLookupDim > codeDims.top) {
    throw new UsageError(`--top-lookup-dim ${flags.topLookupDim} is larger than the top level's code dimension ${codeDims.top} (--top-code-dim)`);
  }
  const topFlags: Partial<Record<keyof ModelConfig, string>> = {
    quantizer: flags.topQuantizer !== undefined ? 'top-quantizer' : 'quantizer',
    levels: flags.topFsqLevels !== undefined ? 'top-fsq-levels' : flags.fsqLevels !== undefined ? 'fsq-levels' : 'levels',
    lookupDim: flags.topLookupDim !== undefined ? 'top-lookup-dim' : 'lookup-dim',
    depth: flags.topDepth !== undefined ? 'top-depth' : 'depth',
  };
  return { bottom: quantizerSettings(levelFlags('bottom'), codeDims.bottom, kinds.bottom), top: quantizerSettings(top, codeDims.top, kinds.top), topFlags };
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
