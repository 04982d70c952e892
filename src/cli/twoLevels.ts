/**
 * What `vqvae eval`, `encode`, `decode` and `reconstruct` do with a two-level
 * model directory (format vqvae2, model/hierarchicalFile.ts, `vqvae train
 * --levels 2`): those commands look at the model first (modelLevels) and
 * hand it here.
 *
 * - eval: test MSE and PSNR as for one level, and per level (JSON `levels`:
 *   `{ top: {...}, bottom: {...} }`) codebook_size, codes_used,
 *   codes_used_fraction, dead_codes and perplexity over the whole split;
 *   --usage-out F.npy writes F.top.npy and F.bottom.npy;
 * - encode: `--out codes.npy` writes codes.top.npy int32 [N, ht, wt] and
 *   codes.bottom.npy int32 [N, hb, wb] (model/hierarchicalCodes.ts
 *   levelCodePaths), the plain name not at all; an rvq level's file is
 *   [N, h, w, depth], as a one-level rvq model's codes;
 * - decode: --codes (bottom) and --top-codes (top), each checked against its
 *   level's grid and codebook;
 * - reconstruct: the model's forward pass.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ImageDataset } from '../data/dataset.js';
import { UserError } from '../errors.js';
import { writeNpyFile } from '../io/npyFile.js';
import { CODE_LEVELS, levelCodePaths, type CodeLevel } from '../model/hierarchicalCodes.js';
import { loadHierarchicalModel, type LoadedHierarchicalModel } from '../model/hierarchicalFile.js';
import type { HierarchicalVqVae } from '../model/hierarchical.js';
import { outputToPixels } from '../model/vqvae.js';
import type { CodeIndices } from '../quantize/types.js';
import { codebookUsage, countCodes, type CodebookUsage } from '../quantize/usage.js';
import { sliceImages } from '../train/batches.js';
import { evaluateHierarchical, type HierarchicalEvalMetrics } from '../train/hierarchicalEvaluate.js';
import type { CommandContext } from './command.js';
import { info, openModelDirAndData, type ModelDataFlags } from './common.js';
import { decodeInBatches, readCodeFile, type DecodedImages } from './decode.js';
import { UsageError } from './flags.js';

/** openModelAndData (cli/common.ts) for a two-level model directory. */
export function openTwoLevels(flags: ModelDataFlags, ctx: CommandContext): Promise<{ modelDir: string; loaded: LoadedHierarchicalModel; data: ImageDataset }> {
  return openModelDirAndData(flags, ctx, loadHierarchicalModel, (loaded) => loaded.model.model);
}

/** Each level's codebook size K. */
export function levelSizes(vqvae: HierarchicalVqVae): Record<CodeLevel, number> {
  return { top: vqvae.config.top.codebookSize, bottom: vqvae.config.model.codebookSize };
}

/** How many indices one image's codes hold on each level: h * w (rvq: h * w * depth). */
export function codesPerImage(vqvae: HierarchicalVqVae): Record<CodeLevel, number> {
  const shapes = vqvae.codeShapes;
  const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
  return { top: size(shapes.top), bottom: size(shapes.bottom) };
}

/** A two-level evaluation of a split: the metrics, each level's code counts and usage, and (if kept) its codes. */
export interface TwoLevelMeasurement {
  metrics: HierarchicalEvalMetrics;
  counts: Record<CodeLevel, Float64Array>;
  usage: Record<CodeLevel, CodebookUsage>;
  /** With `keepCodes`: int32 [N, h, w] (rvq: [N, h, w, depth]) of each level, image by image. */
  codes?: Record<CodeLevel, Int32Array>;
}

/** Evaluates the model on every image of `data`, counting each level's codes (and keeping them with `keepCodes`). */
export function measureTwoLevels(
  vqvae: HierarchicalVqVae,
  data: ImageDataset,
  options: { batch: number; keepCodes?: boolean; onProgress?: (done: number) => void },
): TwoLevelMeasurement {
  const K = levelSizes(vqvae);
  const counts = { top: new Float64Array(K.top), bottom: new Float64Array(K.bottom) };
  const perImage = codesPerImage(vqvae);
  const codes = options.keepCodes ? { top: new Int32Array(data.count * perImage.top), bottom: new Int32Array(data.count * perImage.bottom) } : undefined;
  const metrics = evaluateHierarchical(vqvae, data, {
    batch: options.batch,
    onProgress: (done) => options.onProgress?.(done),
    onIndices: (start, top, bottom) => {
      const indices = { top, bottom };
      for (const level of CODE_LEVELS) {
        countCodes(indices[level], K[level], counts[level]);
        codes?.[level].set(indices[level], start * perImage[level]);
      }
    },
  });
  return { metrics, counts, usage: { top: codebookUsage(counts.top), bottom: codebookUsage(counts.bottom) }, codes };
}

