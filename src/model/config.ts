/**
 * The VQ-VAE's configuration: typed data with defaults in one place.
 *
 * Defaults are the reference sizes of van den Oord et al. 2017 (hidden 128, residual
 * hidden 32, 2 residual blocks, K = 512, D = 64, beta = 0.25). A config read
 * from disk is validated field by field: an unknown key or a wrong type is an
 * error, as nanoGPT's configurator does, so a typo never silently falls back
 * to a default.
 */
import type { ImageDataset } from '../data/dataset.js';
import { UserError } from '../errors.js';

/**
 * How the code of a vector is found: 'vq' (the paper's codebook loss), 'ema'
 * (the paper's appendix), 'simvq' (a frozen random codebook times a learned
 * linear map), 'fsq' (finite scalar quantization, `levels`) and 'rvq'
 * (residual VQ, `depth` codebooks). quantize/factory.ts builds each.
 */
export const QUANTIZER_KINDS = ['vq', 'ema', 'simvq', 'fsq', 'rvq'] as const;
export type QuantizerKind = (typeof QUANTIZER_KINDS)[number];

/** How a codebook starts: Sonnet's uniform draw, or k-means on the encoder's first outputs (quantize/kmeans.ts). */
export const CODEBOOK_INITS = ['uniform', 'kmeans'] as const;
export type CodebookInit = (typeof CODEBOOK_INITS)[number];

/** The config fields of the options of the quantizers, each with the value that means "off". */
export const QUANTIZER_OPTION_DEFAULTS = {
  codebookInit: 'uniform',
  kmeansWarmup: 0,
  restartDead: 0,
  lookupDim: 0,
  cosine: false,
  gradient: 'ste',
  levels: [] as number[],
  depth: 1,
} as const;
export type QuantizerOption = keyof typeof QUANTIZER_OPTION_DEFAULTS;

/** Which options each quantizer implements; any other option must keep its "off" value. */
export const QUANTIZER_OPTIONS: Record<QuantizerKind, readonly QuantizerOption[]> = {
  vq: ['codebookInit', 'kmeansWarmup', 'restartDead', 'lookupDim', 'cosine', 'gradient'],
  ema: ['codebookInit', 'kmeansWarmup', 'restartDead', 'lookupDim', 'cosine', 'gradient'],
  simvq: [],
  fsq: ['levels'],
  rvq: ['depth', 'restartDead'],
};

/** The gradient that passes the snap to a code: straight-through, or the rotation trick (quantize/rotation.ts). */
export const GRADIENTS = ['ste', 'rotation'] as const;
export type GradientEstimator = (typeof GRADIENTS)[number];

/**
 * The decoder's output distribution. 'mse': one value per pixel value, trained
 * on the squared error (a Gaussian of fixed variance). 'categorical': 256
 * logits per pixel value, trained on the cross-entropy of the true byte, so
 * -log p(x|z) is a proper discrete likelihood (bits per dimension).
 */
export type Likelihood = 'mse' | 'categorical';

export interface ModelConfig {
  /** Image channels: 1 (grey) or 3 (RGB). */
  inputChannels: number;
  /** Input height and width in pixels; each must divide by 2^downsamples. */
  imageHeight: number;
  imageWidth: number;
  /** Channels of the encoder and decoder trunks (h). */
  hidden: number;
  /** Channels inside a residual block. */
  resHidden: number;
  /** Number of residual blocks in each of the encoder and decoder. */
  resBlocks: number;
  /** Codebook size K. */
  codebookSize: number;
  /** Code dimension D. */
  codeDim: number;
  /** Number of stride-2 stages: 2 turns 28x28 into 7x7 codes, 32x32 into 8x8. */
  downsamples: number;
  /** 'vq': codebook learned by its loss; 'ema': codebook by moving averages (paper appendix). */
  quantizer: QuantizerKind;
  /** Commitment cost beta, equation 3. */
  beta: number;
  /** EMA decay gamma (ema only). */
  decay: number;
  /** Laplace smoothing of the EMA counts (ema only). */
  epsilon: number;
  /** The decoder's output distribution; 'mse' for models saved before it existed. */
  likelihood: Likelihood;
  /** How the codebook starts ('uniform' for models saved before it existed). */
  codebookInit: CodebookInit;
  /** With codebookInit 'kmeans': training steps before the k-means initialisation (0: before the first step; 0 for models saved before it existed). */
  kmeansWarmup: number;
  /** Restart a code whose running usage (1 = a fair share) falls below this; 0: never. */
  restartDead: number;
  /** Dimension d of the nearest-code search, through learned projections D → d → D; 0: search in D itself. */
  lookupDim: number;
  /** l2-normalise vectors and codes before the search (cosine similarity). */
  cosine: boolean;
  /** How the gradient passes the snap to a code. */
  gradient: GradientEstimator;
  /** FSQ only: levels per scalar, e.g. [8, 5, 5, 5]; K is their product. Empty for other quantizers. */
  levels: number[];
  /** RVQ only: the number of codebooks applied to the running residual; 1 for other quantizers. */
  depth: number;
}

