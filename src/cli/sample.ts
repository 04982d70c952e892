/**
 * `vqvae sample`: new images from a trained PixelCNN prior and VQ-VAE:
 * code grids drawn in raster order from the prior, then decoded, written as
 * a PNG grid (and the codes as .npy). With `--class all`, one row per class.
 * For a two-level model (`vqvae train --levels 2`) the top grids come from
 * --prior (a `--level top` prior), then the bottom grids from --bottom-prior
 * (a `--level bottom` prior) given them (prior/sample.ts's sampleLevels),
 * and both levels are decoded together.
 */
import * as tf from '@tensorflow/tfjs-core';
import { writeFileSync } from 'node:fs';
import type { BackendChoice } from '../backend/select.js';
import { UserError } from '../errors.js';
import { writeNpyFile } from '../io/npyFile.js';
import { encodeImageGrid } from '../io/pngGrid.js';
import { loadModel } from '../model/checkpoint.js';
import type { HierarchicalVqVae } from '../model/hierarchical.js';
import { loadHierarchicalModel, modelLevels } from '../model/hierarchicalFile.js';
import { outputToPixels, type VqVae } from '../model/vqvae.js';
import { loadPrior } from '../prior/checkpoint.js';
import { residualModelError } from '../prior/codeFile.js';
import { levelCodePaths } from '../model/hierarchicalCodes.js';
import { checkLevelCodesForPrior, checkLevelPrior, modelIdentity } from '../prior/levels.js';
import type { PixelCnn } from '../prior/pixelcnn.js';
import { sampleLevels, samplePrior } from '../prior/sample.js';
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
    'from each class, one row per class. The same --seed repeats the samples. For a two-level model ' +
    '(`vqvae train --levels 2`), --prior is its top prior (`vqvae prior train --level top`) and --bottom-prior its bottom ' +
    'prior (`--level bottom`): the top grids are drawn first, then the bottom grids given them; --codes-out FILE.npy ' +
    'then writes FILE.top.npy and FILE.bottom.npy, as `vqvae encode` does. With an audio model (`vqvae train --data wav:DIR`) ' +
    'and a prior over its code sequences, it draws --n sequences of --seconds each, decodes them in --speaker\'s voice and writes one WAV.',
  usage: '--model DIR --prior DIR [--bottom-prior DIR] --out FILE.png [flags]',
  flags: [
    { name: 'model', type: 'string', required: true, metavar: 'DIR', help: 'the VQ-VAE model directory (`vqvae train`)' },
    { name: 'prior', type: 'string', required: true, metavar: 'DIR', help: 'the prior directory (`vqvae prior train`); the top prior of a two-level model' },
    { name: 'bottom-prior', type: 'string', metavar: 'DIR', help: 'two-level models: the bottom prior (`vqvae prior train --level bottom`), drawn given the top grids' },
    { name: 'out', type: 'string', required: true, metavar: 'FILE.png', help: 'where to write the image grid' },
    { name: 'n', type: 'int', min: 1, max: 4096, metavar: 'N', help: 'number of images (default 64; with --class all, 10 per class)' },
    { name: 'class', type: 'string', metavar: 'C|all', help: 'class to draw (class-conditional priors): an index, or all for one row per class (the default)' },
    { name: 'temperature', type: 'number', min: 0, exclusiveMin: true, default: 1, metavar: 'T', help: 'divide the logits by T: below 1 sharper, above 1 more varied' },
    { name: 'seed', type: 'int', min: 0, default: 0, help: 'seed of the draws' },
    { name: 'codes-out', type: 'string', metavar: 'FILE.npy', help: 'also write the sampled codes, int32 [N, h, w] (two levels: FILE.top.npy and FILE.bottom.npy)' },
    { name: 'speaker', type: 'string', metavar: 'NAME', help: 'audio models: the voice to decode with (--out is then a .wav)' },
    { name: 'seconds', type: 'number', min: 0, exclusiveMin: true, metavar: 'S', help: 'audio models: seconds of speech per sample (default 3)' },
    ...gridFlags,
    backendFlag,
    jsonFlag,
  ],
  examples: [
    'vqvae sample --model runs/fashion-ema --prior runs/fashion-prior --class all --out samples.png',
    'vqvae sample --model runs/mnist --prior runs/mnist-prior --n 16 --class 3 --temperature 0.8 --seed 1 --out threes.png',
    'vqvae sample --model runs/cifar-2 --prior runs/cifar-2-top --bottom-prior runs/cifar-2-bottom --class all --out samples.png --codes-out samples.npy',
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
    const levels = modelLevels(flags.model);
    if (levels === 1 && flags.bottomPrior !== undefined) throw new UsageError(`--bottom-prior is for a two-level model; the model in ${flags.model} has one level`);
    if (levels === 2 && flags.bottomPrior === undefined) {
      throw new UsageError(`--bottom-prior is needed: the model in ${flags.model} has two levels (--prior its top prior, --bottom-prior its bottom prior)`);
    }
    const backend = await useBackend(flags.backend as BackendChoice, ctx);
    const model = levels === 2 ? new TwoLevels(loadHierarchicalModel(flags.model).vqvae) : new OneLevel(loadModel(flags.model).vqvae);
    const priors: PixelCnn[] = [];
    try {
      priors.push(await loadPrior(flags.prior));
      if (flags.bottomPrior !== undefined) priors.push(await loadPrior(flags.bottomPrior));
      model.check(priors, flags);
      const pc = priors[0]!.config;
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

      const progress = ctx.progress({ total: model.positions, label: 'position' });
      const started = performance.now();
      const codes = await model.draw(priors, {
        n,
        labels,
        classLabel: typeof classLabel === 'number' ? classLabel : undefined,
        temperature: flags.temperature,
        seed: flags.seed,
        onPosition: (done) => progress.update(done),
      });
      progress.stop();
      const sampleSeconds = (performance.now() - started) / 1000;

      const { imageHeight: H, imageWidth: W, inputChannels: C } = model.imageConfig;
      const pixels = new Uint8Array(n * H * W * C);
      for (let start = 0; start < n; start += 256) {
        const end = Math.min(n, start + 256);
        const images = model.decode(codes, start, end);
        pixels.set(outputToPixels(images), start * H * W * C);
        images.dispose();
      }
      const seconds = (performance.now() - started) / 1000;
      writeFileSync(flags.out, encodeImageGrid(pixels, n, H, W, C, { columns, upscale: defaultUpscale(H, flags.upscale) }));
      const codeFiles = flags.codesOut !== undefined ? model.writeCodes(flags.codesOut, codes, n) : [];
      info(ctx, `wrote ${flags.out}: ${n} samples in ${seconds.toFixed(1)} s (${sampleSeconds.toFixed(1)} s drawing codes)${codeFiles.length > 0 ? `; codes in ${codeFiles.join(' and ')}` : ''}`);
      ctx.printJson({ images: n, seconds, sample_seconds: sampleSeconds, backend });
    } finally {
      for (const prior of priors) prior.dispose();
      model.dispose();
    }
  },
});

