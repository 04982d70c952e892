/**
 * decoder.onnx: code indices int32 [N, h, w] → pixels uint8 [N, H, W, C], the
 * whole of `outputToPixels(VqVae.decodeIndices(...))` in one graph. For the
 * reference 28x28 grey model, `indices` [N, 7, 7] gives `pixels` [N, 28, 28, 1].
 *
 *   lookup     Gather the codes e_k [N, h, w, D] from the codebook (the
 *              quantizer's table of codes, quantizerGraph.ts; rvq: indices
 *              [N, h, w, depth], the sum of one Gather per codebook)
 *   decoder    Transpose to NCHW, the layers of model/decoder.ts, Transpose
 *              back to NHWC: `reconstruction`, float32 [N, H, W, C] in the
 *              model's scale (pixels / 255 - 0.5), a second output for
 *              callers that want the image before rounding
 *   pixels     round(clip(x + 0.5, 0, 1) * 255) in float64, as
 *              model/vqvae.ts outputToPixels does: Math.round rounds halves
 *              up, so it is Floor(v + 0.5), not ONNX's Round (halves to even)
 *
 * Indices outside 0..K-1 make onnxruntime's Gather fail rather than wrap.
 *
 * Axis legend: N - batch, h, w - code grid, D - code dimension, K - codebook
 * size, H, W, C - image.
 */
import type { ModelConfig } from '../../model/config.js';
import { codeGridSize } from '../../model/config.js';
import { DataType, GraphBuilder } from './graph.js';
import { conv, convTranspose, residualStack, toChannelsFirst, toChannelsLast, type Weights } from './layers.js';
import { lookupGraph, type QuantizerTables } from './quantizerGraph.js';

export const DECODER_INPUT = 'indices';
export const DECODER_OUTPUT = 'pixels';
export const DECODER_FLOAT_OUTPUT = 'reconstruction';

/** The graph of the codebook lookup, the decoder and the conversion to bytes. */
export function decoderGraph(config: ModelConfig, weights: Weights, quantizer: QuantizerTables): GraphBuilder {
  const { imageHeight: H, imageWidth: W, inputChannels: C } = config;
  const [h, w] = codeGridSize(config);
  const g = new GraphBuilder('vqvae_decoder');
  const depth = quantizer.tables.length;
  const indices = g.input(DECODER_INPUT, DataType.INT32, ['batch', h, w, ...(depth > 1 ? [depth] : [])]);

  let y = toChannelsFirst(g, lookupGraph(g, indices, config, quantizer));
  y = conv(g, y, weights, 'decoder.conv', { stride: 1, pad: 1 });
  y = residualStack(g, y, weights, 'decoder.res', config.resBlocks);
  for (let i = 0; i < config.downsamples; i++) {
    y = convTranspose(g, y, weights, `decoder.up.${i}`);
    if (i < config.downsamples - 1) y = g.node('Relu', [y]);
  }
  const reconstruction = toChannelsLast(g, y);

  const pixels = toPixels(g, reconstruction);

  g.output(pixels, DECODER_OUTPUT, DataType.UINT8, ['batch', H, W, C]);
  g.output(reconstruction, DECODER_FLOAT_OUTPUT, DataType.FLOAT, ['batch', H, W, C]);
  return g;
}

/** outputToPixels: round(clip(x + 0.5, 0, 1) * 255) in float64, halves up (Floor(v + 0.5)), as uint8. */
export function toPixels(g: GraphBuilder, reconstruction: string): string {
  const half = g.scalarDouble('half', 0.5);
  const wide = g.node('Add', [g.node('Cast', [reconstruction], { to: DataType.DOUBLE }), half]);
  const clipped = g.node('Clip', [wide, g.scalarDouble('zero', 0), g.scalarDouble('one', 1)]);
  const scaled = g.node('Mul', [clipped, g.scalarDouble('255', 255)]);
  const rounded = g.node('Floor', [g.node('Add', [scaled, half])]);
  return g.node('Cast', [rounded], { to: DataType.UINT8 });
}