export const DEFAULT_MODEL_CONFIG: Readonly<ModelConfig> = Object.freeze({
  inputChannels: 1,
  imageHeight: 28,
  imageWidth: 28,
  hidden: 128,
  resHidden: 32,
  resBlocks: 2,
  codebookSize: 512,
  codeDim: 64,
  downsamples: 2,
  quantizer: 'vq',
  beta: 0.25,
  decay: 0.99,
  epsilon: 1e-5,
  likelihood: 'mse',
  ...QUANTIZER_OPTION_DEFAULTS,
  levels: [],
});

type Check = (value: unknown) => string | undefined;

const oneOf = (values: readonly string[]): Check => (v) =>
  typeof v === 'string' && values.includes(v) ? undefined : `one of ${values.map((x) => `'${x}'`).join(', ')}`;

const positiveInt: Check = (v) =>
  typeof v === 'number' && Number.isInteger(v) && v >= 1 ? undefined : 'an integer >= 1';
const nonNegativeInt: Check = (v) =>
  typeof v === 'number' && Number.isInteger(v) && v >= 0 ? undefined : 'an integer >= 0';
const positiveNumber: Check = (v) =>
  typeof v === 'number' && Number.isFinite(v) && v > 0 ? undefined : 'a number > 0';
const nonNegativeNumber: Check = (v) =>
  typeof v === 'number' && Number.isFinite(v) && v >= 0 ? undefined : 'a number >= 0';

const CHECKS: Record<keyof ModelConfig, Check> = {
  inputChannels: (v) => (v === 1 || v === 3 ? undefined : '1 or 3'),
  imageHeight: positiveInt,
  imageWidth: positiveInt,
  hidden: (v) => positiveInt(v) ?? ((v as number) % 2 === 0 ? undefined : 'an even integer (the first stage has hidden/2 channels)'),
  resHidden: positiveInt,
  resBlocks: nonNegativeInt,
  codebookSize: positiveInt,
  codeDim: positiveInt,
  downsamples: positiveInt,
  quantizer: oneOf(QUANTIZER_KINDS),
  beta: nonNegativeNumber,
  decay: (v) => (typeof v === 'number' && v > 0 && v < 1 ? undefined : 'a number in (0, 1)'),
  epsilon: positiveNumber,
  likelihood: oneOf(['mse', 'categorical']),
  codebookInit: oneOf(CODEBOOK_INITS),
  kmeansWarmup: nonNegativeInt,
  restartDead: (v) => (typeof v === 'number' && v >= 0 && v < 1 ? undefined : 'a number in [0, 1) (0: no restarts)'),
  lookupDim: nonNegativeInt,
  cosine: (v) => (typeof v === 'boolean' ? undefined : 'true or false'),
  gradient: oneOf(GRADIENTS),
  levels: (v) =>
    Array.isArray(v) && v.every((l) => typeof l === 'number' && Number.isInteger(l) && l >= 2) ? undefined : 'a list of integers >= 2',
  depth: positiveInt,
};

/** Keys that configs written before they existed may lack, with the value those configs meant. */
const ADDED_LATER: Partial<ModelConfig> = { likelihood: 'mse', ...QUANTIZER_OPTION_DEFAULTS, levels: [] };

/** The spatial size of the code grid for a config. */
export function codeGridSize(config: ModelConfig): [number, number] {
  const f = 2 ** config.downsamples;
  return [config.imageHeight / f, config.imageWidth / f];
}

/**
 * Checks a complete config object (from flags or from config.json) and
 * returns it typed. `source` names where it came from, for the message.
 */
