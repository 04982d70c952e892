/**
 * Classification Accuracy Score (Ravuri and Vinyals 2019, "Classification
 * Accuracy Score for Conditional Generative Models"; the sample-quality
 * figure of the VQ-VAE-2 paper): train a classifier on class-conditional
 * *generated* images only, then measure its accuracy on the *real* test
 * split. Next to it, the same classifier with the same budget trained on real
 * training images: the gap says how much of what a classifier needs the
 * samples lack (sharpness, diversity, the right class).
 *
 * The classifier is small, to fit a CPU budget: three 3x3 convolutions
 * (32, 64, 64 channels; the last two stride 2) with ReLU, global average
 * pooling and a linear layer to the classes, trained with Adam (train/adam.ts)
 * on the mean cross-entropy, in the seeded batch order of train/batches.ts.
 * Images enter in the VQ-VAE's input scale (pixels / 255 - 0.5).
 */
import '../engine.js';
import * as tf from '@tensorflow/tfjs-core';
import type { ImageDataset } from '../data/dataset.js';
import { UserError } from '../errors.js';
import { Conv2d, type VariableMap } from '../model/layers.js';
import { mulberry32 } from '../random.js';
import { Adam } from '../train/adam.js';
import { EpochOrder, gatherImages, sliceImages } from '../train/batches.js';

export interface ClassifierConfig {
  channels: number;
  numClasses: number;
  /** Width of the first convolution; the others have twice as many channels. */
  width: number;
}

export class Classifier {
  readonly variables: VariableMap = new Map();
  private readonly convs: Conv2d[];
  private readonly head: Conv2d;

  constructor(readonly config: ClassifierConfig, seed = 0) {
    const rng = mulberry32(seed);
    const { channels, width: w, numClasses } = config;
    const vars = this.variables;
    this.convs = [
      new Conv2d({ inChannels: channels, outChannels: w, kernel: 3, stride: 1, padding: 1 }, vars, 'cas.conv.0', rng),
      new Conv2d({ inChannels: w, outChannels: 2 * w, kernel: 3, stride: 2, padding: 1 }, vars, 'cas.conv.1', rng),
      new Conv2d({ inChannels: 2 * w, outChannels: 2 * w, kernel: 3, stride: 2, padding: 1 }, vars, 'cas.conv.2', rng),
    ];
    // The linear layer as a 1x1 convolution on the pooled [b, 1, 1, 2w].
    this.head = new Conv2d({ inChannels: 2 * w, outChannels: numClasses, kernel: 1, stride: 1, padding: 0 }, vars, 'cas.linear', rng);
  }

  /** x [b, H, W, C] in input scale → logits [b, classes]. */
  logits(x: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => {
      let h = x;
      for (const conv of this.convs) h = conv.apply(h, 'relu');
      const pooled = tf.mean(h, [1, 2], true) as tf.Tensor4D;
      return tf.reshape(this.head.apply(pooled), [x.shape[0], this.config.numClasses]) as tf.Tensor2D;
    });
  }

  dispose(): void {
    for (const v of this.variables.values()) v.dispose();
  }
}

export interface ClassifierTraining {
  steps: number;
  batch: number;
  learningRate: number;
  seed: number;
  /** Mirror each training image left-right with probability 1/2 (colour photographs). */
  flip?: boolean;
  onStep?: (step: number, loss: number) => void;
}

export const DEFAULT_CLASSIFIER_TRAINING: Readonly<Omit<ClassifierTraining, 'steps'>> = Object.freeze({ batch: 64, learningRate: 2e-3, seed: 0 });

/** Throws unless every image of `data` has a label in 0..numClasses-1. */
function checkLabels(data: ImageDataset, numClasses: number): void {
  const bad = data.labels.findIndex((l) => !(l >= 0 && l < numClasses));
  if (bad >= 0) throw new UserError(`${data.spec} (${data.split}): image ${bad} has label ${data.labels[bad]}, expected a class in 0..${numClasses - 1}`);
}

