/**
 * Priors of the two-level model (model/hierarchical.ts, README "Two levels"):
 * which level a prior is for, the grid and K it models there, and the
 * identity of the model whose codes it was trained on, so that a prior given
 * for the wrong level, or one from another model, is refused in one line
 * before anything slow starts. Node only (hashes with node:crypto).
 *
 * A level prior's config (config.ts) records `level` ("top" or "bottom") and
 * `model`: `modelIdentity` of the model, a SHA-256 digest (first 16 hex
 * digits) of the model's config and both levels' codebooks (and the
 * variables that map a code to its vector where a level has them: SimVQ's
 * transform, FSQ's and a lookup dimension's projections). The codebooks
 * fix what each code means (a model trained further, or another model with
 * the same sizes, has other codebooks), the config fixes the grids and K;
 * the digest does not depend on where the directory lies or on its
 * checkpoint_id, so a copied or re-saved model keeps it.
 */
import { createHash } from 'node:crypto';
import { UserError } from '../errors.js';
import type { HierarchicalVqVae } from '../model/hierarchical.js';
import { hierarchicalConfigForFile } from '../model/hierarchicalFile.js';
import type { CodeSet } from './codeSet.js';
import { maxOf, readCodeSet, residualCodesError } from './codeFile.js';
import type { PriorConfig, PriorLevel } from './config.js';

export type { PriorLevel } from './config.js';

/** The digest that names a two-level model: its config and both codebooks. */
export function modelIdentity(model: HierarchicalVqVae): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify(hierarchicalConfigForFile(model.config)));
  for (const quantizer of [model.topQuantizer, model.bottomQuantizer]) {
    // A plain vq or ema level: its codebook alone, as before other kinds existed.
    const state = { ...quantizer.state(), ...quantizer.trainable() };
    const trainable = quantizer.trainable();
    for (const name of Object.keys(state).filter((n) => /[._]codebook$/.test(n) || n in trainable).sort()) {
      hash.update(name);
      hash.update(new Uint8Array(state[name]!.dataSync<'float32'>().slice().buffer));
    }
  }
  return hash.digest('hex').slice(0, 16);
}

/**
 * Refuses, in one line naming `modelDir`, a prior for `level` of a model
 * whose codes there are residual (an rvq level, [N, h, w, depth]) as one
 * level does (prior/codeFile.ts): the top prior needs the top codes, the
 * bottom prior the bottom codes and the top ones it is conditioned on.
 */
export function checkLevelCodesForPrior(model: HierarchicalVqVae, level: PriorLevel, modelDir: string): void {
  const needs: PriorLevel[] = level === 'top' ? ['top'] : ['bottom', 'top'];
  for (const l of needs) {
    const c = model.levelConfigs[l];
    if (c.quantizer === 'rvq') {
      throw residualCodesError(`the ${level} prior of the model in ${modelDir}: its ${l} level is residual (rvq, depth ${c.depth})`);
    }
  }
}

/** What a prior for `level` of a two-level model models: K and the grid, and for the bottom level the top grid it is conditioned on. */
export interface LevelSpec {
  level: PriorLevel;
  /** modelIdentity of the model. */
  model: string;
  codebookSize: number;
  grid: [number, number];
  top?: { codebookSize: number; grid: [number, number] };
}

export function levelSpec(model: HierarchicalVqVae, level: PriorLevel): LevelSpec {
  const grids = model.grids;
  const { top, model: bottom } = model.config;
  const id = modelIdentity(model);
  if (level === 'top') return { level, model: id, codebookSize: top.codebookSize, grid: grids.top };
  return { level, model: id, codebookSize: bottom.codebookSize, grid: grids.bottom, top: { codebookSize: top.codebookSize, grid: grids.top } };
}

/** The level spec a saved level prior records (for --resume without --model). */
export function savedLevelSpec(config: PriorConfig): LevelSpec | undefined {
  if (!config.level || config.model === undefined) return undefined;
  const spec: LevelSpec = { level: config.level, model: config.model, codebookSize: config.codebookSize, grid: [config.height, config.width] };
  if (config.level === 'bottom') spec.top = { codebookSize: config.topCodebookSize, grid: [config.topHeight, config.topWidth] };
  return spec;
}

/** The config fields of a prior for this level. */
export function levelConfigFields(spec: LevelSpec): Partial<PriorConfig> {
  return {
    level: spec.level,
    model: spec.model,
    codebookSize: spec.codebookSize,
    height: spec.grid[0],
    width: spec.grid[1],
    ...(spec.top ? { topCodebookSize: spec.top.codebookSize, topHeight: spec.top.grid[0], topWidth: spec.top.grid[1] } : {}),
  };
}

