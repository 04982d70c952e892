/**
 * The priors of a two-level model (model/hierarchical.ts) scored on a data
 * set's codes, as `vqvae eval --prior TOP --bottom-prior BOTTOM` reports them
 * (cli/evalLevels.ts): each prior's negative log-likelihood in bits per code
 * (the bottom one given the top codes), and with both priors and
 * `--likelihood categorical` the bound of VQ-VAE-2's bits per dimension,
 *
 *   (-log p(x | z_t, z_b) - log p(z_t) - log p(z_b | z_t)) / (H W C ln 2),
 *
 * averaged over the images (the paper reports 4.67 bits/dim on CIFAR-10).
 * Each prior is checked to be for its level, of this model (prior/levels.ts).
 */
import type { ImageDataset } from '../data/dataset.js';
import { UserError } from '../errors.js';
import type { HierarchicalVqVae } from '../model/hierarchical.js';
import { loadPrior } from '../prior/checkpoint.js';
import type { CodeSet } from '../prior/codeSet.js';
import { checkLevelCodesForPrior, checkLevelPrior, modelIdentity, type PriorLevel } from '../prior/levels.js';
import { priorNll, type NllResult } from '../prior/nll.js';
import type { PixelCnn } from '../prior/pixelcnn.js';

export interface LevelPriors {
  top?: PixelCnn;
  bottom?: PixelCnn;
}

/** Both levels' codes of a data set's images, row-major [count, h, w] each. */
export interface LevelCodes {
  top: Int32Array;
  bottom: Int32Array;
}

/** Throws unless the images' labels suit a class-conditional prior (`what` names it). */
function checkLabelsFit(data: ImageDataset, prior: PixelCnn, what: string): void {
  const classes = prior.config.numClasses;
  if (classes === 0) return;
  const bad = data.labels.findIndex((v) => v < 0 || v >= classes);
  if (bad < 0) return;
  const label = data.labels[bad]!;
  throw new UserError(
    label < 0
      ? `${what} is class-conditional but ${data.spec} has no label for image ${bad}`
      : `${data.spec}: label ${label} of image ${bad} is out of range for ${what} (${classes} classes)`,
  );
}

/** The priors given, loaded and checked against the model and the data (each for its level, of this model). */
export async function loadLevelPriors(
  model: HierarchicalVqVae,
  modelDir: string,
  dirs: { prior?: string; bottomPrior?: string },
  data: ImageDataset,
): Promise<LevelPriors> {
  const id = modelIdentity(model);
  const priors: LevelPriors = {};
  try {
    for (const [level, dir, flag] of [['top', dirs.prior, '--prior'], ['bottom', dirs.bottomPrior, '--bottom-prior']] as [PriorLevel, string | undefined, string][]) {
      if (dir === undefined) continue;
      checkLevelCodesForPrior(model, level, modelDir);
      const prior = await loadPrior(dir);
      priors[level] = prior;
      checkLevelPrior(prior.config, level, id, dir, modelDir, flag);
      checkLabelsFit(data, prior, `the ${level} prior in ${dir}`);
    }
  } catch (error) {
    priors.top?.dispose();
    priors.bottom?.dispose();
    throw error;
  }
  return priors;
}

export interface LevelPriorFigures {
  top?: NllResult;
  bottom?: NllResult;
  /** The bound in bits per dimension: with both priors and a categorical likelihood. */
  bitsPerDim?: number;
}

/**
 * Each prior's NLL of the codes of `data`'s images (the bottom one given the
 * top codes), and with both and `reconstructionNats` (-log p(x|z) per pixel
 * value, in nats) the bound in bits per dimension.
 */
export function levelPriorFigures(
  model: HierarchicalVqVae,
  priors: LevelPriors,
  data: ImageDataset,
  codes: LevelCodes,
  reconstructionNats?: number,
  onProgress?: (level: PriorLevel, done: number, total: number) => void,
): LevelPriorFigures {
  const grids = model.grids;
  const set = (level: PriorLevel, prior: PixelCnn): CodeSet => ({
    source: data.spec,
    count: data.count,
    height: grids[level][0],
    width: grids[level][1],
    codes: codes[level],
    labels: prior.config.numClasses > 0 ? data.labels : undefined,
    ...(level === 'bottom' ? { top: { height: grids.top[0], width: grids.top[1], codes: codes.top } } : {}),
  });
  const figures: LevelPriorFigures = {};
  for (const level of ['top', 'bottom'] as const) {
    const prior = priors[level];
    if (prior) figures[level] = priorNll(prior, set(level, prior), { onProgress: (done, total) => onProgress?.(level, done, total) });
  }
  if (figures.top && figures.bottom && reconstructionNats !== undefined) {
    const { imageHeight: H, imageWidth: W, inputChannels: C } = model.config.model;
    figures.bitsPerDim = boundBitsPerDim(H * W * C, reconstructionNats, [
      { natsPerCode: figures.top.natsPerCode, codes: grids.top[0] * grids.top[1] },
      { natsPerCode: figures.bottom.natsPerCode, codes: grids.bottom[0] * grids.bottom[1] },
    ]);
  }
  return figures;
}

/**
 * The bound in bits per dimension of an image of `dims` pixel values:
 * (-log p(x|z) - sum over levels of log p(z_level)) / (dims ln 2), from
 * -log p(x|z) per pixel value and each level's prior NLL per code, in nats.
 */
export function boundBitsPerDim(dims: number, reconstructionNats: number, levels: readonly { natsPerCode: number; codes: number }[]): number {
  const codeNats = levels.reduce((sum, l) => sum + l.natsPerCode * l.codes, 0);
  return (reconstructionNats * dims + codeNats) / (dims * Math.LN2);
}
