/**
 * The PixelCNN prior's configuration: typed data with defaults in one place,
 * validated field by field (an unknown key or a wrong type is an error, as in
 * the VQ-VAE's model/config.ts).
 *
 * The prior models a grid of code indices [h, w] with values in 0..K-1:
 * 7x7 for 28x28 images, 8x8 for 32x32. `layers` counts the gated layers after
 * the first one, whose masks exclude the current position (mask A), so the
 * network has layers + 1 gated layers in all.
 *
 * A bottom-level prior of the two-level model (model/hierarchical.ts) is also
 * conditioned on the top level's code grid: topCodebookSize > 0 with the top
 * grid's topHeight x topWidth (0, 0, 0 for every other prior, and for configs
 * written before these keys existed).
 *
 * A prior trained for a level of a two-level model (`vqvae prior train
 * --level`, prior/levels.ts) also records that `level` ("top" or "bottom";
 * a bottom prior has the top grid) and `model`, the identity of the model
 * whose codes it models; both are absent for every other prior.
 */
import { UserError } from '../errors.js';

/** A level of the two-level model. */
export type PriorLevel = 'top' | 'bottom';

export interface PriorConfig {
  /** K of the VQ-VAE: the number of values a code takes. */
  codebookSize: number;
  /** Code grid height h (7 for 28x28 images). */
  height: number;
  /** Code grid width w. */
  width: number;
  /** Feature width of the vertical and horizontal stacks. */
  channels: number;
  /** Gated layers after the first (mask A) one. */
  layers: number;
  /** Odd: the vertical stack's kernel is (k//2+1) x k, the horizontal stack's 1 x (k//2+1). */
  kernelSize: number;
  /** 0: unconditional; N > 0: conditioned on a class label in 0..N-1. */
  numClasses: number;
  /** 0: no top grid; Kt > 0: conditioned on a top-level code grid with values in 0..Kt-1. */
  topCodebookSize: number;
  /** The top grid's height and width (0 without one); at most height, width. */
  topHeight: number;
  topWidth: number;
  /** The level of a two-level model this prior is for (absent: a one-level prior, or one made in the library). */
  level?: PriorLevel;
  /** prior/levels.ts's modelIdentity of that model (only with `level`). */
  model?: string;
}

export const DEFAULT_PRIOR_CONFIG = Object.freeze({ channels: 64, layers: 8, kernelSize: 3, numClasses: 0, topCodebookSize: 0, topHeight: 0, topWidth: 0 });

/** Keys that configs written before they existed lack, with the value those configs meant. */
const ADDED_LATER: Partial<PriorConfig> = { topCodebookSize: 0, topHeight: 0, topWidth: 0 };

type Check = (value: unknown) => string | undefined;
/** Keys that may be absent; checked when present. */
const OPTIONAL: Record<'level' | 'model', Check> = {
  level: (v) => (v === 'top' || v === 'bottom' ? undefined : '"top" or "bottom"'),
  model: (v) => (typeof v === 'string' && /^[0-9a-f]{16}$/.test(v) ? undefined : 'a model identity (16 hex digits)'),
};
const positiveInt: Check = (v) => (typeof v === 'number' && Number.isInteger(v) && v >= 1 ? undefined : 'an integer >= 1');
const nonNegativeInt: Check = (v) => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? undefined : 'an integer >= 0');

const CHECKS: Record<Exclude<keyof PriorConfig, keyof typeof OPTIONAL>, Check> = {
  codebookSize: (v) => positiveInt(v) ?? ((v as number) >= 2 ? undefined : 'an integer >= 2'),
  height: positiveInt,
  width: positiveInt,
  channels: positiveInt,
  layers: nonNegativeInt,
  kernelSize: (v) => positiveInt(v) ?? ((v as number) % 2 === 1 && (v as number) >= 3 ? undefined : 'an odd integer >= 3'),
  numClasses: nonNegativeInt,
  topCodebookSize: nonNegativeInt,
  topHeight: nonNegativeInt,
  topWidth: nonNegativeInt,
};

/** Checks a complete config (from flags or config.json) and returns a typed copy. */
export function validatePriorConfig(value: unknown, source = 'prior config'): PriorConfig {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UserError(`${source}: expected an object, found ${JSON.stringify(value)}`);
  }
  const record = value as Record<string, unknown>;
  const required = Object.keys(CHECKS) as (keyof typeof CHECKS)[];
  const known = [...required, ...Object.keys(OPTIONAL)];
  for (const key of Object.keys(record)) {
    if (!known.includes(key)) throw new UserError(`${source}: unknown key "${key}"; valid keys are ${known.join(', ')}`);
  }
  const full: Record<string, unknown> = { ...ADDED_LATER, ...record };
  for (const key of required) {
    if (!(key in full)) throw new UserError(`${source}: missing key "${key}"`);
    const problem = CHECKS[key](full[key]);
    if (problem) throw new UserError(`${source}: "${key}" must be ${problem}, found ${JSON.stringify(full[key])}`);
  }
  for (const key of Object.keys(OPTIONAL) as (keyof typeof OPTIONAL)[]) {
    if (full[key] === undefined) {
      delete full[key];
      continue;
    }
    const problem = OPTIONAL[key](full[key]);
    if (problem) throw new UserError(`${source}: "${key}" must be ${problem}, found ${JSON.stringify(full[key])}`);
  }
  const config = full as unknown as PriorConfig;
  if ((config.level === undefined) !== (config.model === undefined)) {
    throw new UserError(`${source}: "level" and "model" go together (a prior for a level of a two-level model records both)`);
  }
  if (config.level !== undefined && (config.level === 'bottom') !== config.topCodebookSize > 0) {
    throw new UserError(`${source}: a ${config.level}-level prior ${config.level === 'bottom' ? 'needs' : 'has no'} a top grid ("topCodebookSize")`);
  }
  if (config.topCodebookSize > 0) {
    if (config.topHeight < 1 || config.topWidth < 1 || config.topHeight > config.height || config.topWidth > config.width) {
      throw new UserError(
        `${source}: the top grid ${config.topHeight}x${config.topWidth} must be at least 1x1 and at most the grid ${config.height}x${config.width}`,
      );
    }
  } else if (config.topHeight !== 0 || config.topWidth !== 0) {
    throw new UserError(`${source}: "topHeight" and "topWidth" must be 0 without a top grid ("topCodebookSize" 0)`);
  }
  return { ...config };
}

/** The defaults overridden by `config` (grid and K are required), validated. */
export function makePriorConfig(
  config: Pick<PriorConfig, 'codebookSize' | 'height' | 'width'> & Partial<PriorConfig>,
): PriorConfig {
  const defined = Object.fromEntries(Object.entries(config).filter(([, v]) => v !== undefined));
  return validatePriorConfig({ ...DEFAULT_PRIOR_CONFIG, ...defined });
}

/** The config as a prior directory's config.json holds it: without the top-grid keys when there is no top grid, as before they existed. */
export function priorConfigForFile(config: PriorConfig): Partial<PriorConfig> {
  if (config.topCodebookSize > 0) return { ...config };
  const { topCodebookSize: _k, topHeight: _h, topWidth: _w, ...rest } = config;
  return rest;
}
