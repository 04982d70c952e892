/**
 * One level against two (VQ-VAE-2, model/hierarchical.ts) at the same
 * training budget, end to end in one process: train the VQ-VAE, evaluate it
 * on test images (MSE, PSNR, codes used per level), encode training images,
 * train a class-conditional PixelCNN prior per level (the bottom one also
 * conditioned on the top grid), score the priors' test NLL in bits per code,
 * draw the same number of samples per class, write a sample grid (one row
 * per class) and measure the Classification Accuracy Score (eval/cas.ts)
 * beside the same classifier trained on as many real training images.
 *
 *   node dist/bench/levels.js --data fashion-mnist --levels 2 --out runs/levels-fashion-2 \
 *     [--steps 600] [--batch 32] [--hidden 64] [--k 256] [--top-k 64] [--code-dim 32] \
 *     [--prior-steps 400] [--prior-channels 32] [--prior-layers 4] [--encode 10000] \
 *     [--per-class 100] [--cas-steps 300] [--test 1000] [--seed 0] [--restart-dead 0.05] [--likelihood mse|categorical]
 *
 * The quantizers take `vqvae train`'s default recipe (quantize/recipe.ts:
 * EMA, dead codes restarted below --restart-dead). With --likelihood
 * categorical it also reports the bound in bits per dimension (eval/levels.ts);
 * --per-class 0 stops before the samples and the CAS. OUT/model, OUT/prior*
 * and the codes (OUT/codes[.top|.bottom].npy, as `vqvae encode` writes them)
 * stay, so `vqvae sample` and `vqvae eval --prior` run on them; a run that
 * finds OUT/model reuses it instead of training.
 *
 * --k is the codebook of the one level, or of the bottom level with
 * --levels 2; --top-k the top level's. Writes OUT/result.json and
 * OUT/samples.png, and prints each stage's figures and seconds.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';

import { selectBackend } from '../src/backend/select.js';
import type { ImageDataset } from '../src/data/dataset.js';
import { loadDataset } from '../src/data/load.js';
import { classificationAccuracyScore } from '../src/eval/cas.js';
import { boundBitsPerDim } from '../src/eval/levels.js';
import { encodeImageGrid } from '../src/io/pngGrid.js';
import { loadModel, saveModel, type TrainingState } from '../src/model/checkpoint.js';
import { makeModelConfig } from '../src/model/config.js';
import { HierarchicalVqVae } from '../src/model/hierarchical.js';
import { loadHierarchicalModel, saveHierarchicalModel } from '../src/model/hierarchicalFile.js';
import { writeNpyFile } from '../src/io/npyFile.js';
import { savePrior } from '../src/prior/checkpoint.js';
import { withTrainDefaults } from '../src/quantize/recipe.js';
import { outputToPixels, VqVae } from '../src/model/vqvae.js';
import type { CodeSet } from '../src/prior/codeSet.js';
import { makePriorConfig } from '../src/prior/config.js';
import { priorNll } from '../src/prior/nll.js';
import { PixelCnn } from '../src/prior/pixelcnn.js';
import { sampleLevels, samplePrior } from '../src/prior/sample.js';
import { trainPrior } from '../src/prior/train.js';
import { mulberry32, permutation } from '../src/random.js';
import { Adam } from '../src/train/adam.js';
import { BatchSampler, gatherImages, pixelVariance } from '../src/train/batches.js';
import { evaluate } from '../src/train/evaluate.js';
import { evaluateHierarchical } from '../src/train/hierarchicalEvaluate.js';
import { applyHierarchicalStep, disposeHierarchicalStep, hierarchicalStepGradients } from '../src/train/hierarchicalStep.js';
import { applyStep, disposeStep, stepGradients } from '../src/train/step.js';

const { values } = parseArgs({
  options: {
    data: { type: 'string', default: 'fashion-mnist' },
    levels: { type: 'string', default: '2' },
    out: { type: 'string', default: 'runs/levels' },
    steps: { type: 'string', default: '600' },
    batch: { type: 'string', default: '32' },
    lr: { type: 'string', default: '1e-3' },
    hidden: { type: 'string', default: '64' },
    k: { type: 'string', default: '256' },
    'top-k': { type: 'string', default: '64' },
    'code-dim': { type: 'string', default: '32' },
    likelihood: { type: 'string', default: 'mse' },
    'restart-dead': { type: 'string', default: String(withTrainDefaults({}).restartDead) },
    'prior-steps': { type: 'string', default: '400' },
    'prior-channels': { type: 'string', default: '32' },
    'prior-layers': { type: 'string', default: '4' },
    encode: { type: 'string', default: '10000' },
    'per-class': { type: 'string', default: '100' },
    'cas-steps': { type: 'string', default: '300' },
    test: { type: 'string', default: '1000' },
    seed: { type: 'string', default: '0' },
  },
});
const n = (key: keyof typeof values) => Number(values[key]);
const levels = n('levels');
if (levels !== 1 && levels !== 2) throw new Error('--levels must be 1 or 2');
const seed = n('seed');
const out = values.out!;
mkdirSync(out, { recursive: true });

const clock = { start: performance.now(), last: performance.now() };
function stage(name: string, figures: object): void {
  const now = performance.now();
  console.log(`${name} (${((now - clock.last) / 1000).toFixed(0)} s): ${JSON.stringify(figures)}`);
  clock.last = now;
}

/** A random subset of `count` images (fixed by the seed), in the data set's shape. */
function subset(data: ImageDataset, count: number, subsetSeed: number): ImageDataset {
  const indices = permutation(data.count, mulberry32(subsetSeed)).subarray(0, Math.min(count, data.count));
  const size = data.height * data.width * data.channels;
  const images = new Uint8Array(indices.length * size);
  indices.forEach((j, i) => images.set(data.images.subarray(j * size, (j + 1) * size), i * size));
  return { ...data, count: indices.length, images, labels: Int32Array.from(indices, (j) => data.labels[j]!) };
}

