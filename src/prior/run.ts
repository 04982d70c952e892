/**
 * The PixelCNN prior's plug-in for the run engine (train/run.ts), as
 * `vqvae prior train` uses it: reads the code grids (and labels), works out K
 * (--codebook-size, or the K of the VQ-VAE they came from, or the largest code
 * + 1) and the number of classes, checks a resumed prior against the flags and
 * the grids, and creates (or restores) the PixelCNN; saving writes the prior
 * directory (prior/checkpoint.ts).
 *
 * With a two-level --model (model/hierarchical.ts) the prior is for one
 * `level`: the top level's grids, or the bottom level's conditioned on the
 * top codes of the same images (--top-codes); prior/levels.ts checks the
 * files against that level and records the level and the model's identity in
 * the prior's config, so a resumed run and `vqvae sample` can refuse a prior
 * of the other level or of another model.
 */
import { UserError } from '../errors.js';
import { loadModel } from '../model/checkpoint.js';
import { loadHierarchicalModel, modelLevels } from '../model/hierarchicalFile.js';
import { codeGridSize } from '../model/config.js';
import { checkBatchDivides, checkFlagsMatch, codePriorRunFields, type RunPlugin, type RunSession } from '../train/run.js';
import { maxOf, readCodeSet, residualModelError } from './codeFile.js';
import type { CodeSet } from './codeSet.js';
import { loadPriorDirectory, savePrior, type LoadedPrior, type PriorTrainingState } from './checkpoint.js';
import { makePriorConfig, type PriorConfig, type PriorLevel } from './config.js';
import { checkLevelCodesForPrior, describePriorLevel, levelConfigFields, levelSpec, readLevelCodes, savedLevelSpec, type LevelSpec } from './levels.js';
import { priorNll } from './nll.js';
import { PixelCnn } from './pixelcnn.js';
import { priorStepper } from './train.js';
import type { ComputedStep } from '../train/stepLoop.js';

/** Config fields set by flags of `vqvae prior train`, with those flags' names; with --resume they must match. */
export const PRIOR_FLAGS = { channels: 'channels', layers: 'layers', kernelSize: 'kernel-size', codebookSize: 'codebook-size', numClasses: 'classes' } as const;

export interface PriorRunOptions {
  /** Training code grids (.npy), and their labels for a class-conditional prior. */
  codes: string;
  labels?: string;
  /** Held-out grids (and labels), scored every --eval-every steps and at the end. */
  testCodes?: string;
  testLabels?: string;
  /** The VQ-VAE directory the codes came from: its K, and a check of the grid size. */
  model?: string;
  limit?: number;
  /** Config fields given (undefined: the default, or the saved prior's); `classes` is --classes. */
  channels?: number;
  layers?: number;
  kernelSize?: number;
  codebookSize?: number;
  classes?: number;
  /** The level of a two-level --model (required with one; on --resume, the saved prior's by default). */
  level?: PriorLevel;
  /** The top codes of the same images as `codes` (and `testCodes`), for the bottom level. */
  topCodes?: string;
  testTopCodes?: string;
}

/**
 * The level spec of this run, or undefined for a one-level prior: from a
 * two-level --model (--level required), or else from a saved level prior.
 */
function runLevel(options: PriorRunOptions, saved: PriorConfig | undefined, out: string): LevelSpec | undefined {
  const level = options.level ?? saved?.level;
  if (options.model !== undefined) {
    if (modelLevels(options.model) === 1) {
      if (options.level !== undefined) {
        throw new UserError(`--level ${options.level}: the model in ${options.model} has one level; --level is for a two-level model (\`vqvae train --levels 2\`)`);
      }
      return undefined;
    }
    if (level === undefined) {
      throw new UserError(`--level is needed: the model in ${options.model} has two levels; give --level top (the top codes) or --level bottom (the bottom codes given the top ones)`);
    }
    const { vqvae } = loadHierarchicalModel(options.model);
    try {
      checkLevelCodesForPrior(vqvae, level, options.model);
      return levelSpec(vqvae, level);
    } finally {
      vqvae.dispose();
    }
  }
  const spec = saved ? savedLevelSpec(saved) : undefined;
  if (spec && options.level !== undefined && options.level !== spec.level) {
    throw new UserError(`--level ${options.level}: the prior in ${out} is ${describePriorLevel(saved!)}`);
  }
  return spec;
}

