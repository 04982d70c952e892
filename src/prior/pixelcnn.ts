/**
 * A Gated PixelCNN (van den Oord et al. 2016, "Conditional Image Generation
 * with PixelCNN Decoders") over a grid of code indices: the prior p(z) of the
 * VQ-VAE (van den Oord et al. 2017, section 3.2), factorised in raster order,
 *
 *   p(z) = prod_i p(z_i | z_<i),   each factor a K-way softmax.
 *
 * Axes: n - batch, y, x - code grid rows and columns (h x w), c - channels
 * (C = config.channels), k - code values (K). Codes [n, h, w] int32 become
 * logits [n, h, w, K]; a batch of 64 Fashion-MNIST grids is [64, 7, 7] →
 * [64, 7, 7, 512].
 *
 * The network: a code embedding [K, C] feeds two stacks of gated layers.
 * - The vertical stack sees rows above: its kernel is (k//2+1) x k over rows
 *   y-k//2 .. y (zero padding above, none below). In the first layer the
 *   kernel's last row is masked (mask A), so from then on the vertical
 *   features at row y depend on rows < y only: the stack is down-shifted.
 * - The horizontal stack sees the current row up to x: kernel 1 x (k//2+1)
 *   over columns x-k//2 .. x; the first layer masks its last column (mask A:
 *   the current code itself is excluded), later layers keep it (mask B: the
 *   features at x hold only what came before x). It also receives the
 *   vertical stack's pre-activation through a 1x1 convolution, which is safe
 *   because that holds rows above only. Together there is no blind spot.
 * - Each layer's gate is tanh(a + c_a) * sigmoid(b + c_b) (equation 4), where
 *   c is a learned per-class bias (V^T h with h one-hot, equation 5) when
 *   numClasses > 0. The horizontal stack has a 1x1 convolution and a residual
 *   connection (not in the first layer, whose input holds the current code;
 *   the last layer needs neither, nor a vertical gate: only its skip is used);
 *   every layer adds a 1x1 convolution of its horizontal gate to a skip sum.
 * - Head: ReLU, 1x1 conv C → C, ReLU, 1x1 conv C → K: the logits.
 * - A bottom-level prior of the two-level model (topCodebookSize > 0) is also
 *   conditioned on the top level's code grid [n, ht, wt], as PixelSNAIL's
 *   condition in rosinality/vq-vae-2-pytorch: the top codes are upsampled to
 *   the bottom grid (nearest: bottom row y reads top row floor(y ht / h)),
 *   embedded [Kt, C], passed through CONDITION_LAYERS residual 3x3
 *   convolutions (not masked: every top code is known before the bottom grid
 *   is drawn), and each gated layer adds a 1x1 convolution of the result to
 *   its gates, as the class bias but per position (equation 5 with a spatial
 *   h). So the logits at a bottom position may depend on any top code but
 *   still on no bottom code at or after it.
 *
 * Masks are constants (not variables, not saved); the masked weights stay in
 * the variables, always multiplied by zero. Initialisation is PyTorch's
 * default (uniform in ±1/sqrt(fan_in)); the class biases take the bound of a
 * linear layer on a one-hot class vector, the embedding N(0, 1) as
 * nn.Embedding does.
 */
import '../engine.js';
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../errors.js';
import { addVariable, uniform, type VariableMap } from '../model/layers.js';
import { mulberry32, nextSeed, type Rng } from '../random.js';
import { validatePriorConfig, type PriorConfig } from './config.js';

/** A convolution's variables, with an optional constant mask on the weight. */
interface MaskedConv {
  weight: tf.Variable;
  bias: tf.Variable;
  mask?: tf.Tensor4D;
}

function makeConv(vars: VariableMap, name: string, shape: [number, number, number, number], rng: Rng): MaskedConv {
  const [kh, kw, cin, cout] = shape;
  const bound = 1 / Math.sqrt(kh * kw * cin);
  return {
    weight: addVariable(vars, `${name}.weight`, uniform(shape, bound, rng)),
    bias: addVariable(vars, `${name}.bias`, uniform([cout], bound, rng)),
  };
}

