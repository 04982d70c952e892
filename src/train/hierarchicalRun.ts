/**
 * The two-level model's plug-in for the run engine (run.ts): `vqvae train
 * --levels 2`. As vqvaeRun.ts for one level: the model flags must match a
 * resumed model, the splits come through the caller, saving writes the model
 * directory (model/hierarchicalFile.ts) and report.html; the report has the
 * loss curves and, at each evaluation, test images over their reconstructions
 * and both levels' code usage (report/snapshot.ts takeLevelsSnapshot); each
 * evaluation prints the test MSE, PSNR and both levels' code usage.
 */
import { join } from 'node:path';
import { checkResumeQuantizer, describeQuantizer, withTrainDefaults } from '../quantize/recipe.js';
import type { TrainingState } from '../model/checkpoint.js';
import { checkDataFitsModel, DEFAULT_MODEL_CONFIG, makeModelConfig } from '../model/config.js';
import { HierarchicalVqVae, type TopLevelConfig } from '../model/hierarchical.js';
import { loadHierarchicalModel, saveHierarchicalModel, type LoadedHierarchicalModel } from '../model/hierarchicalFile.js';
import { takeLevelsSnapshot } from '../report/snapshot.js';
import { REPORT_FILE, TrainingReport } from '../report/trainingReport.js';
import { BatchSampler } from './batches.js';
import { evaluateHierarchical, type HierarchicalEvalMetrics } from './hierarchicalEvaluate.js';
import { applyHierarchicalStep, disposeHierarchicalStep, hierarchicalStepGradients, initializeLevelCodebooks, type HierarchicalStepGradients } from './hierarchicalStep.js';
import { checkFlagsMatch, IMAGE_MODEL_RUN, type RunPlugin, type RunSession } from './run.js';
import type { ComputedStep, Stepper } from './stepLoop.js';
import { epochsToSteps, openRunData, openRunReport, trainingState, VQVAE_MODEL_FLAGS, type VqVaeRunOptions } from './vqvaeRun.js';

export interface HierarchicalRunOptions extends VqVaeRunOptions {
  /** The top level's sizes given (undefined: the bottom level's, or the saved model's). */
  top: Partial<TopLevelConfig>;
}

interface HierarchicalComputedStep extends ComputedStep {
  step: HierarchicalStepGradients;
}

export function hierarchicalLine(m: HierarchicalEvalMetrics): string {
  return `mse ${m.mse.toFixed(5)}, psnr ${m.psnrDb.toFixed(2)} dB, codes used top ${m.top.codesUsed} (perplexity ${m.top.perplexity.toFixed(1)}), bottom ${m.bottom.codesUsed} (perplexity ${m.bottom.perplexity.toFixed(1)})`;
}

/** ", restarted top N, bottom M dead codes ..." when the model restarts dead codes (quantize/restart.ts). */
function restartNote(model: HierarchicalVqVae): string {
  if (!(model.config.model.restartDead > 0)) return '';
  return `, restarted top ${model.topQuantizer.takeRestarted()}, bottom ${model.bottomQuantizer.takeRestarted()} dead codes since the last evaluation`;
}

/** The two-level model as the step loop's plug-in: step i trains on `sampler.batchAt(i)`. */
export function hierarchicalStepper(model: HierarchicalVqVae, sampler: BatchSampler, dataVariance: number): Stepper<HierarchicalComputedStep> {
  return {
    computeGradients(i) {
      if (i === 0) initializeLevelCodebooks(model, (step) => sampler.batchAt(step));
      const x = sampler.batchAt(i);
      const s = hierarchicalStepGradients(model, x, dataVariance);
      x.dispose();
      const [loss, reconstructionLoss, vqLoss, topPerplexity, bottomPerplexity] = [s.loss, s.reconstructionLoss, s.vqLoss, s.top.perplexity, s.bottom.perplexity].map((t) => t.dataSync()[0]!);
      return {
        loss: loss!,
        metrics: { reconstructionLoss: reconstructionLoss!, vqLoss: vqLoss!, topPerplexity: topPerplexity!, bottomPerplexity: bottomPerplexity! },
        grads: s.grads,
        step: s,
        dispose: () => disposeHierarchicalStep(s),
      };
    },
    applyGradients: (computed, optimizer) => applyHierarchicalStep(model, optimizer, { ...computed.step, grads: computed.grads }),
  };
}