export interface TwoLevelEvalFlags extends ModelDataFlags {
  batch: number;
  usageOut: string | undefined;
}

/**
 * What a caller adds to a two-level evaluation (the priors' NLL, say): it gets
 * the model, the split, the measurement with each level's codes, and the JSON
 * summary to add its figures to, before it is printed.
 */
export type TwoLevelEvalExtension = (run: {
  loaded: LoadedHierarchicalModel;
  data: ImageDataset;
  measured: TwoLevelMeasurement & { codes: Record<CodeLevel, Int32Array> };
  summary: Record<string, unknown>;
}) => Promise<void> | void;

/** `vqvae eval` of a two-level model. */
export async function evalTwoLevels(flags: TwoLevelEvalFlags, ctx: CommandContext, extension?: TwoLevelEvalExtension): Promise<void> {
  const { loaded, data } = await openTwoLevels(flags, ctx);
  try {
    const progress = ctx.progress({ total: data.count, label: 'image' });
    const measured = measureTwoLevels(loaded.vqvae, data, { batch: flags.batch, keepCodes: extension !== undefined, onProgress: (done) => progress.update(done) });
    progress.stop();
    const { metrics: m, usage } = measured;
    const K = levelSizes(loaded.vqvae);
    const shapes = loaded.vqvae.codeShapes;
    info(ctx, `${data.spec} (${flags.split}, ${m.images} images), two levels`);
    info(ctx, `  mse         ${m.mse.toFixed(6)}`);
    info(ctx, `  psnr        ${m.psnrDb.toFixed(2)} dB`);
    const levels: Record<string, Record<string, number>> = {};
    for (const level of CODE_LEVELS) {
      const u = usage[level];
      info(ctx, `  ${level.padEnd(6)} ${shapes[level].join('x')} codes: perplexity ${u.perplexity.toFixed(1)}, ` +
        `codes used ${u.codesUsed} of ${K[level]} (${(100 * u.codesUsedFraction).toFixed(1)}%), ${u.deadCodes} dead`);
      levels[level] = {
        codebook_size: K[level], codes_used: u.codesUsed, codes_used_fraction: u.codesUsedFraction, dead_codes: u.deadCodes, perplexity: u.perplexity,
      };
    }
    const summary: Record<string, unknown> = { mse: m.mse, psnr_db: m.psnrDb, images: m.images, levels };
    if (m.reconstructionNats !== undefined) {
      info(ctx, `  -log p(x|z) ${(m.reconstructionNats / Math.LN2).toFixed(4)} bits per dimension`);
      summary['reconstruction_bits_per_dim'] = m.reconstructionNats / Math.LN2;
    }
    // The priors are checked (and may refuse) before anything is written.
    if (extension) await extension({ loaded, data, measured: measured as TwoLevelMeasurement & { codes: Record<CodeLevel, Int32Array> }, summary });
    if (flags.usageOut !== undefined) {
      const paths = levelCodePaths(flags.usageOut);
      for (const level of CODE_LEVELS) {
        writeNpyFile(paths[level], Int32Array.from(measured.counts[level]), [K[level]]);
        info(ctx, `  wrote ${paths[level]}: int32 [${K[level]}], how often each ${level} code occurs`);
      }
    }
    ctx.printJson(summary);
  } finally {
    loaded.vqvae.dispose();
  }
}

export interface TwoLevelEncodeFlags extends ModelDataFlags {
  out: string;
  labelsOut: string | undefined;
  batch: number;
  shard: string | undefined;
  distributed: boolean;
}