/** "a top-level prior", "a one-level prior": what a prior config says it is. */
export function describePriorLevel(config: PriorConfig): string {
  return config.level ? `the ${config.level}-level prior of a two-level model` : 'a one-level prior (trained without --level)';
}

/**
 * Throws unless the prior in `dir` (its config) is the `level` prior of the
 * model named `modelId` (in `modelDir`); `flag` is how the prior was given.
 */
export function checkLevelPrior(config: PriorConfig, level: PriorLevel, modelId: string, dir: string, modelDir: string, flag: string): void {
  if (config.level !== level) {
    const hint = config.level ? `; give it as ${config.level === 'top' ? '--prior' : '--bottom-prior'}` : `; train one with \`vqvae prior train --level ${level}\``;
    throw new UserError(`${flag} ${dir}: this is ${describePriorLevel(config)}, not a ${level}-level prior${hint}`);
  }
  if (config.model !== modelId) {
    throw new UserError(
      `${flag} ${dir}: this ${level}-level prior was trained on the codes of another model (model ${config.model}), not the model in ${modelDir} (model ${modelId})`,
    );
  }
}

/** Throws unless every code is below K (readCodeSet has checked they are >= 0). */
function checkBelow(codes: Int32Array, K: number, what: string, level: PriorLevel): void {
  const max = maxOf(codes);
  if (max >= K) throw new UserError(`${what}: code ${max} is out of range for the ${level} level, whose codebook has ${K} codes (0..${K - 1})`);
}

/** The first `limit` grids of a set (all without a limit). */
function firstGrids(set: CodeSet, limit: number | undefined): CodeSet {
  const count = Math.min(set.count, limit ?? set.count);
  if (count === set.count) return set;
  const top = set.top ? { ...set.top, codes: set.top.codes.subarray(0, count * set.top.height * set.top.width) } : undefined;
  return {
    ...set,
    count,
    codes: set.codes.subarray(0, count * set.height * set.width),
    ...(set.labels ? { labels: set.labels.subarray(0, count) } : {}),
    ...(top ? { top } : {}),
  };
}

/**
 * The codes (and labels) of one level, checked against the level's grid and
 * K; for the bottom level joined with the top codes of the same images
 * (`topFile`), checked against the top grid and K and counted against them.
 * `flags` names the flags of the files, for messages.
 */
export function readLevelCodes(
  spec: LevelSpec,
  files: { codes: string; labels?: string; top?: string },
  flags: { codes: string; top: string },
  modelDir: string | undefined,
  limit?: number,
): CodeSet {
  const where = modelDir !== undefined ? `the model in ${modelDir}` : 'the model of this prior';
  // The grid first (a file of the other level is the likely mistake), then the range of the codes.
  const data = readCodeSet(files.codes, files.labels);
  const [h, w] = spec.grid;
  if (data.height !== h || data.width !== w) {
    const other = spec.level === 'top' ? 'bottom' : 'top';
    throw new UserError(
      `${flags.codes} ${files.codes}: grids are ${data.height}x${data.width} but the ${spec.level} level of ${where} makes ${h}x${w} codes` +
        ` (--level ${spec.level} takes the ${spec.level} codes, e.g. codes.${spec.level}.npy, not the ${other} ones)`,
    );
  }
  checkBelow(data.codes, spec.codebookSize, `${flags.codes} ${files.codes}`, spec.level);
  if (!spec.top) return firstGrids(data, limit);
  if (files.top === undefined) throw new UserError(`${flags.top} is needed with --level bottom: the top codes of the same images (e.g. codes.top.npy)`);
  const top = readCodeSet(files.top);
  const [ht, wt] = spec.top.grid;
  if (top.height !== ht || top.width !== wt) {
    throw new UserError(`${flags.top} ${files.top}: grids are ${top.height}x${top.width} but the top level of ${where} makes ${ht}x${wt} codes`);
  }
  checkBelow(top.codes, spec.top.codebookSize, `${flags.top} ${files.top}`, 'top');
  if (top.count !== data.count) {
    throw new UserError(`${flags.top} ${files.top}: ${top.count} top grids, but ${files.codes} has ${data.count} bottom grids: they must be the codes of the same images`);
  }
  return firstGrids({ ...data, top: { height: ht, width: wt, codes: top.codes } }, limit);
}