/** x [n, y, x, c] padded as `pad` (top, bottom, left, right), then a valid convolution. */
function applyConv(conv: MaskedConv, x: tf.Tensor4D, pad: [number, number, number, number] = [0, 0, 0, 0]): tf.Tensor4D {
  const [top, bottom, left, right] = pad;
  const padded = top + bottom + left + right > 0 ? tf.pad(x, [[0, 0], [top, bottom], [left, right], [0, 0]]) : x;
  const filter = (conv.mask ? tf.mul(conv.weight, conv.mask) : conv.weight) as tf.Tensor4D;
  return tf.add(tf.conv2d(padded, filter, 1, 'valid'), conv.bias) as tf.Tensor4D;
}

/** tanh(first half) * sigmoid(second half) along the channels. */
function gate(x: tf.Tensor4D): tf.Tensor4D {
  const [a, b] = tf.split(x, 2, 3);
  return tf.mul(tf.tanh(a!), tf.sigmoid(b!));
}

/** A mask of `shape` that is 1 everywhere except 0 where `zero(row, column)`. */
function kernelMask(shape: [number, number, number, number], zero: (row: number, column: number) => boolean): tf.Tensor4D {
  const [kh, kw, cin, cout] = shape;
  const values = new Float32Array(kh * kw * cin * cout).fill(1);
  for (let r = 0; r < kh; r++) {
    for (let c = 0; c < kw; c++) {
      if (zero(r, c)) values.fill(0, (r * kw + c) * cin * cout, (r * kw + c + 1) * cin * cout);
    }
  }
  return tf.tensor4d(values, shape);
}

/** The per-class bias [n, 1, 1, 2C] of each grid's label, or undefined without classes. */
function classBias(table: tf.Variable | undefined, labels: tf.Tensor1D | undefined): tf.Tensor4D | undefined {
  if (!table || !labels) return undefined;
  return tf.reshape(tf.gather(table, labels), [labels.shape[0], 1, 1, table.shape[1]!]);
}

/** Residual 3x3 convolutions over the upsampled top codes. */
export const CONDITION_LAYERS = 2;

/** x + the bias of the class, and of the top grid's features at each position, where there are any. */
function addBiases(x: tf.Tensor4D, cls: tf.Tensor4D | undefined, top: MaskedConv | undefined, features: tf.Tensor4D | undefined): tf.Tensor4D {
  let y = cls ? (tf.add(x, cls) as tf.Tensor4D) : x;
  if (top && features) y = tf.add(y, applyConv(top, features)) as tf.Tensor4D;
  return y;
}

/** One gated layer: vertical and horizontal stacks, their link, the residual and the skip output. */
class GatedLayer {
  private readonly v: MaskedConv;
  private readonly h: MaskedConv;
  private readonly v2h: MaskedConv;
  private readonly hOut?: MaskedConv;
  private readonly skip: MaskedConv;
  private readonly vClass?: tf.Variable;
  private readonly hClass?: tf.Variable;
  private readonly vTop?: MaskedConv;
  private readonly hTop?: MaskedConv;
  private readonly half: number;

  constructor(readonly index: number, readonly last: boolean, config: PriorConfig, vars: VariableMap, rng: Rng) {
    const { channels: c, kernelSize: k, numClasses } = config;
    this.half = Math.floor(k / 2);
    const vShape: [number, number, number, number] = [this.half + 1, k, c, 2 * c];
    const hShape: [number, number, number, number] = [1, this.half + 1, c, 2 * c];
    this.v = makeConv(vars, `prior.v.${index}`, vShape, rng);
    this.h = makeConv(vars, `prior.h.${index}`, hShape, rng);
    this.v2h = makeConv(vars, `prior.v2h.${index}`, [1, 1, 2 * c, 2 * c], rng);
    // The last layer's stacks feed nothing but its skip output: no vertical class bias, no horizontal 1x1.
    if (!last) this.hOut = makeConv(vars, `prior.hout.${index}`, [1, 1, c, c], rng);
    this.skip = makeConv(vars, `prior.skip.${index}`, [1, 1, c, c], rng);
    if (numClasses > 0) {
      const bound = 1 / Math.sqrt(numClasses);
      if (!last) this.vClass = addVariable(vars, `prior.v.${index}.class`, uniform([numClasses, 2 * c], bound, rng));
      this.hClass = addVariable(vars, `prior.h.${index}.class`, uniform([numClasses, 2 * c], bound, rng));
    }
    if (config.topCodebookSize > 0) {
      if (!last) this.vTop = makeConv(vars, `prior.v.${index}.top`, [1, 1, c, 2 * c], rng);
      this.hTop = makeConv(vars, `prior.h.${index}.top`, [1, 1, c, 2 * c], rng);
    }
    if (index === 0) {
      // Mask A: the vertical kernel's last row (the current row) and the horizontal kernel's last column (the current code).
      this.v.mask = kernelMask(vShape, (r) => r === this.half);
      this.h.mask = kernelMask(hShape, (_, col) => col === this.half);
    }
  }

