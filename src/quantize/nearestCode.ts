/**
 * What the two codebook quantizers (vectorQuantizer.ts, vectorQuantizerEma.ts)
 * share beyond the snap itself: the search table (the codebook, or its unit
 * rows with `cosine`), the gradient estimator, k-means initialisation
 * (kmeans.ts) and dead-code restarts (restart.ts). A subclass supplies its
 * loss and how its variables take a new set of codes.
 *
 * Axis legend: b - batch, h, w - code grid, d - code dimension, k - codes,
 * m - vectors (b * h * w).
 */
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../errors.js';
import type { GradientEstimator } from '../model/config.js';
import { kmeans } from './kmeans.js';
import { checkIndexRange, l2Normalize, nearestCodes, snapToCodebook, type Snapped } from './ops.js';
import { DeadCodeRestarter, type Restart } from './restart.js';
import type { CodeIndices, Quantizer, QuantizerOutput, QuantizerTables } from './types.js';

/**
 * Sonnet's codebook initialisation (variance scaling, fan-in D, uniform):
 * codes on the scale of the encoder's outputs at the start, so that many of
 * them are nearest to some input. A codebook in +-1/K, as some PyTorch ports
 * use, starts so close to 0 that one code takes every vector for hundreds of
 * steps.
 */
export function initialCodebook(codebookSize: number, codeDim: number, seed: number): tf.Tensor2D {
  const limit = Math.sqrt(3 / codeDim);
  return tf.randomUniform([codebookSize, codeDim], -limit, limit, 'float32', seed) as tf.Tensor2D;
}

export function checkQuantizerSizes(codebookSize: number, codeDim: number): void {
  if (!Number.isInteger(codebookSize) || codebookSize < 1) {
    throw new UserError(`codebook size must be an integer >= 1, found ${codebookSize}`);
  }
  if (!Number.isInteger(codeDim) || codeDim < 1) {
    throw new UserError(`code dimension must be an integer >= 1, found ${codeDim}`);
  }
}

/** Throws unless `inputs` ends in the code dimension. */
export function checkInputs(inputs: tf.Tensor, codeDim: number): void {
  const last = inputs.shape[inputs.shape.length - 1];
  if (inputs.rank !== 4 || last !== codeDim) {
    throw new Error(
      `quantizer expects inputs [batch, height, width, ${codeDim}], found [${inputs.shape.join(', ')}]`,
    );
  }
}

/** Codes [b, h, w, d] for indices [b, h, w]; rejects indices outside 0..k-1. */
export function lookupCodes(codebook: tf.Tensor, indices: CodeIndices, k: number, d: number): tf.Tensor4D {
  if (indices.rank !== 3) {
    throw new Error(`indices must be [batch, height, width], found [${indices.shape.join(', ')}]`);
  }
  checkIndexRange(indices.dataSync(), k);
  return tf.tidy(() => {
    const [b, h, w] = indices.shape;
    const flat = tf.reshape(tf.cast(indices, 'int32'), [-1]);
    return tf.reshape(tf.gather(codebook, flat), [b, h, w, d]) as tf.Tensor4D;
  });
}

/** The options both codebook quantizers take on top of their own. */
export interface CodebookOptions {
  /** Codebook size K. */
  codebookSize: number;
  /** Code dimension D: the last axis of the inputs. */
  codeDim: number;
  /** Initial codebook [k, d]; default uniform in +-sqrt(3 / D), as Sonnet. */
  initialCodebook?: tf.Tensor2D;
  /** Seed of the default initialisation and of k-means++. */
  seed?: number;
  /** Variable name prefix, so several models can live side by side. */
  name?: string;
  /** Search by cosine similarity: l2-normalised inputs against l2-normalised codes. */
  cosine?: boolean;
  /** 'ste' (default) or 'rotation' (rotation.ts). */
  gradient?: GradientEstimator;
  /** Restart codes whose running usage falls below this (restart.ts); 0 or undefined: never. */
  restartDead?: number;
}

export abstract class NearestCodeQuantizer implements Quantizer {
  readonly codebookSize: number;
  readonly codeDim: number;
  readonly codebook: tf.Variable;
  /** Prefix of the names in `state()`, e.g. 'quantizer' gives 'quantizer.codebook'. */
  readonly name: string;
  readonly cosine: boolean;
  readonly gradient: GradientEstimator;
  protected readonly seed: number;
  protected readonly restarter?: DeadCodeRestarter;

