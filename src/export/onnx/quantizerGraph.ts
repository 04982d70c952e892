/**
 * The quantizer's part of encoder.onnx and decoder.onnx, for every kind of
 * src/quantize/:
 *
 *   vq, ema, simvq  nearest code of each vector [M, D] in one table [K, D]
 *                   (MatMul with E^T, ||e||^2 - 2 z.e, ArgMin, first index on
 *                   ties as quantize/ops.ts nearestCodes); simvq's table is
 *                   C W as the model computes it
 *   rvq             that search once per codebook on the running residual,
 *                   r <- r - e_i (Gather of the chosen code), indices
 *                   Concat'ed to [M, depth]
 *   fsq             the projection in (MatMul + Add) if D != len(levels), the
 *                   bound tanh(z + shift) * half_l - offset, Round (halves to
 *                   even, as tf.round), + L // 2 clamped to 0..L-1, times the
 *                   mixed-radix place values, ReduceSum; the float32
 *                   constants are the quantizer's own (quantize/fsq.ts)
 *
 * and, for the decoder, codes [N, h, w, D] = the sum over codebooks of a
 * Gather from a table [K, D] of model-space codes: each table is the
 * quantizer's own `lookup` of every index 0..K-1 (FSQ: the grid through the
 * projection out), so the graph decodes with exactly the vectors
 * `VqVae.decodeIndices` uses.
 *
 * Axis legend: M - vectors (N * h * w), D - code dimension, K - codes per
 * codebook, d - FSQ scalars (len(levels)).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from '../../model/config.js';
import type { VqVae } from '../../model/vqvae.js';
import { FiniteScalarQuantizer } from '../../quantize/fsq.js';
import { ProjectedQuantizer } from '../../quantize/projection.js';
import { ResidualVQ } from '../../quantize/rvq.js';
import type { Quantizer } from '../../quantize/types.js';
import { DataType, type GraphBuilder } from './graph.js';

/** What the graphs need of a quantizer, read off the loaded model. */
export interface QuantizerTables {
  /** One model-space code table [K, D] per codebook (depth of them). */
  tables: Float32Array[];
  /**
   * vq and ema: the nearest-code search (quantize/nearestCode.ts), in d
   * dimensions behind the projection in with `lookupDim` (quantize/projection.ts),
   * over unit rows with `cosine`; the rows searched [K, d].
   */
  search?: { table: Float32Array; dim: number; cosine: boolean; projectIn?: { weight: Float32Array; bias: Float32Array } };
  /** FSQ only: its constants and projection in (weight [D, d], bias [d]) if any. */
  fsq?: {
    levels: readonly number[];
    halfL: Float32Array;
    shift: Float32Array;
    offset: Float32Array;
    halfWidth: Float32Array;
    basis: readonly number[];
    projectIn?: { weight: Float32Array; bias: Float32Array };
  };
}

/** Every code of `quantizer` (depth 1) in model space, [K, D], by its own lookup. */
function codeTable(quantizer: Quantizer): Float32Array {
  return tf.tidy(() => {
    const all = tf.tensor3d(Int32Array.from({ length: quantizer.codebookSize }, (_, i) => i), [1, 1, quantizer.codebookSize], 'int32');
    return quantizer.lookup(all).dataSync() as Float32Array;
  });
}

export function quantizerTables(model: VqVae): QuantizerTables {
  return tablesOf(model.quantizer, model.config);
}

