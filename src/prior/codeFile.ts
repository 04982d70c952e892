/**
 * Reading code grids and labels from the .npy files `vqvae encode` writes
 * (codes int32 [N, h, w], labels int32 [N]; int64 from NumPy is accepted),
 * checking them before anything slow starts: every problem is a one-line
 * UserError naming the file. Node only (reads files).
 */
import { UserError } from '../errors.js';
import { readNpyFile } from '../io/npyFile.js';
import type { CodeSet } from './codeSet.js';

export interface CodeFileOptions {
  /** Codes must be below this (the prior's or the model's K), if given. */
  codebookSize?: number;
  /** Keep the first N grids only. */
  limit?: number;
}

/** The error for a prior over the [N, h, w, depth] codes of a residual (rvq) model; `what` names the file or model. */
export function residualCodesError(what: string): UserError {
  return new UserError(
    `${what}: a prior over RVQ codes ([N, h, w, depth]) is not supported yet; train the prior on the codes of a model with one code per position (vq, ema, simvq or fsq)`,
  );
}

/** `residualCodesError` for the residual model in `modelDir`. */
export function residualModelError(modelDir: string, depth: number): UserError {
  return residualCodesError(`the model in ${modelDir} is residual (rvq, depth ${depth})`);
}

/** Codes (and labels) from .npy files, checked: integer, [N, h, w] / [N], non-negative, below K. */
export function readCodeSet(codesPath: string, labelsPath?: string, options: CodeFileOptions = {}): CodeSet {
  const array = readNpyFile(codesPath);
  if (!(array.data instanceof Int32Array)) {
    throw new UserError(`${codesPath}: codes must be integers (int32 or int64), found ${array.dtype}`);
  }
  if (array.shape.length === 4) throw residualCodesError(codesPath);
  if (array.shape.length !== 3 || array.shape[0]! < 1 || array.shape[1]! < 1 || array.shape[2]! < 1) {
    throw new UserError(`${codesPath}: codes must have shape [N, h, w] with N, h, w >= 1 (as \`vqvae encode\` writes), found [${array.shape.join(', ')}]`);
  }
  const [total, height, width] = array.shape as [number, number, number];
  const count = Math.min(total, options.limit ?? total);
  const codes = array.data.subarray(0, count * height * width);
  const K = options.codebookSize;
  for (let i = 0; i < codes.length; i++) {
    const v = codes[i]!;
    if (v < 0 || (K !== undefined && v >= K)) {
      const range = K !== undefined ? `0..${K - 1} (K = ${K})` : 'codes >= 0';
      throw new UserError(`${codesPath}: code ${v} at grid ${Math.floor(i / (height * width))} is out of range: expected ${range}`);
    }
  }
  let labels: Int32Array | undefined;
  if (labelsPath !== undefined) {
    const l = readNpyFile(labelsPath);
    if (!(l.data instanceof Int32Array)) throw new UserError(`${labelsPath}: labels must be integers (int32 or int64), found ${l.dtype}`);
    if (l.shape.length !== 1 || l.shape[0] !== total) {
      throw new UserError(`${labelsPath}: labels must have shape [${total}], one per grid of ${codesPath}, found [${l.shape.join(', ')}]`);
    }
    labels = l.data.subarray(0, count);
    const bad = labels.findIndex((v) => v < 0);
    if (bad >= 0) throw new UserError(`${labelsPath}: label ${labels[bad]} at item ${bad} is not a class (the data set has no labels there)`);
  }
  return { source: codesPath, count, height, width, codes, labels };
}

/** The largest value in `values` (0 for none). */
export function maxOf(values: Int32Array): number {
  let max = 0;
  for (let i = 0; i < values.length; i++) if (values[i]! > max) max = values[i]!;
  return max;
}
