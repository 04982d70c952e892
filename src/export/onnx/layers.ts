/**
 * The model's layers as ONNX nodes, NCHW, with weights turned from tfjs's
 * layouts into ONNX's at export time:
 *
 *   convolution            [kh, kw, in, out] (HWIO) → [out, in, kh, kw] (OIHW)
 *   transposed convolution [kh, kw, out, in]        → [in, out, kh, kw]
 *
 * Both sides define the transposed convolution as the gradient of the
 * convolution (no kernel flip), so only the axes move. Padding 1 on both
 * sides of a 4x4 stride-2 transposed convolution gives out = 2 * in, which
 * is the 'same' padding the tfjs layer uses (model/layers.ts).
 */
import type { GraphBuilder } from './graph.js';

/** A model tensor as read from a checkpoint. */
export interface WeightTensor {
  shape: readonly number[];
  data: Float32Array;
}

/** The model's tensors by checkpoint name, e.g. `encoder.down.0.weight`. */
export type Weights = ReadonlyMap<string, WeightTensor>;

/** The tensor called `name`; the exporter has checked that every one is there. */
export function weight(weights: Weights, name: string): WeightTensor {
  const tensor = weights.get(name);
  if (!tensor) throw new Error(`ONNX export: no tensor ${name}`);
  return tensor;
}

/** `data` of shape `shape`, its axes reordered: out axis i is in axis perm[i] (numpy's transpose). */
export function transposeData(data: Float32Array, shape: readonly number[], perm: readonly number[]): { data: Float32Array; shape: number[] } {
  const rank = shape.length;
  const outShape = perm.map((p) => shape[p]!);
  const inStrides = new Array<number>(rank).fill(1);
  for (let i = rank - 2; i >= 0; i--) inStrides[i] = inStrides[i + 1]! * shape[i + 1]!;
  const strideOfOutAxis = perm.map((p) => inStrides[p]!);
  const out = new Float32Array(data.length);
  const index = new Array<number>(rank).fill(0);
  for (let o = 0; o < out.length; o++) {
    let offset = 0;
    for (let a = 0; a < rank; a++) offset += index[a]! * strideOfOutAxis[a]!;
    out[o] = data[offset]!;
    for (let a = rank - 1; a >= 0; a--) {
      if (++index[a]! < outShape[a]!) break;
      index[a] = 0;
    }
  }
  return { data: out, shape: outShape };
}

export interface ConvOptions {
  stride: number;
  /** The same padding on every side. */
  pad: number;
  relu?: boolean;
}

/**
 * A Conv node of a tfjs filter `hwio` [kh, kw, in, out] and `bias` [out];
 * `pads` is [top, left, bottom, right] (ONNX's order), stride 1 unless given.
 */
export function convNode(
  g: GraphBuilder,
  x: string,
  name: string,
  hwio: WeightTensor,
  bias: WeightTensor,
  pads: readonly [number, number, number, number],
  stride = 1,
): string {
  const [kh, kw] = hwio.shape as [number, number, number, number];
  const oihw = transposeData(hwio.data, hwio.shape, [3, 2, 0, 1]);
  return g.node('Conv', [x, g.constant(`${name}.weight`, oihw.data, oihw.shape), g.constant(`${name}.bias`, bias.data, bias.shape)], {
    kernel_shape: [kh, kw],
    strides: [stride, stride],
    pads: [...pads],
  });
}

/** Conv (+ Relu) with the weights `<name>.weight` (HWIO) and `<name>.bias`. */
export function conv(g: GraphBuilder, x: string, weights: Weights, name: string, options: ConvOptions): string {
  const p = options.pad;
  const y = convNode(g, x, name, weight(weights, `${name}.weight`), weight(weights, `${name}.bias`), [p, p, p, p], options.stride);
  return options.relu ? g.node('Relu', [y]) : y;
}

/**
 * The 4x4 stride-2 ConvTranspose that doubles H and W, weights `<name>.weight`
 * ([kh, kw, out, in]) and `<name>.bias`; `pads` [top, left, bottom, right]
 * other than 1 for an output size that is not 2x (model/layers.ts's
 * ConvTranspose2d with an explicit size: `samePads` of the output).
 */
export function convTranspose(g: GraphBuilder, x: string, weights: Weights, name: string, pads: readonly [number, number, number, number] = [1, 1, 1, 1]): string {
  const w = weight(weights, `${name}.weight`);
  const [kh, kw] = w.shape as [number, number, number, number];
  const iokk = transposeData(w.data, w.shape, [3, 2, 0, 1]);
  const b = weight(weights, `${name}.bias`);
  return g.node('ConvTranspose', [x, g.constant(`${name}.weight`, iokk.data, iokk.shape), g.constant(`${name}.bias`, b.data, b.shape)], {
    kernel_shape: [kh, kw],
    strides: [2, 2],
    pads: [...pads],
  });
}

/**
 * tfjs's 'same' padding of a stride-2 convolution with kernel k on an
 * [h, w] input, in ONNX's order [top, left, bottom, right]: the odd pixel
 * at the bottom and right (1, 1, 1, 1 for k = 4 and even sizes).
 */
export function samePads([h, w]: readonly [number, number], k = 4): [number, number, number, number] {
  const total = (n: number) => Math.max((Math.ceil(n / 2) - 1) * 2 + k - n, 0);
  const [th, tw] = [total(h), total(w)];
  return [Math.floor(th / 2), Math.floor(tw / 2), th - Math.floor(th / 2), tw - Math.floor(tw / 2)];
}

/**
 * The residual stack of model/residualStack.ts: per block
 * x + conv1x1(relu(conv3x3(relu(x)))), then a final ReLU.
 */
export function residualStack(g: GraphBuilder, x: string, weights: Weights, name: string, blocks: number): string {
  let h = x;
  for (let i = 0; i < blocks; i++) {
    const inner = conv(g, g.node('Relu', [h]), weights, `${name}.${i}.conv3`, { stride: 1, pad: 1, relu: true });
    h = g.node('Add', [h, conv(g, inner, weights, `${name}.${i}.conv1`, { stride: 1, pad: 0 })]);
  }
  return g.node('Relu', [h]);
}

/** NHWC → NCHW. */
export function toChannelsFirst(g: GraphBuilder, x: string): string {
  return g.node('Transpose', [x], { perm: [0, 3, 1, 2] });
}

/** NCHW → NHWC. */
export function toChannelsLast(g: GraphBuilder, x: string): string {
  return g.node('Transpose', [x], { perm: [0, 2, 3, 1] });
}