interface DrawOptions {
  n: number;
  labels?: Int32Array;
  classLabel?: number;
  temperature: number;
  seed: number;
  /** Positions drawn so far, over every level. */
  onPosition: (done: number) => void;
}

/** What `vqvae sample` needs of a model: checks of its priors, drawing, decoding and writing the codes of each level. */
interface SampledModel {
  readonly positions: number;
  readonly imageConfig: { imageHeight: number; imageWidth: number; inputChannels: number };
  check(priors: PixelCnn[], flags: { model: string; prior: string; bottomPrior?: string }): void;
  /** The codes of each level, row-major. */
  draw(priors: PixelCnn[], options: DrawOptions): Promise<Int32Array[]>;
  /** Images [end - start, H, W, C] of samples start..end-1. */
  decode(codes: Int32Array[], start: number, end: number): tf.Tensor4D;
  /** Writes the codes as .npy; returns the files written. */
  writeCodes(path: string, codes: Int32Array[], n: number): string[];
  dispose(): void;
}

class OneLevel implements SampledModel {
  constructor(private readonly vqvae: VqVae) {}

  get positions(): number {
    const [h, w] = this.vqvae.codeGrid;
    return h * w;
  }

  get imageConfig() {
    return this.vqvae.config;
  }

  check([prior]: PixelCnn[], flags: { model: string; prior: string }): void {
    if (this.vqvae.codeDepth > 1) throw residualModelError(flags.model, this.vqvae.config.depth);
    const [h, w] = this.vqvae.codeGrid;
    const K = this.vqvae.config.codebookSize;
    const pc = prior!.config;
    if (pc.level !== undefined) {
      throw new UserError(`--prior ${flags.prior}: this is the ${pc.level}-level prior of a two-level model, but the model in ${flags.model} has one level`);
    }
    if (pc.height !== h || pc.width !== w) {
      throw new UserError(`the prior in ${flags.prior} models ${pc.height}x${pc.width} code grids but the model in ${flags.model} makes ${h}x${w}`);
    }
    if (pc.codebookSize > K) {
      throw new UserError(`the prior in ${flags.prior} draws ${pc.codebookSize} code values but the model in ${flags.model} has only ${K} codes`);
    }
  }

