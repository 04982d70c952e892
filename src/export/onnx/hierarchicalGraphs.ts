/**
 * The ONNX graphs of the two-level model (model/hierarchical.ts), as
 * encoderGraph.ts and decoderGraph.ts are for one level:
 *
 *   encoder.onnx  pixels uint8 [N, H, W, C] → indices_top int32 [N, ht, wt]
 *                 and indices_bottom int32 [N, hb, wb] (an rvq level's
 *                 [N, h, w, depth]): the bottom trunk,
 *                 the top stage, its codes, their decoding joined with the
 *                 bottom features, the bottom codes
 *   decoder.onnx  indices_top, indices_bottom → pixels uint8 [N, H, W, C]
 *                 and reconstruction float32: both lookups, the top one
 *                 upsampled, joined, the decoder
 *
 * Each level's search and lookup are quantizerGraph.ts's for its kind (vq,
 * ema, simvq, fsq, rvq; lookup dimension, cosine), from that level's tables
 * (hierarchicalTables), their constants named `quantizer.top.*` and
 * `quantizer.bottom.*`.
 *
 * The 'same'-padded stages of odd sizes (a 7x7 bottom grid under a 4x4 top
 * grid) have their odd pixel at the bottom and right, layers.ts samePads.
 */
import type { ModelConfig } from '../../model/config.js';
import { levelGrids, type HierarchicalVqVae } from '../../model/hierarchical.js';
import { toPixels } from './decoderGraph.js';
import { scaledPixels } from './encoderGraph.js';
import { DataType, GraphBuilder } from './graph.js';
import { conv, convNode, convTranspose, residualStack, samePads, toChannelsFirst, toChannelsLast, weight, type Weights } from './layers.js';
import { lookupGraph, quantizeGraph, tablesOf, type QuantizerTables } from './quantizerGraph.js';

/** Each level's config as a one-level one (HierarchicalVqVae.levelConfigs) and its quantizer's tables. */
export interface LevelGraphs {
  top: { config: ModelConfig; tables: QuantizerTables };
  bottom: { config: ModelConfig; tables: QuantizerTables };
}

/** What the graphs need of each level of a loaded model. */
export function hierarchicalTables(model: HierarchicalVqVae): LevelGraphs {
  return {
    top: { config: model.levelConfigs.top, tables: tablesOf(model.topQuantizer, model.levelConfigs.top) },
    bottom: { config: model.levelConfigs.bottom, tables: tablesOf(model.bottomQuantizer, model.levelConfigs.bottom) },
  };
}

export const LEVEL_INDICES = { top: 'indices_top', bottom: 'indices_bottom' } as const;

/** Conv + ReLU of stride 2 with tfjs's 'same' padding of an [h, w] input. */
function sameConv(g: GraphBuilder, x: string, weights: Weights, name: string, inSize: readonly [number, number]): string {
  return g.node('Relu', [convNode(g, x, name, weight(weights, `${name}.weight`), weight(weights, `${name}.bias`), samePads(inSize), 2)]);
}

/** One image's indices of `level`: [h, w], or [h, w, depth] for rvq (a table per codebook). */
function indexShape(levels: LevelGraphs, level: 'top' | 'bottom', grid: readonly [number, number]): number[] {
  const depth = levels[level].tables.tables.length; // as quantizerGraph.ts quantizeGraph
  return depth === 1 ? [...grid] : [...grid, depth];
}

/** The codes of `level`'s indices [N, h, w] (rvq: [N, h, w, depth]), NCHW. */
function lookup(g: GraphBuilder, indices: string, levels: LevelGraphs, level: 'top' | 'bottom'): string {
  return toChannelsFirst(g, lookupGraph(g, indices, levels[level].config, levels[level].tables, `quantizer.${level}`));
}

/** `level`'s indices int32 [N, h, w] of its vectors z [N, D, h, w] (NCHW). */
function quantize(g: GraphBuilder, z: string, levels: LevelGraphs, level: 'top' | 'bottom', grid: readonly [number, number]): string {
  const { config, tables } = levels[level];
  const flat = g.node('Reshape', [toChannelsLast(g, z), g.constantInt64(`quantizer.${level}.vectors_shape`, [-1, config.codeDim])]);
  return quantizeGraph(g, flat, config, tables, grid, `quantizer.${level}.`);
}

