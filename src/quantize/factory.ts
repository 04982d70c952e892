/**
 * Every quantizer of a model is built here, from its config: `makeQuantizer`
 * picks the class of `config.quantizer` and passes it the options that kind
 * implements (model/config.ts QUANTIZER_OPTIONS says which; the config check
 * has already refused the others). With `lookupDim` the quantizer searches
 * in that many dimensions behind learned projections (projection.ts).
 */
import { UserError } from '../errors.js';
import type { ModelConfig, QuantizerKind } from '../model/config.js';
import { FiniteScalarQuantizer } from './fsq.js';
import { ProjectedQuantizer } from './projection.js';
import { ResidualVQ } from './rvq.js';
import { SimVQ } from './simvq.js';
import type { Quantizer } from './types.js';
import { VectorQuantizer } from './vectorQuantizer.js';
import { VectorQuantizerEMA } from './vectorQuantizerEma.js';

type Maker = (config: ModelConfig, codeDim: number, seed: number, name: string) => Quantizer;

/** The quantizer kinds this build implements, by name. */
const MAKERS: Partial<Record<QuantizerKind, Maker>> = {
  vq: (c, codeDim, seed, name) =>
    new VectorQuantizer({ codebookSize: c.codebookSize, codeDim, beta: c.beta, seed, name, cosine: c.cosine, gradient: c.gradient, restartDead: c.restartDead }),
  ema: (c, codeDim, seed, name) =>
    new VectorQuantizerEMA({
      codebookSize: c.codebookSize, codeDim, beta: c.beta, decay: c.decay, epsilon: c.epsilon, seed, name,
      cosine: c.cosine, gradient: c.gradient, restartDead: c.restartDead,
    }),
  simvq: (c, codeDim, seed, name) => new SimVQ({ codebookSize: c.codebookSize, codeDim, beta: c.beta, seed, name }),
  fsq: (c, codeDim, seed, name) => new FiniteScalarQuantizer({ levels: c.levels, codeDim, seed, name }),
  // Each layer a VQ layer (its restarts included); one straight-through estimator over the whole sum.
  rvq: (c, codeDim, seed, name) =>
    new ResidualVQ({
      codebookSize: c.codebookSize, codeDim, depth: c.depth, beta: c.beta, seed, name,
      layer: (_i, o) => new VectorQuantizer({ ...o, restartDead: c.restartDead }),
    }),
};

/** Names accepted by `--quantizer`, in the order help lists them. */
export const AVAILABLE_QUANTIZERS: readonly QuantizerKind[] = Object.keys(MAKERS) as QuantizerKind[];

/**
 * The quantizer of a (validated) model config; `seed` sets its initial
 * codebook, `name` prefixes its variables (`quantizer.codebook`; a level of
 * the two-level model passes `quantizer.top` or `quantizer.bottom`).
 */
export function makeQuantizer(config: ModelConfig, seed: number, name = 'quantizer'): Quantizer {
  const make = MAKERS[config.quantizer];
  if (!make) {
    throw new UserError(`quantizer "${config.quantizer}" is not available in this build; available: ${AVAILABLE_QUANTIZERS.join(', ')}`);
  }
  if (config.lookupDim > 0 && config.lookupDim !== config.codeDim) {
    return new ProjectedQuantizer(make(config, config.lookupDim, seed, name), config.codeDim, seed + 1, name);
  }
  return make(config, config.codeDim, seed, name);
}