  constructor(options: CodebookOptions, defaultName: string, trainable: boolean) {
    const { codebookSize, codeDim } = options;
    checkQuantizerSizes(codebookSize, codeDim);
    this.codebookSize = codebookSize;
    this.codeDim = codeDim;
    this.name = options.name ?? defaultName;
    this.seed = options.seed ?? 0;
    this.cosine = options.cosine ?? false;
    this.gradient = options.gradient ?? 'ste';
    const initial = options.initialCodebook ?? initialCodebook(codebookSize, codeDim, this.seed);
    if (initial.shape[0] !== codebookSize || initial.shape[1] !== codeDim) {
      throw new Error(`initial codebook must be [${codebookSize}, ${codeDim}], found [${initial.shape.join(', ')}]`);
    }
    this.codebook = tf.variable(this.cosine ? l2Normalize(initial) : initial, trainable);
    if (!options.initialCodebook) initial.dispose();
    if (options.restartDead !== undefined && options.restartDead > 0) {
      this.restarter = new DeadCodeRestarter(codebookSize, options.restartDead);
    }
  }

  /** The codes the search compares against [k, d]: the codebook, or its unit rows with `cosine`. Call inside tidy. */
  protected searchCodes(): tf.Tensor2D {
    return this.cosine ? l2Normalize(this.codebook as tf.Tensor2D) : (this.codebook as tf.Tensor2D);
  }

  /** The snap of `inputs` with this quantizer's search and gradient. Call inside tidy. */
  protected snap(inputs: tf.Tensor4D): Snapped {
    checkInputs(inputs, this.codeDim);
    return snapToCodebook(inputs, this.searchCodes(), { cosine: this.cosine, gradient: this.gradient });
  }

  /** apply(inputs).indices alone: the same search, without the snap, the losses or the usage metrics (encoding). */
  nearestIndices(inputs: tf.Tensor4D): CodeIndices {
    checkInputs(inputs, this.codeDim);
    const [b, h, w] = inputs.shape;
    return tf.tidy(() => tf.reshape(nearestCodes(this.searchVectors(inputs), this.searchCodes()), [b, h, w]) as tf.Tensor3D);
  }

  abstract apply(inputs: tf.Tensor4D): QuantizerOutput;
  abstract update(inputs: tf.Tensor4D, indices: CodeIndices): void;
  abstract trainable(): Record<string, tf.Variable>;
  /** Sets the codes `codes` to `vectors` [codes.length, d] (restart or initialisation) in every variable that holds them. */
  protected abstract setCodes(codes: readonly number[], vectors: Float32Array): void;

  /** The step's vectors as the search saw them [m, d] (unit rows with `cosine`). */
  protected searchVectors(inputs: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => {
      const flat = tf.reshape(inputs, [-1, this.codeDim]) as tf.Tensor2D;
      return this.cosine ? l2Normalize(flat) : flat;
    });
  }

  /** After a training step: restart the codes whose running usage fell below the threshold. */
  protected restartDead(inputs: tf.Tensor4D, indices: CodeIndices): void {
    if (!this.restarter) return;
    const flat = this.searchVectors(inputs);
    const table = tf.tidy(() => tf.clone(this.searchCodes()));
    let restart: Restart | undefined;
    try {
      restart = this.restarter.step(flat, indices, table);
    } finally {
      tf.dispose([flat, table]);
    }
    if (restart) this.setCodes(restart.codes, restart.vectors);
  }

  /**
   * k-means initialisation (kmeans.ts) from encoder outputs `vectors` [m, d]:
   * every code becomes a k-means centre of them, with a fair share of usage;
   * `seed` (default: the quantizer's) seeds k-means++.
   */
  initialize(vectors: tf.Tensor2D, seed = this.seed): void {
    const flat = tf.tidy(() => (this.cosine ? l2Normalize(vectors) : tf.clone(vectors)));
    const data = flat.dataSync() as Float32Array;
    flat.dispose();
    let centres = kmeans(data, this.codeDim, this.codebookSize, { seed });
    if (this.cosine) {
      const unit = tf.tidy(() => l2Normalize(tf.tensor2d(centres, [this.codebookSize, this.codeDim])));
      centres = unit.dataSync() as Float32Array;
      unit.dispose();
    }
    this.setCodes(Array.from({ length: this.codebookSize }, (_, i) => i), centres);
    // Every code is new: none is dead for what it did before (after a warm-up).
    this.restarter?.resetUsage();
  }

  takeRestarted(): number {
    return this.restarter?.takeRestarted() ?? 0;
  }

  lookup(indices: CodeIndices): tf.Tensor4D {
    const table = tf.tidy(() => tf.clone(this.searchCodes()));
    try {
      return lookupCodes(table, indices, this.codebookSize, this.codeDim);
    } finally {
      table.dispose();
    }
  }

  tables(): QuantizerTables {
    const table = tf.tidy(() => tf.clone(this.searchCodes()));
    const data = table.dataSync() as Float32Array;
    table.dispose();
    return { search: data, lookup: data };
  }

  /** The running usage, when restarts are on. */
  protected restartState(): Record<string, tf.Variable> {
    return this.restarter ? { [`${this.name}.usage`]: this.restarter.usage } : {};
  }

  abstract state(): Record<string, tf.Variable>;

  dispose(): void {
    this.codebook.dispose();
    this.restarter?.dispose();
  }
}