  /** xv, xh [n, y, x, c]; labels [n] int32 when conditional; top: the top grid's features [n, y, x, c] of the same rows. */
  apply(xv: tf.Tensor4D, xh: tf.Tensor4D, labels?: tf.Tensor1D, top?: tf.Tensor4D): { v?: tf.Tensor4D; h?: tf.Tensor4D; skip: tf.Tensor4D } {
    const { v, link } = this.vertical(xv, labels, top);
    return { v, ...this.horizontal(xh, link, labels) };
  }

  /**
   * The vertical stack: its gated output (for the next layer) and what the
   * horizontal stack of the same rows takes from outside it: v2h(vPre), plus
   * the top grid's bias on the horizontal gates when conditioned on one.
   */
  vertical(xv: tf.Tensor4D, labels?: tf.Tensor1D, top?: tf.Tensor4D): { v?: tf.Tensor4D; link: tf.Tensor4D } {
    const p = this.half;
    const vPre = applyConv(this.v, xv, [p, 0, p, p]);
    let v: tf.Tensor4D | undefined;
    if (!this.last) v = gate(addBiases(vPre, classBias(this.vClass, labels), this.vTop, top));
    return { v, link: addBiases(applyConv(this.v2h, vPre), undefined, this.hTop, top) };
  }

  /** The horizontal stack, given the vertical link of the same rows. */
  horizontal(xh: tf.Tensor4D, link: tf.Tensor4D, labels?: tf.Tensor1D): { h?: tf.Tensor4D; skip: tf.Tensor4D } {
    let hPre = tf.add(applyConv(this.h, xh, [0, 0, this.half, 0]), link) as tf.Tensor4D;
    const ch = classBias(this.hClass, labels);
    if (ch) hPre = tf.add(hPre, ch);
    const gated = gate(hPre);
    const skip = applyConv(this.skip, gated);
    if (!this.hOut) return { skip };
    const out = applyConv(this.hOut, gated);
    return { h: this.index === 0 ? out : (tf.add(out, xh) as tf.Tensor4D), skip };
  }

  masks(): tf.Tensor[] {
    return [this.v.mask, this.h.mask].filter((m): m is tf.Tensor4D => m !== undefined);
  }
}

export class PixelCnn {
  readonly config: PriorConfig;
  /** Every variable by name: `prior.embedding` [K, C], `prior.v.0.weight` [2, 3, C, 2C], ... */
  readonly variables: ReadonlyMap<string, tf.Variable>;
  private readonly embedding: tf.Variable;
  private readonly layers: GatedLayer[] = [];
  private readonly output: [MaskedConv, MaskedConv];
  private readonly top?: { embedding: tf.Variable; convs: MaskedConv[]; rows: tf.Tensor1D };

  /** A freshly initialised prior; the same seed gives the same weights on every backend. */
  constructor(config: PriorConfig, seed = 0) {
    this.config = validatePriorConfig(config);
    const { codebookSize: K, channels: c, layers } = this.config;
    const rng = mulberry32(seed);
    const vars: VariableMap = new Map();
    this.embedding = addVariable(vars, 'prior.embedding', tf.randomNormal([K, c], 0, 1, 'float32', nextSeed(rng)));
    for (let i = 0; i <= layers; i++) this.layers.push(new GatedLayer(i, i === layers, this.config, vars, rng));
    this.output = [makeConv(vars, 'prior.out.0', [1, 1, c, c], rng), makeConv(vars, 'prior.out.1', [1, 1, c, K], rng)];
    const { topCodebookSize: Kt, topHeight: ht, topWidth: wt, height: h, width: w } = this.config;
    if (Kt > 0) {
      const embedding = addVariable(vars, 'prior.top.embedding', tf.randomNormal([Kt, c], 0, 1, 'float32', nextSeed(rng)));
      const convs = Array.from({ length: CONDITION_LAYERS }, (_, i) => makeConv(vars, `prior.top.conv.${i}`, [3, 3, c, c], rng));
      // Nearest upsampling as a gather: bottom cell (y, x) reads top cell (floor(y ht / h), floor(x wt / w)).
      const cells = Int32Array.from({ length: h * w }, (_, i) => Math.floor((Math.floor(i / w) * ht) / h) * wt + Math.floor(((i % w) * wt) / w));
      this.top = { embedding, convs, rows: tf.tensor1d(cells, 'int32') };
    }
    this.variables = vars;
  }