/** The tables of quantizer `q` built from `config` (a one-level model's, or a level's of the two-level model, model/hierarchical.ts levelConfigs). */
export function tablesOf(q: Quantizer, config: ModelConfig): QuantizerTables {
  if (q instanceof ResidualVQ) return { tables: q.layers.map(codeTable) };
  if (q instanceof FiniteScalarQuantizer) {
    const { levels, halfL, shift, offset, halfWidth, basis, projectIn } = q;
    return {
      tables: [codeTable(q)],
      fsq: {
        levels,
        halfL,
        shift,
        offset,
        halfWidth,
        basis,
        ...(projectIn
          ? { projectIn: { weight: projectIn.weight.dataSync() as Float32Array, bias: projectIn.bias!.dataSync() as Float32Array } }
          : {}),
      },
    };
  }
  if (q.tables) {
    // vq, ema: searched as nearestCode.ts searches (projected, unit rows), decoded with the codes the decoder receives.
    const { search, lookup } = q.tables();
    const { lookupDim, codeDim, cosine } = config;
    const projectIn = q instanceof ProjectedQuantizer
      ? { weight: q.projectInWeight.dataSync() as Float32Array, bias: q.projectInBias.dataSync() as Float32Array }
      : undefined;
    return { tables: [lookup], search: { table: search, dim: lookupDim > 0 ? lookupDim : codeDim, cosine, ...(projectIn ? { projectIn } : {}) } };
  }
  return { tables: [codeTable(q)] };
}

/** The vectors [M, D] as the search sees them [M, d]: z W_in + b_in with a lookup dimension, rows over their norm with cosine. */
function searchVectors(g: GraphBuilder, flat: string, search: NonNullable<QuantizerTables['search']>, D: number, prefix: string): string {
  let z = flat;
  if (search.projectIn) {
    const d = search.dim;
    z = g.node('Add', [g.node('MatMul', [z, g.constant(`${prefix}project_in_weight`, search.projectIn.weight, [D, d])]), g.constant(`${prefix}project_in_bias`, search.projectIn.bias, [d])]);
  }
  if (search.cosine) {
    // quantize/ops.ts l2Normalize: x / max(||x||, 1e-12).
    const norm = g.node('Sqrt', [g.node('ReduceSum', [g.node('Mul', [z, z]), g.constantInt64(`${prefix}last_axis`, [1])], { keepdims: 1 })]);
    z = g.node('Div', [z, g.node('Max', [norm, g.constant(`${prefix}norm_floor`, Float32Array.of(1e-12), [])])]);
  }
  return z;
}

/** Nearest row of `table` [K, D] to each row of `flat` [M, D]: int64 [M]. */
export function nearestCode(g: GraphBuilder, flat: string, table: Float32Array, K: number, D: number, prefix: string): string {
  const transposed = new Float32Array(D * K);
  const norms = new Float32Array(K);
  for (let k = 0; k < K; k++) {
    let sum = 0;
    for (let d = 0; d < D; d++) {
      const e = table[k * D + d]!;
      transposed[d * K + k] = e;
      sum += Math.fround(e * e);
    }
    norms[k] = sum;
  }
  // ||z||^2 is the same for every code, so nearestCodes leaves it out; so does this.
  const dots = g.node('MatMul', [flat, g.constant(`${prefix}codebook_transposed`, transposed, [D, K])]);
  const distances = g.node('Sub', [g.constant(`${prefix}code_norms`, norms, [K]), g.node('Mul', [dots, g.constant(`${prefix}two`, Float32Array.of(2), [])])]);
  return g.node('ArgMin', [distances], { axis: 1, keepdims: 0, select_last_index: 0 });
}

