/**
 * `vqvae sample`: new images from a trained PixelCNN prior and VQ-VAE:
 * code grids drawn in raster order from the prior, then decoded, written as
 * a PNG grid (and the codes as .npy). With `--class all`, one row per class.
 */
import * as tf from '@tensorflow/tfjs-core';
import { writeFileSync } from 'node:fs';
import type { BackendChoice } from '../backend/select.js';
import { UserError } from '../errors.js';
import { writeNpyFile } from '../io/npyFile.js';
import { encodeImageGrid } from '../io/pngGrid.js';
import { loadModel } from '../model/checkpoint.js';
import { outputToPixels } from '../model/vqvae.js';
import { loadPrior } from '../prior/checkpoint.js';
import { residualModelError } from '../prior/codeFile.js';
import { samplePrior } from '../prior/sample.js';
import { isAudioModelDir } from '../audio/checkpoint.js';
import { runAudioSample } from './audioPrior.js';
import { defineCommand } from './command.js';
import { backendFlag, info, useBackend } from './common.js';
import { defaultUpscale, gridFlags } from './decode.js';
import { jsonFlag, UsageError } from './flags.js';

export const sampleCommand = defineCommand({
  name: 'sample',
  summary: 'generate images: codes from the prior, decoded by the model (PNG)',
  description:
    'Draws code grids from a PixelCNN prior (`vqvae prior train`) one position at a time in raster order, ' +
    'decodes them with the VQ-VAE they came from and writes a PNG grid. For a class-conditional prior, ' +
    '--class C draws every image from class C and --class all (the default for such a prior) draws the same number ' +
    'from each class, one row per class. The same --seed repeats the samples. With an audio model (`vqvae train --data wav:DIR`) ' +
    'and a prior over its code sequences, it draws --n sequences of --seconds each, decodes them in --speaker\'s voice and writes one WAV.',
  usage: '--model DIR --prior DIR --out FILE.png [flags]',
  flags: [
    { name: 'model', type: 'string', required: true, metavar: 'DIR', help: 'the VQ-VAE model directory (`vqvae train`)' },
    { name: 'prior', type: 'string', required: true, metavar: 'DIR', help: 'the prior directory (`vqvae prior train`)' },
    { name: 'out', type: 'string', required: true, metavar: 'FILE.png', help: 'where to write the image grid' },
    { name: 'n', type: 'int', min: 1, max: 4096, metavar: 'N', help: 'number of images (default 64; with --class all, 10 per class)' },
    { name: 'class', type: 'string', metavar: 'C|all', help: 'class to draw (class-conditional priors): an index, or all for one row per class (the default)' },
    { name: 'temperature', type: 'number', min: 0, exclusiveMin: true, default: 1, metavar: 'T', help: 'divide the logits by T: below 1 sharper, above 1 more varied' },
    { name: 'seed', type: 'int', min: 0, default: 0, help: 'seed of the draws' },
    { name: 'codes-out', type: 'string', metavar: 'FILE.npy', help: 'also write the sampled codes, int32 [N, h, w]' },
    { name: 'speaker', type: 'string', metavar: 'NAME', help: 'audio models: the voice to decode with (--out is then a .wav)' },
    { name: 'seconds', type: 'number', min: 0, exclusiveMin: true, metavar: 'S', help: 'audio models: seconds of speech per sample (default 3)' },
    ...gridFlags,
    backendFlag,
    jsonFlag,
  ],
  examples: [
    'vqvae sample --model runs/fashion-ema --prior runs/fashion-prior --class all --out samples.png',
    'vqvae sample --model runs/mnist --prior runs/mnist-prior --n 16 --class 3 --temperature 0.8 --seed 1 --out threes.png',
    'vqvae sample --model runs/speech --prior runs/speech-prior --speaker slt --seconds 3 --out slt.wav',
  ],
  async run(flags, ctx) {
    if (isAudioModelDir(flags.model)) return runAudioSample(flags, ctx);
    if (flags.speaker !== undefined || flags.seconds !== undefined) throw new UsageError(`--${flags.speaker !== undefined ? 'speaker' : 'seconds'} applies to audio models; ${flags.model} is not one`);
    let classLabel: number | 'all' | undefined;
    if (flags.class !== undefined) {
      if (flags.class === 'all') classLabel = 'all';
      else if (/^\d+$/.test(flags.class)) classLabel = Number(flags.class);
      else throw new UsageError(`--class must be a class index (0, 1, ...) or all, got "${flags.class}"`);
    }
    const backend = await useBackend(flags.backend as BackendChoice, ctx);
    const { vqvae } = loadModel(flags.model);
    const prior = await loadPrior(flags.prior).catch((error: unknown) => {
      vqvae.dispose();
      throw error;
    });
    try {
      if (vqvae.codeDepth > 1) throw residualModelError(flags.model, vqvae.config.depth);
      const [h, w] = vqvae.codeGrid;
      const K = vqvae.config.codebookSize;
      const pc = prior.config;
      if (pc.height !== h || pc.width !== w) {
        throw new UserError(`the prior in ${flags.prior} models ${pc.height}x${pc.width} code grids but the model in ${flags.model} makes ${h}x${w}`);
      }
      if (pc.codebookSize > K) {
        throw new UserError(`the prior in ${flags.prior} draws ${pc.codebookSize} code values but the model in ${flags.model} has only ${K} codes`);
      }
      if (pc.numClasses === 0 && classLabel !== undefined) {
        throw new UsageError(`--class: the prior in ${flags.prior} is unconditional (trained without --labels)`);
      }
      // A class-conditional prior without --class: every class evenly, as --class all.
      if (pc.numClasses > 0 && classLabel === undefined) classLabel = 'all';
      if (typeof classLabel === 'number' && classLabel >= pc.numClasses) {
        throw new UsageError(`--class ${classLabel} is out of range: the prior in ${flags.prior} knows ${pc.numClasses} classes (0..${pc.numClasses - 1})`);
      }
      let n = flags.n ?? (classLabel === 'all' ? 10 * pc.numClasses : 64);
      let labels: Int32Array | undefined;
      let columns = flags.columns;
      if (classLabel === 'all') {
        if (n % pc.numClasses !== 0) throw new UsageError(`--n ${n} must be a multiple of the ${pc.numClasses} classes: ${flags.class === 'all' ? '--class all' : 'without --class, a class-conditional prior'} draws each class as often`);
        const perClass = n / pc.numClasses;
        labels = Int32Array.from({ length: n }, (_, i) => Math.floor(i / perClass));
        columns ??= perClass;
      }
      n = labels?.length ?? n;

      const progress = ctx.progress({ total: h * w, label: 'position' });
      const started = performance.now();
      const codes = await samplePrior(prior, {
        n,
        labels,
        classLabel: typeof classLabel === 'number' ? classLabel : undefined,
        temperature: flags.temperature,
        seed: flags.seed,
        onPosition: (_, position) => progress.update(position + 1),
      });
      progress.stop();
      const sampleSeconds = (performance.now() - started) / 1000;

      const { imageHeight: H, imageWidth: W, inputChannels: C } = vqvae.config;
      const pixels = new Uint8Array(n * H * W * C);
      for (let start = 0; start < n; start += 256) {
        const end = Math.min(n, start + 256);
        const indices = tf.tensor3d(codes.subarray(start * h * w, end * h * w), [end - start, h, w], 'int32');
        const images = vqvae.decodeIndices(indices);
        pixels.set(outputToPixels(images), start * H * W * C);
        tf.dispose([indices, images]);
      }
      const seconds = (performance.now() - started) / 1000;
      writeFileSync(flags.out, encodeImageGrid(pixels, n, H, W, C, { columns, upscale: defaultUpscale(H, flags.upscale) }));
      if (flags.codesOut) writeNpyFile(flags.codesOut, codes, [n, h, w]);
      info(ctx, `wrote ${flags.out}: ${n} samples in ${seconds.toFixed(1)} s (${sampleSeconds.toFixed(1)} s drawing codes)${flags.codesOut ? `; codes in ${flags.codesOut}` : ''}`);
      ctx.printJson({ images: n, seconds, sample_seconds: sampleSeconds, backend });
    } finally {
      prior.dispose();
      vqvae.dispose();
    }
  },
});