const backend = await selectBackend('auto');
console.log(backend.reason);
const train = await loadDataset(values.data!, { split: 'train' });
const testAll = await loadDataset(values.data!, { split: 'test' });
const test = subset(testAll, n('test'), seed + 1);
const numClasses = Math.max(...train.labels) + 1;
stage('data', { train: train.count, test: test.count, numClasses, image: [train.height, train.width, train.channels] });

const modelConfig = makeModelConfig({
  inputChannels: train.channels,
  imageHeight: train.height,
  imageWidth: train.width,
  hidden: n('hidden'),
  resHidden: 32,
  codebookSize: n('k'),
  codeDim: n('code-dim'),
  // The default recipe of `vqvae train` (quantize/recipe.ts): EMA codebooks, dead codes restarted below --restart-dead.
  ...withTrainDefaults({}),
  restartDead: n('restart-dead'),
  likelihood: values.likelihood as 'mse' | 'categorical',
});
// OUT/model holds the trained VQ-VAE; a run that finds one finished there reuses it (and goes on to the codes, priors and CAS).
const modelDir = join(out, 'model');
const reuse = existsSync(join(modelDir, 'config.json'));
const one = levels === 1 ? (reuse ? loadModel(modelDir).vqvae : new VqVae(modelConfig, seed)) : undefined;
const two = levels === 2 ? (reuse ? loadHierarchicalModel(modelDir).vqvae : new HierarchicalVqVae({ model: modelConfig, top: { codebookSize: n('top-k'), codeDim: n('code-dim') } }, seed)) : undefined;

// Training, the same steps, batch and learning rate for either.
const optimizer = new Adam({ learningRate: Number(values.lr) });
const sampler = new BatchSampler(train, n('batch'), seed);
const variance = pixelVariance(train);
const steps = n('steps');
let lastLoss = NaN;
const trainStart = performance.now();
for (let step = 0; step < (reuse ? 0 : steps); step++) {
  const x = gatherImages(train, sampler.indicesAt(step));
  if (one) {
    const s = stepGradients(one, x, variance);
    lastLoss = s.loss.dataSync()[0]!;
    applyStep(one, optimizer, s);
    disposeStep(s);
  } else {
    const s = hierarchicalStepGradients(two!, x, variance);
    lastLoss = s.loss.dataSync()[0]!;
    applyHierarchicalStep(two!, optimizer, s);
    disposeHierarchicalStep(s);
  }
  x.dispose();
  if ((step + 1) % 100 === 0) console.log(`  step ${step + 1}/${steps} loss ${lastLoss.toFixed(4)}`);
}
let trainSeconds = (performance.now() - trainStart) / 1000;
if (reuse) {
  const training = JSON.parse(readFileSync(join(modelDir, 'config.json'), 'utf8')).training as TrainingState;
  trainSeconds = training.trainingSeconds;
  lastLoss = training.loss ?? NaN;
  console.log(`reusing the model in ${modelDir} (${training.step} steps)`);
} else {
  const training: TrainingState = {
    data: values.data!, step: steps, totalSteps: steps, batch: n('batch'), learningRate: Number(values.lr), seed,
    dataVariance: variance, backend: backend.reason, trainingSeconds: trainSeconds, loss: lastLoss,
  };
  if (one) saveModel(modelDir, one, training);
  else saveHierarchicalModel(modelDir, two!, training);
}
stage('train', { steps, loss: lastLoss, imagesPerSecond: (steps * n('batch')) / trainSeconds });

