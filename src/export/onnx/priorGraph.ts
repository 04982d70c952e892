/**
 * prior.onnx: code grids int32 [N, h, w] (and, for a class-conditional prior,
 * labels int32 [N]) → logits float32 [N, h, w, K] of the Gated PixelCNN of
 * prior/pixelcnn.ts, which this graph follows layer by layer. For a 7x7 grid
 * and K = 512, `codes` [N, 7, 7] gives `logits` [N, 7, 7, 512]; the
 * distribution of the code at (y, x) is softmax(logits[n, y, x]) given the
 * codes before it in raster order.
 *
 *   embed      Gather the rows of prior.embedding [K, C], Transpose to NCHW
 *   layers     per gated layer: the vertical Conv ((k//2+1) x k, padded
 *              k//2 above and on both sides), the horizontal Conv
 *              (1 x (k//2+1), padded k//2 on the left) plus a 1x1 Conv of the
 *              vertical pre-activation, class biases Gathered by label, the
 *              gates tanh(a) * sigmoid(b) over the two channel halves (Split),
 *              the 1x1 skip and output Convs and the residual
 *   head       ReLU, 1x1 Conv C → C, ReLU, 1x1 Conv C → K, Transpose to NHWC
 *
 * The first layer's masks (mask A: the vertical kernel's last row, the
 * horizontal kernel's last column) are constants that the prior does not
 * save; they are multiplied into the weights here, as the prior does at
 * every call.
 *
 * Axis legend: N - batch, h, w - code grid, C - channels, K - codebook size.
 */
import type { PriorConfig } from '../../prior/config.js';
import { DataType, GraphBuilder } from './graph.js';
import { convNode, toChannelsFirst, toChannelsLast, weight, type WeightTensor, type Weights } from './layers.js';

export const PRIOR_CODES_INPUT = 'codes';
export const PRIOR_LABELS_INPUT = 'labels';
export const PRIOR_OUTPUT = 'logits';

/** `hwio` with the kernel positions for which `zero(row, column)` set to 0. */
function masked(hwio: WeightTensor, zero: (row: number, column: number) => boolean): WeightTensor {
  const [kh, kw, cin, cout] = hwio.shape as [number, number, number, number];
  const data = hwio.data.slice();
  for (let r = 0; r < kh; r++) {
    for (let c = 0; c < kw; c++) if (zero(r, c)) data.fill(0, (r * kw + c) * cin * cout, (r * kw + c + 1) * cin * cout);
  }
  return { shape: hwio.shape, data };
}

/** The graph of PixelCnn.logits. */
export function priorGraph(config: PriorConfig, weights: Weights): GraphBuilder {
  const { codebookSize: K, height: h, width: w, channels: C, kernelSize, numClasses, layers } = config;
  const p = Math.floor(kernelSize / 2);
  const g = new GraphBuilder('vqvae_prior');
  const codes = g.input(PRIOR_CODES_INPUT, DataType.INT32, ['batch', h, w]);
  const labels = numClasses > 0 ? g.input(PRIOR_LABELS_INPUT, DataType.INT32, ['batch']) : undefined;

  const conv = (x: string, name: string, pads: readonly [number, number, number, number], zero?: (r: number, c: number) => boolean) => {
    const kernel = weight(weights, `${name}.weight`);
    return convNode(g, x, name, zero ? masked(kernel, zero) : kernel, weight(weights, `${name}.bias`), pads);
  };
  /** The per-class bias [N, 2C, 1, 1] of the labels, from the table `<name>.class` [classes, 2C]. */
  const classBias = (name: string): string | undefined => {
    if (labels === undefined || !weights.has(`${name}.class`)) return undefined;
    const table = weight(weights, `${name}.class`);
    const rows = g.node('Gather', [g.constant(`${name}.class`, table.data, table.shape), labels], { axis: 0 });
    return g.node('Reshape', [rows, g.constantInt64(`${name}.class_shape`, [-1, 2 * C, 1, 1])]);
  };
  const gate = (x: string): string => {
    const [a, b] = g.nodeWithOutputs('Split', [x], 2, { axis: 1 });
    return g.node('Mul', [g.node('Tanh', [a!]), g.node('Sigmoid', [b!])]);
  };

  const embedding = weight(weights, 'prior.embedding');
  const embedded = toChannelsFirst(g, g.node('Gather', [g.constant('prior.embedding', embedding.data, embedding.shape), codes], { axis: 0 }));
  let xv = embedded;
  let xh = embedded;
  let skip: string | undefined;
  for (let i = 0; i <= layers; i++) {
    const first = i === 0;
    const last = i === layers;
    // pads are [top, left, bottom, right]; mask A in the first layer.
    const vPre = conv(xv, `prior.v.${i}`, [p, p, 0, p], first ? (r) => r === p : undefined);
    let hPre = g.node('Add', [conv(xh, `prior.h.${i}`, [0, p, 0, 0], first ? (_, c) => c === p : undefined), conv(vPre, `prior.v2h.${i}`, [0, 0, 0, 0])]);
    const hClass = classBias(`prior.h.${i}`);
    if (hClass) hPre = g.node('Add', [hPre, hClass]);
    const gated = gate(hPre);
    const layerSkip = conv(gated, `prior.skip.${i}`, [0, 0, 0, 0]);
    skip = skip === undefined ? layerSkip : g.node('Add', [skip, layerSkip]);
    if (last) break;
    const vClass = classBias(`prior.v.${i}`);
    xv = gate(vClass ? g.node('Add', [vPre, vClass]) : vPre);
    const out = conv(gated, `prior.hout.${i}`, [0, 0, 0, 0]);
    xh = first ? out : g.node('Add', [out, xh]);
  }
  const hidden = g.node('Relu', [conv(g.node('Relu', [skip!]), 'prior.out.0', [0, 0, 0, 0])]);
  const logits = toChannelsLast(g, conv(hidden, 'prior.out.1', [0, 0, 0, 0]));
  g.output(logits, PRIOR_OUTPUT, DataType.FLOAT, ['batch', h, w, K]);
  return g;
}
