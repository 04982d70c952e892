/**
 * Residual vector quantization (Zeghidour et al. 2021, SoundStream, algorithm
 * 1; EnCodec): n codebooks, each quantizing what the ones before it left:
 *
 *   r_0 = z_e;  e_i = nearest code of r_i in codebook i;  r_{i+1} = r_i - e_i
 *   z_q = e_0 + ... + e_{n-1}
 *
 * so a vector's code is n indices, and a grid of indices is [b, h, w, n]
 * (index i of the last axis from codebook i). Each codebook is one VQ layer
 * (vectorQuantizer.ts by default; `layer` picks another) applied to its
 * residual, with the residuals of later layers cut from the gradient of
 * earlier codes (r_{i+1} = r_i - stopgrad(e_i), as
 * lucidrains/vector-quantize-pytorch residual_vq.py). The losses of the
 * layers add up; the encoder sees the whole sum through one straight-through
 * estimator, z_e + stopgrad(z_q - z_e).
 *
 * Usage (perplexity, codes used) counts the indices of every layer together
 * over the K bins, as `codeCounts` of the [b, h, w, n] grid does.
 *
 * Axis legend: b - batch, h, w - code grid, d - code dimension, k - codes
 * per codebook, n - depth.
 */
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../errors.js';
import { mulberry32, nextSeed } from '../random.js';
import { codeCounts, stopGradient, usageMetrics } from './ops.js';
import type { CodeIndices, Quantizer, QuantizerOutput } from './types.js';
import { checkInputs, checkQuantizerSizes, VectorQuantizer } from './vectorQuantizer.js';

export interface ResidualVqOptions {
  /** Codes per codebook K (the same for every layer). */
  codebookSize: number;
  /** Code dimension D: the last axis of the inputs. */
  codeDim: number;
  /** Number of codebooks n >= 1. */
  depth: number;
  /** Commitment cost beta of each layer; 0.25 as the VQ. */
  beta?: number;
  /** Seed; layer i gets the i-th seed drawn from it. */
  seed?: number;
  /** Variable name prefix; layer i's variables are `<name>.layers.<i>.*`. */
  name?: string;
  /**
   * Builds layer i (default: a VectorQuantizer of K codes, D, beta). It must
   * quantize [b, h, w, D] to [b, h, w] indices of `codebookSize` codes.
   */
  layer?: (index: number, options: { codebookSize: number; codeDim: number; beta: number; seed: number; name: string }) => Quantizer;
}

export const RVQ_DEFAULTS = { beta: 0.25, seed: 0, name: 'quantizer' } as const;

export class ResidualVQ implements Quantizer {
  readonly codebookSize: number;
  readonly codeDim: number;
  readonly depth: number;
  readonly layers: Quantizer[];
  readonly name: string;

  constructor(options: ResidualVqOptions) {
    const { codebookSize, codeDim, depth } = options;
    checkQuantizerSizes(codebookSize, codeDim);
    if (!Number.isInteger(depth) || depth < 1) throw new UserError(`RVQ depth must be an integer >= 1, found ${depth}`);
    this.codebookSize = codebookSize;
    this.codeDim = codeDim;
    this.depth = depth;
    this.name = options.name ?? RVQ_DEFAULTS.name;
    const beta = options.beta ?? RVQ_DEFAULTS.beta;
    const rng = mulberry32(options.seed ?? RVQ_DEFAULTS.seed);
    const make = options.layer ?? ((_, o): Quantizer => new VectorQuantizer(o));
    this.layers = [];
    for (let i = 0; i < depth; i++) {
      const layer = make(i, { codebookSize, codeDim, beta, seed: nextSeed(rng), name: `${this.name}.layers.${i}` });
      if (layer.codebookSize !== codebookSize || layer.codeDim !== codeDim || (layer.depth ?? 1) !== 1) {
        throw new Error(`RVQ layer ${i} must have ${codebookSize} codes of dimension ${codeDim} and depth 1`);
      }
      this.layers.push(layer);
    }
  }

  /** The first layer's codebook [k, d]. */
  get codebook(): tf.Variable {
    return this.layers[0]!.codebook;
  }

  apply(inputs: tf.Tensor4D): QuantizerOutput {
    checkInputs(inputs, this.codeDim);
    return tf.tidy(() => {
      let residual = inputs;
      let sum: tf.Tensor4D | undefined;
      let loss = tf.scalar(0);
      const indices: tf.Tensor3D[] = [];
      for (const layer of this.layers) {
        const out = layer.apply(residual);
        // The code itself, exactly as `lookup` and `update` see it (the layer's
        // straight-through output equals it only up to rounding).
        const code = stopGradient(layer.lookup(out.indices)) as tf.Tensor4D;
        sum = sum ? (tf.add(sum, code) as tf.Tensor4D) : code;
        residual = tf.sub(residual, code) as tf.Tensor4D;
        loss = tf.add(loss, out.loss);
        indices.push(out.indices as tf.Tensor3D);
      }
      const all = tf.stack(indices, 3) as tf.Tensor4D; // [b, h, w, n]
      const quantized = tf.add(inputs, stopGradient(tf.sub(sum!, inputs))) as tf.Tensor4D;
      const commitmentLoss = tf.mean(tf.squaredDifference(inputs, stopGradient(sum!))) as tf.Scalar;
      return { quantized, indices: all, loss: loss as tf.Scalar, commitmentLoss, ...usageMetrics(codeCounts(all, this.codebookSize)) };
    });
  }

  /** Each layer's update on its own residual, r_{i+1} = r_i - e_i with e_i from the step's indices. */
  update(inputs: tf.Tensor4D, indices: CodeIndices): void {
    const perLayer = this.split(indices);
    let residual = tf.clone(inputs);
    try {
      this.layers.forEach((layer, i) => {
        // The next residual from the codes the step used, before this layer's update moves them.
        const codes = i + 1 < this.depth ? layer.lookup(perLayer[i]!) : undefined;
        layer.update(residual, perLayer[i]!);
        if (codes) {
          const next = tf.sub(residual, codes) as tf.Tensor4D;
          tf.dispose([codes, residual]);
          residual = next;
        }
      });
    } finally {
      tf.dispose([residual, ...perLayer]);
    }
  }

  /** Sum of each layer's code: indices [b, h, w, n] → [b, h, w, d]. */
  lookup(indices: CodeIndices): tf.Tensor4D {
    const perLayer = this.split(indices);
    try {
      return tf.tidy(() => tf.addN(this.layers.map((layer, i) => layer.lookup(perLayer[i]!))) as tf.Tensor4D);
    } finally {
      tf.dispose(perLayer);
    }
  }

  /** [b, h, w, n] → n grids [b, h, w]. */
  private split(indices: CodeIndices): tf.Tensor3D[] {
    if (indices.rank !== 4 || indices.shape[3] !== this.depth) {
      throw new UserError(
        `codes of this residual quantizer must be [batch, height, width, ${this.depth}], found [${indices.shape.join(', ')}]`,
      );
    }
    return tf.unstack(indices, 3) as tf.Tensor3D[];
  }

  trainable(): Record<string, tf.Variable> {
    return Object.assign({}, ...this.layers.map((l) => l.trainable())) as Record<string, tf.Variable>;
  }

  state(): Record<string, tf.Variable> {
    return Object.assign({}, ...this.layers.map((l) => l.state())) as Record<string, tf.Variable>;
  }

  dispose(): void {
    for (const layer of this.layers) layer.dispose();
  }
}
