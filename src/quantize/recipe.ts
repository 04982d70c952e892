/**
 * The quantizer recipe of a new `vqvae train` run: the default recipe
 * (chosen from `npm run bench:codebook`, README "Codebook health") for every
 * option the chosen quantizer has and the command line leaves out; and on
 * --resume, the check that quantizer flags given match the saved model.
 */
import { UserError } from '../errors.js';
import { DEFAULT_MODEL_CONFIG, QUANTIZER_OPTIONS, type ModelConfig, type QuantizerOption } from '../model/config.js';

/**
 * The recipe `vqvae train` uses unless told otherwise, chosen from
 * `npm run bench:codebook` (README, "Codebook health"): moving-average codes
 * that follow the encoder faster than the paper's (decay 0.9, as against
 * 0.99) with dead-code restarts. The paper's recipe is
 * `--quantizer vq --codebook-init uniform --gradient ste`.
 */
export const TRAIN_QUANTIZER_DEFAULTS = {
  quantizer: 'ema',
  codebookInit: 'uniform',
  gradient: 'ste',
  restartDead: 0.05,
  decay: 0.9,
} as const satisfies Partial<ModelConfig>;

/** The `vqvae train` flag of each quantizer option. */
export const QUANTIZER_OPTION_FLAGS: Record<QuantizerOption, string> = {
  codebookInit: 'codebook-init',
  kmeansWarmup: 'kmeans-warmup',
  restartDead: 'restart-dead',
  lookupDim: 'lookup-dim',
  cosine: 'cosine',
  gradient: 'gradient',
  levels: 'levels',
  depth: 'depth',
};

/**
 * A new run's quantizer fields: those given, and for the rest, where the
 * chosen quantizer has that option, the default recipe's when no quantizer
 * was named, or the option off (the library's default: the paper's setting)
 * when one was; so `--quantizer vq` alone is the paper's recipe and `--ema`
 * the paper's appendix (and its EMA decay, unless `given.decay`). FSQ's K is
 * the product of its levels.
 */
export function withTrainDefaults(given: Partial<ModelConfig>): Partial<ModelConfig> {
  const kind = given.quantizer ?? TRAIN_QUANTIZER_DEFAULTS.quantizer;
  const out: Partial<ModelConfig> = { quantizer: kind };
  const defaults: Partial<ModelConfig> = given.quantizer === undefined ? TRAIN_QUANTIZER_DEFAULTS : {};
  for (const option of Object.keys(QUANTIZER_OPTION_FLAGS) as QuantizerOption[]) {
    const value = given[option] ?? (QUANTIZER_OPTIONS[kind].includes(option) ? defaults[option] : undefined);
    if (value !== undefined) (out as Record<string, unknown>)[option] = value;
  }
  const decay = given.decay ?? (kind === 'ema' ? defaults.decay : undefined);
  if (decay !== undefined) out.decay = decay;
  if (kind === 'fsq' && out.levels) out.codebookSize = out.levels.reduce((a, b) => a * b, 1);
  return out;
}

/** The quantizer of a config in a few words, for logs and reports: "vq, kmeans init, rotation". */
export function describeQuantizer(c: ModelConfig): string {
  const parts: string[] = [c.quantizer];
  if (c.quantizer === 'fsq') parts.push(`levels ${c.levels.join(',')}`);
  if (c.quantizer === 'rvq') parts.push(`depth ${c.depth}`);
  if (c.quantizer === 'ema') parts.push(`decay ${c.decay}`);
  if (c.codebookInit !== DEFAULT_MODEL_CONFIG.codebookInit) parts.push(`${c.codebookInit} init${c.kmeansWarmup > 0 ? ` after ${c.kmeansWarmup} steps` : ''}`);
  if (c.restartDead > 0) parts.push(`restart dead < ${c.restartDead}`);
  if (c.lookupDim > 0) parts.push(`lookup dim ${c.lookupDim}`);
  if (c.cosine) parts.push('cosine');
  parts.push(c.gradient === 'rotation' ? 'rotation trick' : 'straight-through');
  return parts.join(', ');
}

/**
 * With --resume: a quantizer flag given must match the saved model (with
 * `level`, that level of a two-level model, `flags` naming the flag behind
 * each field where it is not the one-level flag).
 */
export function checkResumeQuantizer(
  given: Partial<ModelConfig>,
  saved: ModelConfig,
  out: string,
  options: { level?: string; flags?: Partial<Record<keyof ModelConfig, string>> } = {},
): void {
  for (const key of ['quantizer', ...Object.keys(QUANTIZER_OPTION_FLAGS)] as (keyof ModelConfig)[]) {
    const value = given[key];
    if (value === undefined) continue;
    if (JSON.stringify(value) !== JSON.stringify(saved[key])) {
      const flag = options.flags?.[key] ?? (key === 'quantizer' ? 'quantizer' : QUANTIZER_OPTION_FLAGS[key as QuantizerOption]);
      const setting = key === 'quantizer' ? 'quantizer' : QUANTIZER_OPTION_FLAGS[key as QuantizerOption];
      const show = (v: unknown) => (Array.isArray(v) ? v.join(',') : String(v));
      const what = options.level ? `the ${options.level} level of the model in ${out}` : `the model in ${out}`;
      throw new UserError(`--${flag} ${show(value)} does not match ${what} (${setting} ${show(saved[key])}); leave it out to resume`);
    }
  }
}

/** A recipe as the flags that give it: "--quantizer vq --codebook-init kmeans --gradient rotation". */
export function describeRecipe(recipe: Partial<ModelConfig>): string {
  return Object.entries(recipe)
    .map(([key, value]) => `--${key === 'quantizer' || key === 'decay' ? key : QUANTIZER_OPTION_FLAGS[key as QuantizerOption]} ${value}`)
    .join(' ');
}
