/**
 * The ONNX graphs of the two-level model (model/hierarchical.ts), as
 * encoderGraph.ts and decoderGraph.ts are for one level:
 *
 *   encoder.onnx  pixels uint8 [N, H, W, C] → indices_top int32 [N, ht, wt]
 *                 and indices_bottom int32 [N, hb, wb]: the bottom trunk,
 *                 the top stage, its nearest codes, their decoding joined
 *                 with the bottom features, the bottom nearest codes
 *   decoder.onnx  indices_top, indices_bottom → pixels uint8 [N, H, W, C]
 *                 and reconstruction float32: both lookups, the top one
 *                 upsampled, joined, the decoder
 *
 * The 'same'-padded stages of odd sizes (a 7x7 bottom grid under a 4x4 top
 * grid) have their odd pixel at the bottom and right, layers.ts samePads.
 */
import type { ModelConfig } from '../../model/config.js';
import { levelGrids, type TopLevelConfig } from '../../model/hierarchical.js';
import { toPixels } from './decoderGraph.js';
import { nearestCodes, scaledPixels } from './encoderGraph.js';
import { DataType, GraphBuilder } from './graph.js';
import { conv, convNode, convTranspose, residualStack, samePads, toChannelsFirst, toChannelsLast, weight, type Weights } from './layers.js';

export const LEVEL_INDICES = { top: 'indices_top', bottom: 'indices_bottom' } as const;

/** Conv + ReLU of stride 2 with tfjs's 'same' padding of an [h, w] input. */
function sameConv(g: GraphBuilder, x: string, weights: Weights, name: string, inSize: readonly [number, number]): string {
  return g.node('Relu', [convNode(g, x, name, weight(weights, `${name}.weight`), weight(weights, `${name}.bias`), samePads(inSize), 2)]);
}

/** The codes of `indices` [N, h, w] from `<quantizer>.codebook`, NCHW. */
function lookup(g: GraphBuilder, indices: string, weights: Weights, quantizer: string): string {
  const codebook = weight(weights, `${quantizer}.codebook`);
  return toChannelsFirst(g, g.node('Gather', [g.constant(`${quantizer}.codebook`, codebook.data, codebook.shape), indices], { axis: 0 }));
}

/** The decoder of the top level, [N, Dt, ht, wt] → [N, Dt, hb, wb] (model/decoder.ts with one stage). */
function decodeTop(g: GraphBuilder, quantizedTop: string, weights: Weights, config: ModelConfig, bottom: readonly [number, number]): string {
  let y = conv(g, quantizedTop, weights, 'decoder.top.conv', { stride: 1, pad: 1 });
  y = residualStack(g, y, weights, 'decoder.top.res', config.resBlocks);
  return convTranspose(g, y, weights, 'decoder.top.up.0', samePads(bottom));
}

export function hierarchicalEncoderGraph(config: ModelConfig, _top: TopLevelConfig, weights: Weights): GraphBuilder {
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
  const topIndices = nearestCodes(g, toChannelsLast(g, t), weights, 'quantizer.top', grids.top);

  const decoded = decodeTop(g, lookup(g, topIndices, weights, 'quantizer.top'), weights, config, grids.bottom);
  const joined = g.node('Concat', [decoded, f], { axis: 1 });
  const b = conv(g, joined, weights, 'encoder.bottom.pre_quantize', { stride: 1, pad: 0 });
  const bottomIndices = nearestCodes(g, toChannelsLast(g, b), weights, 'quantizer.bottom', grids.bottom);
  g.output(topIndices, LEVEL_INDICES.top, DataType.INT32, ['batch', ...grids.top]);
  g.output(bottomIndices, LEVEL_INDICES.bottom, DataType.INT32, ['batch', ...grids.bottom]);
  return g;
}

export function hierarchicalDecoderGraph(config: ModelConfig, _top: TopLevelConfig, weights: Weights): GraphBuilder {
  const { imageHeight: H, imageWidth: W, inputChannels: C } = config;
  const grids = levelGrids(config);
  const g = new GraphBuilder('vqvae2_decoder');
  const top = g.input(LEVEL_INDICES.top, DataType.INT32, ['batch', ...grids.top]);
  const bottom = g.input(LEVEL_INDICES.bottom, DataType.INT32, ['batch', ...grids.bottom]);
  const up = convTranspose(g, lookup(g, top, weights, 'quantizer.top'), weights, 'decoder.upsample_top', samePads(grids.bottom));
  let y = g.node('Concat', [up, lookup(g, bottom, weights, 'quantizer.bottom')], { axis: 1 });
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