  async draw([prior]: PixelCnn[], options: DrawOptions): Promise<Int32Array[]> {
    return [await samplePrior(prior!, { ...options, onPosition: (_, position) => options.onPosition(position + 1) })];
  }

  decode([codes]: Int32Array[], start: number, end: number): tf.Tensor4D {
    const [h, w] = this.vqvae.codeGrid;
    return tf.tidy(() => this.vqvae.decodeIndices(tf.tensor3d(codes!.subarray(start * h * w, end * h * w), [end - start, h, w], 'int32')));
  }

  writeCodes(path: string, [codes]: Int32Array[], n: number): string[] {
    writeNpyFile(path, codes!, [n, ...this.vqvae.codeGrid]);
    return [path];
  }

  dispose(): void {
    this.vqvae.dispose();
  }
}

class TwoLevels implements SampledModel {
  constructor(private readonly vqvae: HierarchicalVqVae) {}

  get positions(): number {
    const { top, bottom } = this.vqvae.grids;
    return top[0] * top[1] + bottom[0] * bottom[1];
  }

  get imageConfig() {
    return this.vqvae.config.model;
  }

  check([top, bottom]: PixelCnn[], flags: { model: string; prior: string; bottomPrior?: string }): void {
    // Before anything slow: each prior is for its level, of this model, and both know the same classes.
    checkLevelCodesForPrior(this.vqvae, 'bottom', flags.model);
    const id = modelIdentity(this.vqvae);
    checkLevelPrior(top!.config, 'top', id, flags.prior, flags.model, '--prior');
    checkLevelPrior(bottom!.config, 'bottom', id, flags.bottomPrior!, flags.model, '--bottom-prior');
    if (top!.config.numClasses !== bottom!.config.numClasses) {
      const classes = (n: number) => (n === 0 ? 'is unconditional' : `knows ${n} classes`);
      throw new UserError(
        `the top prior in ${flags.prior} ${classes(top!.config.numClasses)} but the bottom prior in ${flags.bottomPrior} ${classes(bottom!.config.numClasses)}: train both with the same --labels`,
      );
    }
  }

  async draw([top, bottom]: PixelCnn[], options: DrawOptions): Promise<Int32Array[]> {
    const [ht, wt] = this.vqvae.grids.top;
    let offset = 0;
    const drawn = await sampleLevels(top!, bottom!, {
      ...options,
      onLevel: (level) => (offset = level === 'top' ? 0 : ht * wt),
      onPosition: (_, position) => options.onPosition(offset + position + 1),
    });
    return [drawn.top, drawn.bottom];
  }

  decode([top, bottom]: Int32Array[], start: number, end: number): tf.Tensor4D {
    const { top: [ht, wt], bottom: [hb, wb] } = this.vqvae.grids;
    return tf.tidy(() =>
      this.vqvae.decodeIndices({
        top: tf.tensor3d(top!.subarray(start * ht * wt, end * ht * wt), [end - start, ht, wt], 'int32'),
        bottom: tf.tensor3d(bottom!.subarray(start * hb * wb, end * hb * wb), [end - start, hb, wb], 'int32'),
      }),
    );
  }

  writeCodes(path: string, [top, bottom]: Int32Array[], n: number): string[] {
    const files = levelCodePaths(path);
    const grids = this.vqvae.grids;
    writeNpyFile(files.top, top!, [n, ...grids.top]);
    writeNpyFile(files.bottom, bottom!, [n, ...grids.bottom]);
    return [files.top, files.bottom];
  }

  dispose(): void {
    this.vqvae.dispose();
  }
}