  /**
   * A prior with the given weights, e.g. from a safetensors file read in the
   * browser. Every variable must be there with its shape; names starting with
   * `adam.` (optimizer state) are ignored, any other extra name is an error.
   */
  static fromTensors(config: PriorConfig, tensors: ReadonlyMap<string, tf.Tensor>): PixelCnn {
    const prior = new PixelCnn(config);
    try {
      const problems: string[] = [];
      for (const [name, v] of prior.variables) {
        const t = tensors.get(name);
        if (!t) problems.push(`missing ${name}`);
        else if (t.shape.join(',') !== v.shape.join(',')) problems.push(`${name} has shape [${t.shape.join(', ')}], expected [${v.shape.join(', ')}]`);
      }
      for (const name of tensors.keys()) if (!name.startsWith('adam.') && !prior.variables.has(name)) problems.push(`unexpected ${name}`);
      if (problems.length > 0) throw new PriorMismatchError(`the weights do not match the prior config: ${problems.join('; ')}`);
      for (const [name, v] of prior.variables) tf.tidy(() => v.assign(tf.cast(tensors.get(name)!, 'float32')));
    } catch (error) {
      prior.dispose();
      throw error;
    }
    return prior;
  }

  /**
   * codes int32 [n, h, w] in 0..K-1, labels int32 [n] (iff numClasses > 0),
   * top int32 [n, ht, wt] in 0..Kt-1 (iff topCodebookSize > 0) → logits
   * float32 [n, h, w, K].
   */
  logits(codes: tf.Tensor3D, labels?: tf.Tensor1D, top?: tf.Tensor3D): tf.Tensor4D {
    const { height, width } = this.config;
    if (codes.rank !== 3 || codes.shape[1] !== height || codes.shape[2] !== width) {
      throw new Error(`codes must be [batch, ${height}, ${width}] for this prior, found [${codes.shape.join(', ')}]`);
    }
    return this.logitsOfRows(codes, labels, top);
  }

  /**
   * Logits for a grid of the prior's width and any number of rows: the
   * network is causal, so the first r rows of the logits depend only on the
   * first r rows of the codes.
   */
  logitsOfRows(codes: tf.Tensor3D, labels?: tf.Tensor1D, top?: tf.Tensor3D): tf.Tensor4D {
    this.checkInputs(codes, labels, top);
    return tf.tidy(() => {
      let xv = this.embed(codes);
      let xh = xv;
      const features = this.topFeatures(top, codes.shape[1]);
      let skip: tf.Tensor4D | undefined;
      for (const layer of this.layers) {
        const out = layer.apply(xv, xh, labels, features);
        skip = skip ? (tf.add(skip, out.skip) as tf.Tensor4D) : out.skip;
        if (out.v) xv = out.v;
        if (out.h) xh = out.h;
      }
      return this.head(skip!);
    });
  }

  /** The top grid [n, ht, wt] → its features on the first `rows` rows of the bottom grid [n, rows, w, C]; undefined without one. */
  private topFeatures(top: tf.Tensor3D | undefined, rows: number): tf.Tensor4D | undefined {
    if (!this.top || !top) return undefined;
    const { height: h, width: w, channels: c } = this.config;
    const n = top.shape[0];
    const upsampled = tf.gather(tf.reshape(top, [n, -1]), this.top.rows, 1);
    let x = tf.reshape(tf.gather(this.top.embedding, tf.reshape(upsampled, [-1])), [n, h, w, c]) as tf.Tensor4D;
    for (const conv of this.top.convs) x = tf.add(x, applyConv(conv, tf.relu(x), [1, 1, 1, 1])) as tf.Tensor4D;
    return rows === h ? x : tf.slice(x, [0, 0, 0, 0], [n, rows, w, c]);
  }

  private embed(codes: tf.Tensor3D): tf.Tensor4D {
    const [n, rows, cols] = codes.shape;
    return tf.reshape(tf.gather(this.embedding, tf.reshape(codes, [-1])), [n, rows, cols, this.config.channels]);
  }

  /** ReLU, 1x1 conv, ReLU, 1x1 conv: the skip sum → logits. */
  private head(skip: tf.Tensor4D): tf.Tensor4D {
    const [hidden, output] = this.output;
    return applyConv(output, tf.relu(applyConv(hidden, tf.relu(skip))));
  }

