/**
 * encoder.onnx: raw pixels uint8 [N, H, W, C] → code indices int32 [N, h, w],
 * the whole of `VqVae.encodeIndices(pixelsToInput(...))` in one graph. For the
 * reference 28x28 grey model, `pixels` [N, 28, 28, 1] gives `indices` [N, 7, 7].
 *
 *   scale      x = pixels / 255 - 0.5, computed in float64 and rounded once
 *              to float32, exactly as model/vqvae.ts pixelsToInput does
 *   encoder    Transpose to NCHW, the convolutions of model/encoder.ts,
 *              Transpose back to NHWC
 *   quantize   Reshape to [M, D]; the quantizer's indices (quantizerGraph.ts:
 *              for a VQ, distances ||e_j||^2 - 2 z.e_j by a MatMul with E^T
 *              and ArgMin over j, first index on ties like tfjs's argMin and
 *              quantize/ops.ts nearestCodes); Cast to int32; Reshape to
 *              [N, h, w] ([N, h, w, depth] for rvq)
 *
 * Axis legend: N - batch, H, W, C - image, h, w - code grid, D - code
 * dimension, K - codebook size, M = N * h * w.
 */
import type { ModelConfig } from '../../model/config.js';
import { codeGridSize } from '../../model/config.js';
import { DataType, GraphBuilder } from './graph.js';
import { conv, residualStack, toChannelsFirst, toChannelsLast, type Weights } from './layers.js';
import { quantizeGraph, type QuantizerTables } from './quantizerGraph.js';

export const ENCODER_INPUT = 'pixels';
export const ENCODER_OUTPUT = 'indices';

/** The graph of the encoder and the quantizer's nearest-code search. */
export function encoderGraph(config: ModelConfig, weights: Weights, quantizer: QuantizerTables): GraphBuilder {
  const { imageHeight: H, imageWidth: W, inputChannels: C, codeDim: D } = config;
  const [h, w] = codeGridSize(config);
  const g = new GraphBuilder('vqvae_encoder');
  const pixels = g.input(ENCODER_INPUT, DataType.UINT8, ['batch', H, W, C]);

  const x = scaledPixels(g, pixels);
  let z = toChannelsFirst(g, x);
  for (let i = 0; i < config.downsamples; i++) {
    z = conv(g, z, weights, `encoder.down.${i}`, { stride: 2, pad: 1, relu: true });
  }
  z = conv(g, z, weights, 'encoder.conv', { stride: 1, pad: 1 });
  z = residualStack(g, z, weights, 'encoder.res', config.resBlocks);
  z = conv(g, z, weights, 'encoder.pre_quantize', { stride: 1, pad: 0 });

  const flat = g.node('Reshape', [toChannelsLast(g, z), g.constantInt64('vectors_shape', [-1, D])]);
  const indices = quantizeGraph(g, flat, config, quantizer, [h, w]);
  g.output(indices, ENCODER_OUTPUT, DataType.INT32, ['batch', h, w, ...(quantizer.tables.length > 1 ? [quantizer.tables.length] : [])]);
  return g;
}

/** pixelsToInput: p / 255 - 0.5 in float64 (JS numbers), then stored as float32. */
export function scaledPixels(g: GraphBuilder, pixels: string): string {
  const wide = g.node('Cast', [pixels], { to: DataType.DOUBLE });
  const scaled = g.node('Sub', [g.node('Div', [wide, g.scalarDouble('255', 255)]), g.scalarDouble('half', 0.5)]);
  return g.node('Cast', [scaled], { to: DataType.FLOAT });
}
