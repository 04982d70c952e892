/**
 * The Classification Accuracy Score (src/eval/cas.ts) on images whose class
 * is plain to see: 16x16 grey images of horizontal stripes, vertical stripes
 * or a checkerboard, each with its own random phase and noise. Trained on
 * well-labelled images, the classifier tells the real test images apart; a
 * "generator" that ignores the class it is asked for (labels shuffled) must
 * score near chance, 1/3; accuracy is counted independently here.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { selectBackend } from '../../src/backend/select.js';
import type { ImageDataset } from '../../src/data/dataset.js';
import { UserError } from '../../src/errors.js';
import { classificationAccuracyScore, classifierAccuracy, trainClassifier } from '../../src/eval/cas.js';
import { mulberry32 } from '../../src/random.js';
import { sliceImages } from '../../src/train/batches.js';

const S = 16;

function patterns(count: number, seed: number, spec: string, split: 'train' | 'test' = 'train'): ImageDataset {
  const rng = mulberry32(seed);
  const images = new Uint8Array(count * S * S);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const label = i % 3;
    labels[i] = label;
    const phase = Math.floor(rng() * 4);
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        const on = label === 0 ? (y + phase) % 4 < 2 : label === 1 ? (x + phase) % 4 < 2 : ((x >> 1) + (y >> 1) + phase) % 2 === 0;
        images[i * S * S + y * S + x] = Math.max(0, Math.min(255, (on ? 200 : 55) + Math.round((rng() - 0.5) * 80)));
      }
    }
  }
  return { spec, split, count, height: S, width: S, channels: 1, images, labels };
}

const options = { steps: 40, batch: 32, learningRate: 3e-3, seed: 0 };

describe('Classification Accuracy Score', () => {
  before(async () => {
    await selectBackend('auto');
  });

  it('a classifier trained on faithful class-conditional images classifies the real test images; one trained on class-blind images does not', () => {
    const test = patterns(150, 3, 'real', 'test');
    const real = patterns(300, 1, 'real');
    const faithful = patterns(300, 2, 'generated');
    // A generator that draws any pattern whatever class it is asked for: the labels carry no information.
    const rng = mulberry32(9);
    const blind: ImageDataset = { ...patterns(300, 4, 'class-blind'), labels: Int32Array.from({ length: 300 }, () => Math.floor(rng() * 3)) };
    const good = classificationAccuracyScore(faithful, real, test, 3, options);
    const blindClassifier = trainClassifier(blind, 3, options);
    const bad = classifierAccuracy(blindClassifier, test);
    blindClassifier.dispose();
    console.log(`# CAS synthetic: faithful ${good.cas.toFixed(3)}, class-blind ${bad.toFixed(3)}, real ${good.realAccuracy.toFixed(3)}`);
    assert.ok(good.realAccuracy > 0.9, `real-trained accuracy ${good.realAccuracy}`);
    assert.ok(good.cas > 0.9, `CAS of faithful samples ${good.cas}`);
    // Chance is 1/3; 300 random labels can still correlate a little with the patterns, so allow some way above it.
    assert.ok(bad < 0.6 && bad < good.cas - 0.3, `CAS of class-blind samples ${bad}`);
    assert.deepEqual([good.generatedImages, good.realImages, good.testImages], [300, 300, 150]);
  });

  it('accuracy is the fraction of images whose arg-max class is their label', () => {
    const data = patterns(30, 5, 'p');
    const classifier = trainClassifier(data, 3, { ...options, steps: 2 });
    // The same images through logits in one batch, the arg-max counted here.
    const logits = classifier.logits(sliceImages(data, 0, data.count)).arraySync();
    let correct = 0;
    logits.forEach((row, i) => {
      const best = row.indexOf(Math.max(...row));
      if (best === data.labels[i]) correct += 1;
    });
    assert.equal(classifierAccuracy(classifier, data, 7), correct / 30);
    classifier.dispose();
  });

  it('refuses images without a label and images of another size, in one line', () => {
    const data = patterns(12, 6, 'unlabelled');
    data.labels[4] = -1;
    assert.throws(() => trainClassifier(data, 3, options), (e: unknown) => e instanceof UserError && /unlabelled \(train\): image 4 has label -1/.test(e.message));
    const other: ImageDataset = { ...patterns(12, 6, 'big'), height: 8, width: 32 };
    assert.throws(() => classificationAccuracyScore(other, patterns(12, 1, 'r'), patterns(12, 2, 't', 'test'), 3, options), /big has 8x32x1 images but the test split t has 16x16x1/);
  });
});
