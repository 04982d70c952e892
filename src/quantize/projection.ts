/**
 * A low-dimensional lookup (ViT-VQGAN, Yu et al. 2022; `codebook_dim` of
 * lucidrains/vector-quantize-pytorch): the encoder output z [b, h, w, D] is
 * projected to d dimensions, quantized there by an inner quantizer (whose
 * codebook is [k, d]), and its code projected back:
 *
 *   p = z W_in + b_in        W_in [D, d]
 *   q = inner(p)             nearest code in d dimensions (cosine with `cosine`)
 *   z_q = q W_out + b_out    W_out [d, D]
 *
 * The inner quantizer's loss (and its commitment term) lives in the d-space,
 * so W_in learns from it and from the reconstruction; W_out from the
 * reconstruction. Every index means the same code in both spaces, so
 * encode/decode/ONNX still work on single indices.
 *
 * Axis legend: b, h, w - batch and code grid, D - code dimension, d - lookup
 * dimension, k - codes, m - vectors.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { CodeIndices, Quantizer, QuantizerOutput, QuantizerTables } from './types.js';

/** Glorot-uniform [rows, cols], seeded. */
function glorot(rows: number, cols: number, seed: number): tf.Tensor2D {
  const limit = Math.sqrt(6 / (rows + cols));
  return tf.randomUniform([rows, cols], -limit, limit, 'float32', seed) as tf.Tensor2D;
}

export class ProjectedQuantizer implements Quantizer {
  readonly codebookSize: number;
  readonly codeDim: number;
  readonly lookupDim: number;
  readonly projectInWeight: tf.Variable;
  readonly projectInBias: tf.Variable;
  readonly projectOutWeight: tf.Variable;
  readonly projectOutBias: tf.Variable;

  /** `inner` quantizes in `inner.codeDim` = d dimensions; `codeDim` is D. */
  constructor(readonly inner: Quantizer, codeDim: number, seed: number, readonly name = 'quantizer') {
    this.codebookSize = inner.codebookSize;
    this.codeDim = codeDim;
    this.lookupDim = inner.codeDim;
    const d = this.lookupDim;
    this.projectInWeight = tf.variable(glorot(codeDim, d, seed), true);
    this.projectInBias = tf.variable(tf.zeros([d]), true);
    this.projectOutWeight = tf.variable(glorot(d, codeDim, seed + 1), true);
    this.projectOutBias = tf.variable(tf.zeros([codeDim]), true);
  }

  get codebook(): tf.Variable {
    return this.inner.codebook;
  }

  /** x [b, h, w, in] → x W + bias [b, h, w, out], along the last axis. */
  private affine(x: tf.Tensor4D, weight: tf.Variable, bias: tf.Variable): tf.Tensor4D {
    return tf.tidy(() => {
      const [b, h, w, inDim] = x.shape;
      const flat = tf.reshape(x, [-1, inDim]) as tf.Tensor2D;
      const y = tf.add(tf.matMul(flat, weight as tf.Tensor2D), bias);
      return tf.reshape(y, [b, h, w, weight.shape[1]!]) as tf.Tensor4D;
    });
  }

  /** z [b, h, w, D] → p [b, h, w, d]. */
  private projectIn(inputs: tf.Tensor4D): tf.Tensor4D {
    return this.affine(inputs, this.projectInWeight, this.projectInBias);
  }

  /** q [b, h, w, d] → [b, h, w, D]. */
  private projectOut(codes: tf.Tensor4D): tf.Tensor4D {
    return this.affine(codes, this.projectOutWeight, this.projectOutBias);
  }

  apply(inputs: tf.Tensor4D): QuantizerOutput {
    return tf.tidy(() => {
      const out = this.inner.apply(this.projectIn(inputs));
      return { ...out, quantized: this.projectOut(out.quantized) };
    });
  }

  update(inputs: tf.Tensor4D, indices: CodeIndices): void {
    const p = this.projectIn(inputs);
    try {
      this.inner.update(p, indices);
    } finally {
      p.dispose();
    }
  }

  lookup(indices: CodeIndices): tf.Tensor4D {
    const codes = this.inner.lookup(indices);
    try {
      return this.projectOut(codes);
    } finally {
      codes.dispose();
    }
  }

  initialize(vectors: tf.Tensor2D, seed?: number): void {
    if (!this.inner.initialize) return;
    const p = tf.tidy(() => {
      const [m, D] = vectors.shape;
      return tf.reshape(this.projectIn(tf.reshape(vectors, [1, 1, m, D]) as tf.Tensor4D), [m, this.lookupDim]) as tf.Tensor2D;
    });
    try {
      this.inner.initialize(p, seed);
    } finally {
      p.dispose();
    }
  }

  takeRestarted(): number {
    return this.inner.takeRestarted?.() ?? 0;
  }

  /** The search in d dimensions, and the decoder's codes already projected back to D. */
  tables(): QuantizerTables {
    const inner = this.inner.tables!();
    const k = this.codebookSize;
    const lookup = tf.tidy(() => {
      const codes = tf.reshape(tf.tensor2d(inner.lookup, [k, this.lookupDim]), [1, 1, k, this.lookupDim]) as tf.Tensor4D;
      return this.projectOut(codes).dataSync() as Float32Array;
    });
    return { search: inner.search, lookup };
  }

  private own(): Record<string, tf.Variable> {
    return {
      [`${this.name}.project_in.weight`]: this.projectInWeight,
      [`${this.name}.project_in.bias`]: this.projectInBias,
      [`${this.name}.project_out.weight`]: this.projectOutWeight,
      [`${this.name}.project_out.bias`]: this.projectOutBias,
    };
  }

  trainable(): Record<string, tf.Variable> {
    return { ...this.own(), ...this.inner.trainable() };
  }

  state(): Record<string, tf.Variable> {
    return { ...this.own(), ...this.inner.state() };
  }

  dispose(): void {
    for (const v of Object.values(this.own())) v.dispose();
    this.inner.dispose();
  }
}