/** The FSQ index of each row of `flat` [M, D]: float [M] (exact integers). */
function fsqIndex(g: GraphBuilder, flat: string, fsq: NonNullable<QuantizerTables['fsq']>, prefix: string): string {
  const d = fsq.levels.length;
  let z = flat;
  if (fsq.projectIn) {
    const D = fsq.projectIn.weight.length / d;
    z = g.node('Add', [g.node('MatMul', [flat, g.constant(`${prefix}fsq_project_in_weight`, fsq.projectIn.weight, [D, d])]), g.constant(`${prefix}fsq_project_in_bias`, fsq.projectIn.bias, [d])]);
  }
  const t = g.node('Tanh', [g.node('Add', [z, g.constant(`${prefix}fsq_shift`, fsq.shift, [d])])]);
  const bounded = g.node('Sub', [g.node('Mul', [t, g.constant(`${prefix}fsq_half_l`, fsq.halfL, [d])]), g.constant(`${prefix}fsq_offset`, fsq.offset, [d])]);
  const level = g.node('Add', [g.node('Round', [bounded]), g.constant(`${prefix}fsq_half_width`, fsq.halfWidth, [d])]);
  const top = Float32Array.from(fsq.levels, (l) => l - 1);
  const clamped = g.node('Min', [g.node('Max', [level, g.constant(`${prefix}fsq_zero`, new Float32Array(d), [d])]), g.constant(`${prefix}fsq_top`, top, [d])]);
  const placed = g.node('Mul', [clamped, g.constant(`${prefix}fsq_basis`, Float32Array.from(fsq.basis), [d])]);
  return g.node('ReduceSum', [placed, g.constantInt64(`${prefix}fsq_axis`, [1])], { keepdims: 0 });
}

/**
 * Code indices int32 [N, h, w] (rvq: [N, h, w, depth]) of the encoder's
 * vectors `flat` [M, D]; `prefix` begins the name of every constant, so two
 * quantizers (the levels of hierarchicalGraphs.ts) share one graph.
 */
export function quantizeGraph(g: GraphBuilder, flat: string, config: ModelConfig, q: QuantizerTables, grid: readonly [number, number], prefix = ''): string {
  const { codeDim: D, codebookSize: K } = config;
  const [h, w] = grid;
  let indices: string;
  if (q.fsq) {
    indices = fsqIndex(g, flat, q.fsq, prefix);
  } else if (q.search) {
    indices = nearestCode(g, searchVectors(g, flat, q.search, D, prefix), q.search.table, K, q.search.dim, prefix);
  } else if (q.tables.length === 1) {
    indices = nearestCode(g, flat, q.tables[0]!, K, D, prefix);
  } else {
    let residual = flat;
    const columns: string[] = [];
    q.tables.forEach((table, i) => {
      const nearest = nearestCode(g, residual, table, K, D, `${prefix}rvq_${i}_`);
      columns.push(g.node('Unsqueeze', [nearest, g.constantInt64(`${prefix}rvq_${i}_axis`, [1])]));
      if (i + 1 < q.tables.length) {
        residual = g.node('Sub', [residual, g.node('Gather', [g.constant(`${prefix}rvq_${i}_codes`, table, [K, D]), nearest], { axis: 0 })]);
      }
    });
    indices = g.node('Concat', columns, { axis: 1 });
  }
  const shape = q.tables.length === 1 ? [-1, h, w] : [-1, h, w, q.tables.length];
  return g.node('Reshape', [g.node('Cast', [indices], { to: DataType.INT32 }), g.constantInt64(`${prefix}grid_shape`, shape)]);
}

/** Codes [N, h, w, D] of indices int32 [N, h, w] (rvq: [N, h, w, depth]); `name` begins the tables' names (`quantizer.codebook`). */
export function lookupGraph(g: GraphBuilder, indices: string, config: ModelConfig, q: QuantizerTables, name = 'quantizer'): string {
  const { codeDim: D, codebookSize: K } = config;
  if (q.tables.length === 1) return g.node('Gather', [g.constant(`${name}.codebook`, q.tables[0]!, [K, D]), indices], { axis: 0 });
  const codes = q.tables.map((table, i) => {
    // One level's name prefixes its constants where two quantizers share a graph (hierarchicalGraphs.ts).
    const prefix = name === 'quantizer' ? '' : `${name}.`;
    const column = g.node('Gather', [indices, g.constantInt64(`${prefix}rvq_${i}_index`, [i], [])], { axis: 3 });
    return g.node('Gather', [g.constant(`${name}.layers.${i}.codebook`, table, [K, D]), column], { axis: 0 });
  });
  return g.node('Sum', codes);
}