/** The decoder of the top level, [N, Dt, ht, wt] → [N, Dt, hb, wb] (model/decoder.ts with one stage). */
function decodeTop(g: GraphBuilder, quantizedTop: string, weights: Weights, config: ModelConfig, bottom: readonly [number, number]): string {
  let y = conv(g, quantizedTop, weights, 'decoder.top.conv', { stride: 1, pad: 1 });
  y = residualStack(g, y, weights, 'decoder.top.res', config.resBlocks);
  return convTranspose(g, y, weights, 'decoder.top.up.0', samePads(bottom));
}

export function hierarchicalEncoderGraph(levels: LevelGraphs, weights: Weights): GraphBuilder {
  const config = levels.bottom.config;
  const { imageHeight: H, imageWidth: W, inputChannels: C } = config;
  const grids = levelGrids(config);
  const g = new GraphBuilder('vqvae2_encoder');
  const pixels = g.input('pixels', DataType.UINT8, ['batch', H, W, C]);
  let f = toChannelsFirst(g, scaledPixels(g, pixels));
  for (let i = 0; i < config.downsamples; i++) f = conv(g, f, weights, `encoder.bottom.down.${i}`, { stride: 2, pad: 1, relu: true });
  f = conv(g, f, weights, 'encoder.bottom.conv', { stride: 1, pad: 1 });
  f = residualStack(g, f, weights, 'encoder.bottom.res', config.resBlocks);

  let t = sameConv(g, f, weights, 'encoder.top.down.0', grids.bottom);
  t = conv(g, t, weights, 'encoder.top.conv', { stride: 1, pad: 1 });
  t = residualStack(g, t, weights, 'encoder.top.res', config.resBlocks);
  t = conv(g, t, weights, 'encoder.top.pre_quantize', { stride: 1, pad: 0 });
  const topIndices = quantize(g, t, levels, 'top', grids.top);

  const decoded = decodeTop(g, lookup(g, topIndices, levels, 'top'), weights, config, grids.bottom);
  const joined = g.node('Concat', [decoded, f], { axis: 1 });
  const b = conv(g, joined, weights, 'encoder.bottom.pre_quantize', { stride: 1, pad: 0 });
  const bottomIndices = quantize(g, b, levels, 'bottom', grids.bottom);
  g.output(topIndices, LEVEL_INDICES.top, DataType.INT32, ['batch', ...indexShape(levels, 'top', grids.top)]);
  g.output(bottomIndices, LEVEL_INDICES.bottom, DataType.INT32, ['batch', ...indexShape(levels, 'bottom', grids.bottom)]);
  return g;
}

export function hierarchicalDecoderGraph(levels: LevelGraphs, weights: Weights): GraphBuilder {
  const config = levels.bottom.config;
  const { imageHeight: H, imageWidth: W, inputChannels: C } = config;
  const grids = levelGrids(config);
  const g = new GraphBuilder('vqvae2_decoder');
  const top = g.input(LEVEL_INDICES.top, DataType.INT32, ['batch', ...indexShape(levels, 'top', grids.top)]);
  const bottom = g.input(LEVEL_INDICES.bottom, DataType.INT32, ['batch', ...indexShape(levels, 'bottom', grids.bottom)]);
  const up = convTranspose(g, lookup(g, top, levels, 'top'), weights, 'decoder.upsample_top', samePads(grids.bottom));
  let y = g.node('Concat', [up, lookup(g, bottom, levels, 'bottom')], { axis: 1 });
  y = conv(g, y, weights, 'decoder.conv', { stride: 1, pad: 1 });
  y = residualStack(g, y, weights, 'decoder.res', config.resBlocks);
  const n = config.downsamples;
  for (let i = 0; i < n; i++) {
    const size = [Math.ceil(H / 2 ** (n - 1 - i)), Math.ceil(W / 2 ** (n - 1 - i))] as const;
    y = convTranspose(g, y, weights, `decoder.up.${i}`, samePads(size));
    if (i < n - 1) y = g.node('Relu', [y]);
  }
  const reconstruction = toChannelsLast(g, y);
  g.output(toPixels(g, reconstruction), 'pixels', DataType.UINT8, ['batch', H, W, C]);
  g.output(reconstruction, 'reconstruction', DataType.FLOAT, ['batch', H, W, C]);
  return g;
}