// Test reconstruction and code usage.
const metrics = one ? evaluate(one, test) : evaluateHierarchical(two!, test);
stage('eval', metrics);

// Codes of training and test images, per level.
interface Level {
  name: 'one' | 'top' | 'bottom';
  K: number;
  grid: [number, number];
  train: Int32Array;
  test: Int32Array;
}
const encodeSet = subset(train, n('encode'), seed + 2);
function encodeAll(data: ImageDataset): Int32Array[] {
  const parts: Int32Array[][] = [];
  for (let start = 0; start < data.count; start += 256) {
    const end = Math.min(data.count, start + 256);
    const x = gatherImages(data, Int32Array.from({ length: end - start }, (_, i) => start + i));
    if (one) parts.push([one.encodeIndices(x).dataSync() as Int32Array]);
    else {
      const { top, bottom } = two!.encodeIndices(x);
      parts.push([top.dataSync() as Int32Array, bottom.dataSync() as Int32Array]);
      tf.dispose([top, bottom]);
    }
    x.dispose();
  }
  return parts[0]!.map((_, level) => {
    const all = new Int32Array(parts.reduce((sum, p) => sum + p[level]!.length, 0));
    let offset = 0;
    for (const p of parts) {
      all.set(p[level]!, offset);
      offset += p[level]!.length;
    }
    return all;
  });
}
const trainCodes = encodeAll(encodeSet);
const testCodes = encodeAll(test);
const levelList: Level[] = one
  ? [{ name: 'one', K: modelConfig.codebookSize, grid: one.codeGrid, train: trainCodes[0]!, test: testCodes[0]! }]
  : [
      { name: 'top', K: two!.config.top.codebookSize, grid: two!.grids.top, train: trainCodes[0]!, test: testCodes[0]! },
      { name: 'bottom', K: modelConfig.codebookSize, grid: two!.grids.bottom, train: trainCodes[1]!, test: testCodes[1]! },
    ];
// The codes as `vqvae encode` writes them: OUT/codes.npy (one level) or OUT/codes.top.npy and OUT/codes.bottom.npy, labels beside.
for (const [name, codes, labelsOf] of [['codes', trainCodes, encodeSet.labels], ['test-codes', testCodes, test.labels]] as const) {
  levelList.forEach((level, i) => {
    const file = join(out, `${name}${level.name === 'one' ? '' : `.${level.name}`}.npy`);
    writeNpyFile(file, codes[i]!, [labelsOf.length, level.grid[0], level.grid[1]]);
  });
  writeNpyFile(join(out, `${name === 'codes' ? 'labels' : 'test-labels'}.npy`), labelsOf, [labelsOf.length]);
}
stage('encode', { images: encodeSet.count });

// A class-conditional prior per level; the bottom one also on the top grid.
const priors = new Map<string, PixelCnn>();
const priorFigures: Record<string, unknown> = {};
for (const level of levelList) {
  const top = level.name === 'bottom' ? levelList[0]! : undefined;
  const config = makePriorConfig({
    codebookSize: level.K,
    height: level.grid[0],
    width: level.grid[1],
    channels: n('prior-channels'),
    layers: n('prior-layers'),
    numClasses,
    ...(top ? { topCodebookSize: top.K, topHeight: top.grid[0], topWidth: top.grid[1] } : {}),
  });
  const set = (codes: Int32Array, labels: Int32Array, topCodes?: Int32Array): CodeSet => ({
    source: level.name,
    count: labels.length,
    height: level.grid[0],
    width: level.grid[1],
    codes,
    labels,
    ...(top && topCodes ? { top: { height: top.grid[0], width: top.grid[1], codes: topCodes } } : {}),
  });
  const prior = new PixelCnn(config, seed);
  const priorStart = performance.now();
  const result = await trainPrior({
    prior,
    optimizer: new Adam({ learningRate: 1e-3 }),
    data: set(level.train, encodeSet.labels, top?.train),
    batch: 32,
    totalSteps: n('prior-steps'),
    seed,
    checkpointEverySeconds: 0,
  });
  const nll = priorNll(prior, set(level.test, test.labels, top?.test));
  priorFigures[level.name] = {
    bitsPerCode: nll.bitsPerCode, uniformBits: Math.log2(level.K), trainLoss: result.finalLoss / Math.LN2, seconds: (performance.now() - priorStart) / 1000,
  };
  priors.set(level.name, prior);
  await savePrior(join(out, level.name === 'one' ? 'prior' : `prior-${level.name}`), prior);
  stage(`prior ${level.name}`, priorFigures[level.name] as Record<string, unknown>);
}