/** The checks of a resumed level prior: the same level, and the same model. */
function checkResumedLevel(spec: LevelSpec | undefined, saved: PriorConfig, out: string, modelDir: string | undefined): void {
  if ((spec?.level ?? undefined) !== saved.level) {
    throw new UserError(`the prior in ${out} is ${describePriorLevel(saved)}; ${spec ? `--level ${spec.level}` : 'without --level this run trains a one-level prior'} does not continue it`);
  }
  if (spec && spec.model !== saved.model) {
    throw new UserError(`the ${spec.level}-level prior in ${out} belongs to another model (model ${saved.model}) than the one in ${modelDir} (model ${spec.model})`);
  }
}

function checkLabels(labels: Int32Array | undefined, file: string | undefined, numClasses: number): void {
  if (labels && maxOf(labels) >= numClasses) {
    throw new UserError(`${file}: label ${maxOf(labels)} is out of range for ${numClasses} classes (0..${numClasses - 1})`);
  }
}

export function priorRun(options: PriorRunOptions): RunPlugin<PriorTrainingState, LoadedPrior, ComputedStep> {
  const { codes: codesFile } = options;
  return {
    ...codePriorRunFields('grids', 'grids/s'),
    source: codesFile,
    load: loadPriorDirectory,
    async open({ out, saved, settings, output, communicator }) {
      const spec = runLevel(options, saved?.prior, out);
      if (saved) checkResumedLevel(spec, saved.prior, out, options.model);
      if (!spec && (options.topCodes !== undefined || options.testTopCodes !== undefined)) {
        throw new UserError(`--${options.topCodes !== undefined ? 'top-codes' : 'test-top-codes'} is for the bottom prior of a two-level model (--model M2 --level bottom)`);
      }
      if (spec?.level === 'top' && (options.topCodes !== undefined || options.testTopCodes !== undefined)) {
        throw new UserError(`--${options.topCodes !== undefined ? 'top-codes' : 'test-top-codes'} is for --level bottom: the top prior is not conditioned on other codes`);
      }
      // The VQ-VAE's K and grid, if given.
      let modelK: number | undefined = spec?.codebookSize;
      let modelGrid: [number, number] | undefined = spec?.grid;
      if (options.model !== undefined && !spec) {
        const model = loadModel(options.model);
        if (model.vqvae.codeDepth > 1) {
          model.vqvae.dispose();
          throw residualModelError(options.model, model.model.depth);
        }
        modelK = model.model.codebookSize;
        modelGrid = codeGridSize(model.model);
        model.vqvae.dispose();
      }
      if (options.codebookSize !== undefined && modelK !== undefined && options.codebookSize !== modelK) {
        throw new UserError(`--codebook-size ${options.codebookSize} does not match the model in ${options.model} (K ${modelK})`);
      }
      const kGiven = options.codebookSize ?? modelK ?? saved?.prior.codebookSize;
      const data = spec
        ? readLevelCodes(spec, { codes: codesFile, labels: options.labels, top: options.topCodes }, { codes: '--codes', top: '--top-codes' }, options.model, options.limit)
        : readCodeSet(codesFile, options.labels, { codebookSize: kGiven, limit: options.limit });
      if (modelGrid && (modelGrid[0] !== data.height || modelGrid[1] !== data.width)) {
        throw new UserError(`${codesFile}: grids are ${data.height}x${data.width} but the model in ${options.model} makes ${modelGrid.join('x')} codes`);
      }
      const K = kGiven ?? Math.max(2, maxOf(data.codes) + 1);
      if (kGiven === undefined) output.info(`K = ${K}: the largest code in ${codesFile} + 1 (give --model or --codebook-size to set it)`);
      const numClasses = data.labels ? (options.classes ?? saved?.prior.numClasses ?? maxOf(data.labels) + 1) : 0;
      checkLabels(data.labels, options.labels, numClasses);
      const requested: Partial<PriorConfig> = {
        channels: options.channels,
        layers: options.layers,
        kernelSize: options.kernelSize,
        codebookSize: kGiven,
        numClasses: options.labels !== undefined ? numClasses : 0,
      };
      if (saved) {
        checkFlagsMatch(requested, saved.prior, PRIOR_FLAGS, `prior in ${out}`, (key, value, flag) =>
          key === 'numClasses' ? (value === 0 ? 'no --labels' : `--labels with ${value} classes`) : `--${flag} ${value}`,
        );
        if (saved.prior.height !== data.height || saved.prior.width !== data.width) {
          throw new UserError(`${codesFile}: grids are ${data.height}x${data.width} but the prior in ${out} models ${saved.prior.height}x${saved.prior.width}`);
        }
      }
      let testData: CodeSet | undefined;
      if (options.testCodes !== undefined) {
        testData = spec
          ? readLevelCodes(spec, { codes: options.testCodes, labels: options.testLabels, top: options.testTopCodes }, { codes: '--test-codes', top: '--test-top-codes' }, options.model)
          : readCodeSet(options.testCodes, options.testLabels, { codebookSize: K });
        if (testData.height !== data.height || testData.width !== data.width) {
          throw new UserError(`${options.testCodes}: grids are ${testData.height}x${testData.width}, the training grids ${data.height}x${data.width}`);
        }
        checkLabels(testData.labels, options.testLabels, numClasses);
      }
      if (settings.batch > data.count) throw new UserError(`--batch ${settings.batch} is larger than the data: ${codesFile} has ${data.count} grids`);
      checkBatchDivides(settings.batch, communicator.size);

      const fields = spec ? levelConfigFields(spec) : {};
      const prior = saved?.pixelCnn ?? new PixelCnn(makePriorConfig({ ...requested, codebookSize: K, height: data.height, width: data.width, ...fields }), settings.seed);
      const c = prior.config;
      const labels = options.labels ?? saved?.training?.labels;
      const topCodes = options.topCodes ?? saved?.training?.topCodes;
      const uniform = Math.log2(c.codebookSize).toFixed(3);
      const session: RunSession<PriorTrainingState, ComputedStep> = {
        ...priorStepper(prior, data, settings.batch, settings.seed, [communicator.rank, communicator.size]),
        describe: ({ batch, learningRate }) =>
          `${spec ? `${spec.level} level of model ${spec.model}; ` : ''}codes: ${codesFile}${data.top ? ` given ${options.topCodes} (${data.top.height}x${data.top.width})` : ''}, ${data.count} grids ${data.height}x${data.width}, K ${c.codebookSize} (uniform: ${uniform} bits per code)` +
          `${c.numClasses > 0 ? `, ${c.numClasses} classes` : ''}; prior: channels ${c.channels}, ${c.layers + 1} gated layers, kernel ${c.kernelSize}; batch ${batch}, lr ${learningRate}`,
        state: (s) => ({ codes: codesFile, ...(labels !== undefined ? { labels } : {}), ...(spec?.top && topCodes !== undefined ? { topCodes } : {}), ...s }),
        save: (dir, state, optimizer) => savePrior(dir, prior, state, optimizer.state()),
        progressFields: ({ metrics }) => ({ bits: metrics.bitsPerCode! }),
        evaluate: (step) => (testData ? `step ${step}: test NLL ${priorNll(prior, testData, { communicator }).bitsPerCode.toFixed(4)} bits per code` : undefined),
        finish(result) {
          if (!testData || result.stopReason === 'interrupted') return;
          const m = priorNll(prior, testData, { communicator });
          output.info(`test (${m.grids} grids): NLL ${m.bitsPerCode.toFixed(4)} bits per code (uniform: ${uniform})`);
          return { test_bits_per_code: m.bitsPerCode };
        },
        replicaState: () => Object.fromEntries(prior.variables),
        dispose: () => prior.dispose(),
      };
      return { session };
    },
  };
}