/** `vqvae encode` of a two-level model: one int32 .npy per level (levelCodePaths). */
export async function encodeTwoLevels(dir: string, flags: TwoLevelEncodeFlags, ctx: CommandContext): Promise<void> {
  if (flags.shard !== undefined || flags.distributed) {
    throw new UsageError(`--${flags.shard !== undefined ? 'shard' : 'distributed'} is not supported for two-level models yet (${dir}): encode in one process`);
  }
  const { loaded, data } = await openTwoLevels(flags, ctx);
  const { vqvae } = loaded;
  const shapes = vqvae.codeShapes;
  const perImage = codesPerImage(vqvae);
  const codes = { top: new Int32Array(data.count * perImage.top), bottom: new Int32Array(data.count * perImage.bottom) };
  try {
    const progress = ctx.progress({ total: data.count, label: 'image' });
    for (let start = 0; start < data.count; start += flags.batch) {
      const end = Math.min(data.count, start + flags.batch);
      const x = sliceImages(data, start, end);
      const indices = vqvae.encodeIndices(x);
      for (const level of CODE_LEVELS) codes[level].set(indices[level].dataSync() as Int32Array, start * perImage[level]);
      tf.dispose([x, indices.top, indices.bottom]);
      progress.update(end);
    }
    progress.stop();
  } finally {
    vqvae.dispose();
  }
  const paths = levelCodePaths(flags.out);
  for (const level of CODE_LEVELS) {
    const shape = [data.count, ...shapes[level]];
    writeNpyFile(paths[level], codes[level], shape);
    info(ctx, `wrote ${paths[level]}: int32 [${shape.join(', ')}], the ${level} level's codes`);
  }
  if (flags.labelsOut) {
    writeNpyFile(flags.labelsOut, data.labels.slice(0, data.count), [data.count]);
    info(ctx, `wrote ${flags.labelsOut}: int32 [${data.count}]`);
  }
}

/** `vqvae decode` of a two-level model: the bottom level's codes from --codes, the top level's from --top-codes. */
export function decodeTwoLevels(modelDir: string, bottomFile: string, topFile: string, batch: number): DecodedImages {
  const { vqvae } = loadHierarchicalModel(modelDir);
  try {
    const shapes = vqvae.codeShapes;
    const K = levelSizes(vqvae);
    const files = { top: topFile, bottom: bottomFile };
    const flag = { top: '--top-codes', bottom: '--codes' };
    const read = (level: CodeLevel) => {
      const other: CodeLevel = level === 'top' ? 'bottom' : 'top';
      // The other level's grid in this file: most likely the two files swapped.
      const hint = (found: readonly number[]) =>
        found.length === shapes[other].length + 1 && shapes[other].every((n, i) => found[i + 1] === n) ? ` (that is the ${other} level's grid: give that file as ${flag[other]})` : '';
      return readCodeFile(files[level], shapes[level], K[level], `the ${level} level of the model in ${modelDir} (${flag[level]})`, hint);
    };
    const codes = { top: read('top'), bottom: read('bottom') };
    if (codes.top.count !== codes.bottom.count) {
      throw new UserError(`${topFile} holds ${codes.top.count} top grids but ${bottomFile} holds ${codes.bottom.count} bottom grids: give the two files of one vqvae encode`);
    }
    const perImage = codesPerImage(vqvae);
    const pixels = decodeInBatches(codes.top.count, batch, vqvae.config.model, (start, end) => {
      const [top, bottom] = CODE_LEVELS.map((level) =>
        tf.tensor<tf.Rank>(codes[level].values.subarray(start * perImage[level], end * perImage[level]), [end - start, ...shapes[level]] as number[], 'int32') as CodeIndices,
      ) as [CodeIndices, CodeIndices];
      const images = vqvae.decodeIndices({ top, bottom });
      tf.dispose([top, bottom]);
      return images;
    });
    return { pixels, count: codes.top.count, config: vqvae.config.model };
  } finally {
    vqvae.dispose();
  }
}

/** `vqvae reconstruct` of a two-level model: the images of `data` and their reconstructions' pixels. */
export async function reconstructTwoLevels(flags: ModelDataFlags, ctx: CommandContext): Promise<{ data: ImageDataset; pixels: Uint8Array }> {
  const { loaded, data } = await openTwoLevels(flags, ctx);
  try {
    let pixels: Uint8Array = new Uint8Array(0);
    tf.tidy(() => {
      pixels = outputToPixels(loaded.vqvae.forward(sliceImages(data, 0, data.count)).reconstruction);
    });
    return { data, pixels };
  } finally {
    loaded.vqvae.dispose();
  }
}