export function hierarchicalRun(options: HierarchicalRunOptions): RunPlugin<TrainingState, LoadedHierarchicalModel, HierarchicalComputedStep> {
  return {
    ...IMAGE_MODEL_RUN,
    source: options.data,
    load: loadHierarchicalModel,
    async open({ out, saved, settings, backend, output }) {
      if (saved) {
        checkFlagsMatch(options.model, saved.model.model, VQVAE_MODEL_FLAGS, `model in ${out}`);
        checkFlagsMatch(options.top, saved.model.top, { codebookSize: 'top-codebook-size', codeDim: 'top-code-dim' }, `model in ${out}`);
        checkResumeQuantizer(options.quantizer, saved.model.model, out);
      }
      const { data, testData, dataVariance } = await openRunData(options, output, saved?.training);
      let model = saved?.vqvae;
      if (!model) {
        // The default recipe (quantize/recipe.ts) when no quantizer is named, for both levels, with the
        // paper's EMA decay unless --decay: the one-level default's 0.9 is not measured on two levels.
        const decay = options.model.decay ?? DEFAULT_MODEL_CONFIG.decay;
        const bottom = makeModelConfig({ ...options.model, ...withTrainDefaults({ ...options.quantizer, decay }), inputChannels: data.channels, imageHeight: data.height, imageWidth: data.width });
        const top = { codebookSize: options.top.codebookSize ?? bottom.codebookSize, codeDim: options.top.codeDim ?? bottom.codeDim };
        model = new HierarchicalVqVae({ model: bottom, top }, settings.seed);
      }
      const m = model;
      checkDataFitsModel(data, m.config.model, out);
      if (testData) checkDataFitsModel(testData, m.config.model, out);
      const steps = options.epochs !== undefined ? epochsToSteps(options.epochs, data.count, settings.batch) : undefined;
      const c = m.config.model;
      const t = m.config.top;
      const grids = m.grids;
      const modelLine =
        `two levels: top ${grids.top.join('x')} codes (K ${t.codebookSize}, D ${t.codeDim}), bottom ${grids.bottom.join('x')} (K ${c.codebookSize}, D ${c.codeDim}); ` +
        `hidden ${c.hidden}, residual ${c.resBlocks}x${c.resHidden}, each level ${describeQuantizer(c)}`;
      let report: TrainingReport | undefined;
      const session: RunSession<TrainingState, HierarchicalComputedStep> = {
        ...hierarchicalStepper(m, new BatchSampler(data, settings.batch, settings.seed), dataVariance),
        describe: ({ batch, learningRate }) =>
          `data: ${data.spec}, ${data.count} images ${data.height}x${data.width}x${data.channels}; model: ${modelLine}; batch ${batch}, lr ${learningRate}`,
        start(totalSteps) {
          report = openRunReport(`vqvae train --levels 2: ${out}`, out, data, modelLine, settings, totalSteps, backend, saved !== undefined);
        },
        state: (s) => trainingState(options, s, dataVariance),
        save(dir, state, optimizer) {
          saveHierarchicalModel(dir, m, state, optimizer.state());
          report?.write(dir);
        },
        progressFields: ({ loss, metrics: x }) => ({ loss, recon: x.reconstructionLoss!, 'ppl top': x.topPerplexity!, 'ppl bottom': x.bottomPerplexity! }),
        afterStep(step, { loss, metrics: x }) {
          report?.addStep({ step, loss, recon: x.reconstructionLoss!, perplexity: x.bottomPerplexity! });
        },
        evaluate(step) {
          if (!testData) return undefined;
          const metrics = evaluateHierarchical(m, testData, { limit: options.evalLimit });
          report?.addSnapshot(takeLevelsSnapshot(m, testData, step, metrics));
          report?.write(out);
          return `step ${step}: test ${hierarchicalLine(metrics)}${restartNote(m)}`;
        },
        finish(result) {
          if (testData && result.stopReason !== 'interrupted') {
            const metrics = evaluateHierarchical(m, testData);
            output.info(`test (${metrics.images} images): ${hierarchicalLine(metrics)}`);
            report?.addSnapshot(takeLevelsSnapshot(m, testData, result.steps, metrics));
          }
          if (result.stepsRun > 0) {
            report?.write(out);
            output.info(`report: ${join(out, REPORT_FILE)} (open it in a browser)`);
          }
        },
        dispose: () => m.dispose(),
      };
      return { session, steps };
    },
  };
}