// With the categorical likelihood: the bound in bits per dimension, -log p(x|z) and every level's prior NLL on the test images.
let bitsPerDim: number | undefined;
if (metrics.reconstructionNats !== undefined) {
  const dims = modelConfig.imageHeight * modelConfig.imageWidth * modelConfig.inputChannels;
  const natsOf = (name: string) => ((priorFigures[name] as { bitsPerCode: number }).bitsPerCode * Math.LN2);
  bitsPerDim = boundBitsPerDim(dims, metrics.reconstructionNats, levelList.map((l) => ({ natsPerCode: natsOf(l.name), codes: l.grid[0] * l.grid[1] })));
  stage('bound', { reconstructionBitsPerDim: metrics.reconstructionNats / Math.LN2, bitsPerDim });
}

// Samples: per-class of every class, decoded (--per-class 0: no samples, no CAS).
const perClass = n('per-class');
if (perClass === 0) {
  writeResult(undefined);
  process.exit(0);
}
const count = perClass * numClasses;
const labels = Int32Array.from({ length: count }, (_, i) => Math.floor(i / perClass));
const { imageHeight: H, imageWidth: W, inputChannels: C } = modelConfig;
const pixels = new Uint8Array(count * H * W * C);
if (one) {
  const codes = await samplePrior(priors.get('one')!, { n: count, labels, seed });
  const [h, w] = one.codeGrid;
  for (let start = 0; start < count; start += 256) {
    const end = Math.min(count, start + 256);
    const images = tf.tidy(() => one.decodeIndices(tf.tensor3d(codes.subarray(start * h * w, end * h * w), [end - start, h, w], 'int32')));
    pixels.set(outputToPixels(images), start * H * W * C);
    images.dispose();
  }
} else {
  const { top, bottom } = await sampleLevels(priors.get('top')!, priors.get('bottom')!, { n: count, labels, seed });
  const grids = two!.grids;
  const [ht, wt] = grids.top;
  const [hb, wb] = grids.bottom;
  for (let start = 0; start < count; start += 256) {
    const end = Math.min(count, start + 256);
    const images = tf.tidy(() =>
      two!.decodeIndices({
        top: tf.tensor3d(top.subarray(start * ht * wt, end * ht * wt), [end - start, ht, wt], 'int32'),
        bottom: tf.tensor3d(bottom.subarray(start * hb * wb, end * hb * wb), [end - start, hb, wb], 'int32'),
      }),
    );
    pixels.set(outputToPixels(images), start * H * W * C);
    images.dispose();
  }
}
stage('sample', { images: count });
// The grid: the first 10 samples of each class, one row per class.
const shown = Math.min(10, perClass);
const gridPixels = new Uint8Array(numClasses * shown * H * W * C);
for (let c = 0; c < numClasses; c++) {
  gridPixels.set(pixels.subarray(c * perClass * H * W * C, (c * perClass + shown) * H * W * C), c * shown * H * W * C);
}
writeFileSync(join(out, 'samples.png'), encodeImageGrid(gridPixels, numClasses * shown, H, W, C, { columns: shown, upscale: H < 32 ? 2 : 2 }));

// CAS: a classifier on the samples against one on as many real training images, both tested on the whole test split.
const generated: ImageDataset = { spec: `samples of ${values.data}`, split: 'train', count, height: H, width: W, channels: C, images: pixels, labels };
const real = subset(train, count, seed + 3);
const cas = classificationAccuracyScore(generated, real, testAll, numClasses, {
  steps: n('cas-steps'),
  batch: 64,
  learningRate: 2e-3,
  seed,
  flip: C === 3,
});
stage('cas', cas);
writeResult(cas);

function writeResult(cas: object | undefined): void {
const bitsPerImage = levelList.reduce((sum, l) => sum + l.grid[0] * l.grid[1] * Math.log2(l.K), 0);
const result = {
  data: values.data,
  levels,
  backend: backend.reason,
  args: values,
  codeBitsPerImage: bitsPerImage,
  grids: Object.fromEntries(levelList.map((l) => [l.name, { grid: l.grid, K: l.K }])),
  train: { steps, batch: n('batch'), loss: lastLoss, seconds: trainSeconds },
  eval: metrics,
  priors: priorFigures,
  ...(bitsPerDim !== undefined ? { bitsPerDim } : {}),
  cas,
  seconds: (performance.now() - clock.start) / 1000,
};
writeFileSync(join(out, 'result.json'), `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result));
}