export function validateModelConfig(value: unknown, source = 'model config'): ModelConfig {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UserError(`${source}: expected an object, found ${JSON.stringify(value)}`);
  }
  const record = value as Record<string, unknown>;
  const known = Object.keys(CHECKS);
  for (const key of Object.keys(record)) {
    if (!known.includes(key)) {
      throw new UserError(`${source}: unknown key "${key}"; valid keys are ${known.join(', ')}`);
    }
  }
  const withDefaults: Record<string, unknown> = { ...ADDED_LATER, ...record };
  for (const key of known as (keyof ModelConfig)[]) {
    if (!(key in withDefaults)) throw new UserError(`${source}: missing key "${key}"`);
    const problem = CHECKS[key](withDefaults[key]);
    if (problem) {
      throw new UserError(`${source}: "${key}" must be ${problem}, found ${JSON.stringify(withDefaults[key])}`);
    }
  }
  const config = withDefaults as unknown as ModelConfig;
  const f = 2 ** config.downsamples;
  if (config.imageHeight % f !== 0 || config.imageWidth % f !== 0) {
    throw new UserError(
      `${source}: image size ${config.imageHeight}x${config.imageWidth} must divide by 2^downsamples = ${f}`,
    );
  }
  checkQuantizerConfig(config, source);
  return { ...config, levels: [...config.levels] };
}

/** The quantizers that implement an option, for messages: "vq, ema". */
export function quantizersWith(option: QuantizerOption): string {
  return QUANTIZER_KINDS.filter((q) => QUANTIZER_OPTIONS[q].includes(option)).join(', ');
}

/** The quantizer settings that only make sense together, checked across fields. */
function checkQuantizerConfig(config: ModelConfig, source: string): void {
  if (config.quantizer !== 'rvq' && config.depth !== 1) {
    throw new UserError(`${source}: "depth" ${config.depth} applies to the rvq quantizer only; the ${config.quantizer} quantizer has depth 1`);
  }
  if (config.lookupDim > config.codeDim) {
    throw new UserError(`${source}: "lookupDim" ${config.lookupDim} must be at most the code dimension ${config.codeDim}`);
  }
  if (config.kmeansWarmup > 0 && config.codebookInit !== 'kmeans') {
    throw new UserError(`${source}: "kmeansWarmup" ${config.kmeansWarmup} needs "codebookInit" 'kmeans', found '${config.codebookInit}'`);
  }
  const allowed = QUANTIZER_OPTIONS[config.quantizer];
  for (const key of Object.keys(QUANTIZER_OPTION_DEFAULTS) as QuantizerOption[]) {
    const off = QUANTIZER_OPTION_DEFAULTS[key];
    const value = config[key];
    const isOff = Array.isArray(off) ? (value as number[]).length === 0 : value === off;
    if (!allowed.includes(key) && !isOff) {
      throw new UserError(`${source}: "${key}" does not apply to the ${config.quantizer} quantizer (it applies to ${quantizersWith(key)})`);
    }
  }
  if (config.quantizer === 'fsq') {
    if (config.levels.length === 0) throw new UserError(`${source}: "levels" must be given for the fsq quantizer`);
    const product = config.levels.reduce((a, b) => a * b, 1);
    if (config.codebookSize !== product) {
      throw new UserError(
        `${source}: "codebookSize" must be the product of the FSQ levels ${config.levels.join(',')} = ${product}, found ${config.codebookSize}`,
      );
    }
  }
}

/** Defaults overridden by `overrides`, then validated. */
export function makeModelConfig(overrides: Partial<ModelConfig> = {}): ModelConfig {
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  return validateModelConfig({ ...DEFAULT_MODEL_CONFIG, ...defined });
}

/** Throws unless the data's images have the size and channels the model in `modelDir` expects. */
export function checkDataFitsModel(data: ImageDataset, config: ModelConfig, modelDir: string): void {
  const want = `${config.imageHeight}x${config.imageWidth}x${config.inputChannels}`;
  const found = `${data.height}x${data.width}x${data.channels}`;
  if (want !== found) {
    throw new UserError(
      `${data.spec} has ${found} images (height x width x channels) but the model in ${modelDir} expects ${want}` +
        (data.channels === config.inputChannels ? '; for a folder, --resize can make them fit' : ''),
    );
  }
}