  /** Throws unless the inputs fit the config; `topInContext`: the top grid's part is already in a rowContext. */
  private checkInputs(codes: tf.Tensor3D, labels?: tf.Tensor1D, top?: tf.Tensor3D, topInContext = false): void {
    const { width, numClasses, topCodebookSize, topHeight, topWidth } = this.config;
    if (topInContext) {
      if (top) throw new Error('logitsOfRow takes no top codes: they are in its rowContext');
    } else if (topCodebookSize > 0) {
      if (!top) throw new Error(`this prior is conditioned on a ${topHeight}x${topWidth} top code grid: top codes [batch, ${topHeight}, ${topWidth}] are required`);
      if (top.rank !== 3 || top.shape[0] !== codes.shape[0] || top.shape[1] !== topHeight || top.shape[2] !== topWidth || top.dtype !== 'int32') {
        throw new Error(`top codes must be int32 [${codes.shape[0]}, ${topHeight}, ${topWidth}], found ${top.dtype} [${top.shape.join(', ')}]`);
      }
    } else if (top) {
      throw new Error('this prior is not conditioned on a top code grid: it takes no top codes');
    }
    if (codes.rank !== 3 || codes.shape[2] !== width) {
      throw new Error(`codes must be [batch, rows, ${width}] for this prior, found [${codes.shape.join(', ')}]`);
    }
    if (codes.dtype !== 'int32') throw new Error(`codes must be int32, found ${codes.dtype}`);
    if (numClasses > 0) {
      if (!labels) throw new Error(`this prior is conditioned on ${numClasses} classes: labels [batch] are required`);
      if (labels.rank !== 1 || labels.shape[0] !== codes.shape[0] || labels.dtype !== 'int32') {
        throw new Error(`labels must be int32 [${codes.shape[0]}], found ${labels.dtype} [${labels.shape.join(', ')}]`);
      }
    } else if (labels) {
      throw new Error('this prior is unconditional: it takes no labels');
    }
  }

  /**
   * For sampling row y fast: the vertical stack's links to the horizontal
   * stack at row y, one [n, 1, w, 2C] tensor per layer, from the codes of
   * rows 0..y ([n, y+1, w]; row y itself is not read, the masks see to it).
   * They stay fixed while row y fills, so each position then costs only the
   * horizontal stack over one row (`logitsOfRow`); with a top grid they
   * include its bias on row y's horizontal gates. The caller disposes them.
   */
  rowContext(codes: tf.Tensor3D, labels?: tf.Tensor1D, top?: tf.Tensor3D): tf.Tensor4D[] {
    this.checkInputs(codes, labels, top);
    return tf.tidy(() => {
      const [n, rows, cols] = codes.shape;
      let xv = this.embed(codes);
      const features = this.topFeatures(top, rows);
      const links: tf.Tensor4D[] = [];
      for (const layer of this.layers) {
        const { v, link } = layer.vertical(xv, labels, features);
        links.push(tf.slice(link, [0, rows - 1, 0, 0], [n, 1, cols, link.shape[3]]));
        if (v) xv = v;
      }
      return links;
    });
  }

  /** Logits [n, 1, w, K] of one row, from its codes [n, 1, w] (filled up to the position wanted) and its `rowContext`. */
  logitsOfRow(row: tf.Tensor3D, context: readonly tf.Tensor4D[], labels?: tf.Tensor1D): tf.Tensor4D {
    this.checkInputs(row, labels, undefined, true);
    if (row.shape[1] !== 1 || context.length !== this.layers.length) {
      throw new Error(`logitsOfRow takes one row [n, 1, w] and ${this.layers.length} context tensors, found [${row.shape.join(', ')}] and ${context.length}`);
    }
    return tf.tidy(() => {
      let xh = this.embed(row);
      let skip: tf.Tensor4D | undefined;
      this.layers.forEach((layer, i) => {
        const out = layer.horizontal(xh, context[i]!, labels);
        skip = skip ? (tf.add(skip, out.skip) as tf.Tensor4D) : out.skip;
        if (out.h) xh = out.h;
      });
      return this.head(skip!);
    });
  }

  dispose(): void {
    for (const v of this.variables.values()) v.dispose();
    for (const layer of this.layers) tf.dispose(layer.masks());
    this.top?.rows.dispose();
  }
}

/** Weights that do not fit the prior's config. */
export class PriorMismatchError extends UserError {}