/** A classifier trained on `data` (every image labelled) for `options.steps` Adam steps. */
export function trainClassifier(data: ImageDataset, numClasses: number, options: ClassifierTraining): Classifier {
  checkLabels(data, numClasses);
  const classifier = new Classifier({ channels: data.channels, numClasses, width: 32 }, options.seed);
  const optimizer = new Adam({ learningRate: options.learningRate });
  const order = new EpochOrder(data.count, Math.min(options.batch, data.count), options.seed);
  const flips = mulberry32(options.seed + 1);
  const params = Object.fromEntries(classifier.variables);
  const names = new Map(Object.entries(params).map(([name, v]) => [v.name, name]));
  for (let step = 0; step < options.steps; step++) {
    const indices = order.indicesAt(step);
    let x = gatherImages(data, indices);
    if (options.flip) {
      const mirror = tf.tensor4d(Array.from(indices, () => (flips() < 0.5 ? 1 : 0)), [indices.length, 1, 1, 1], 'float32');
      const flipped = tf.tidy(() => tf.add(tf.mul(tf.reverse(x, 2), mirror), tf.mul(x, tf.sub(1, mirror))) as tf.Tensor4D);
      tf.dispose([x, mirror]);
      x = flipped;
    }
    const labels = tf.tensor1d(Int32Array.from(indices, (i) => data.labels[i]!), 'int32');
    const { value, grads } = tf.variableGrads(() =>
      tf.tidy(() => tf.neg(tf.mean(tf.sum(tf.mul(tf.oneHot(labels, numClasses), tf.logSoftmax(classifier.logits(x))), 1))) as tf.Scalar),
    );
    const loss = value.dataSync()[0]!;
    optimizer.apply(params, Object.fromEntries(Object.entries(grads).map(([k, g]) => [names.get(k)!, g])));
    tf.dispose([x, labels, value, ...Object.values(grads)]);
    options.onStep?.(step + 1, loss);
  }
  optimizer.dispose();
  return classifier;
}

/** The fraction of `data`'s images whose most likely class is their label. */
export function classifierAccuracy(classifier: Classifier, data: ImageDataset, batch = 256): number {
  checkLabels(data, classifier.config.numClasses);
  let correct = 0;
  for (let start = 0; start < data.count; start += batch) {
    const end = Math.min(data.count, start + batch);
    const predicted = tf.tidy(() => {
      const x = sliceImages(data, start, end);
      return tf.argMax(classifier.logits(x), 1).dataSync();
    });
    for (let i = 0; i < end - start; i++) if (predicted[i] === data.labels[start + i]) correct += 1;
  }
  return correct / data.count;
}

export interface CasResult {
  /** Accuracy on the real test split of the classifier trained on generated images. */
  cas: number;
  /** The same classifier and budget trained on real training images. */
  realAccuracy: number;
  generatedImages: number;
  realImages: number;
  testImages: number;
}

/**
 * CAS of `generated` (labelled by the class each was sampled for), and the
 * real-data baseline from `real`, both tested on `test`. Each classifier
 * trains for the same steps, batch and seed.
 */
export function classificationAccuracyScore(
  generated: ImageDataset,
  real: ImageDataset,
  test: ImageDataset,
  numClasses: number,
  options: ClassifierTraining,
): CasResult {
  for (const d of [generated, real]) {
    if (d.height !== test.height || d.width !== test.width || d.channels !== test.channels) {
      throw new UserError(`${d.spec} has ${d.height}x${d.width}x${d.channels} images but the test split ${test.spec} has ${test.height}x${test.width}x${test.channels}`);
    }
  }
  const score = (train: ImageDataset) => {
    const classifier = trainClassifier(train, numClasses, options);
    try {
      return classifierAccuracy(classifier, test);
    } finally {
      classifier.dispose();
    }
  };
  return { cas: score(generated), realAccuracy: score(real), generatedImages: generated.count, realImages: real.count, testImages: test.count };
}
