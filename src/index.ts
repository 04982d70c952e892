/**
 * vqvae: VQ-VAE (van den Oord, Vinyals, Kavukcuoglu 2017) in TypeScript.
 *
 *   import { selectBackend, loadDataset, VqVae, makeModelConfig, Adam, train } from 'vqvae';
 *   await selectBackend('auto');
 *   const data = await loadDataset('mnist');
 *   const model = new VqVae(makeModelConfig({ codebookSize: 512 }), 0);
 *   await train({ model, optimizer: new Adam({ learningRate: 2e-4 }), data, batch: 128,
 *                 totalSteps: 1000, seed: 0, dataVariance: pixelVariance(data) });
 *
 * The public API, and nothing else.
 */
export { UserError, isUserError } from './errors.js';

export { VectorQuantizer, initialCodebook, type VectorQuantizerOptions } from './quantize/vectorQuantizer.js';
export { VectorQuantizerEMA, type VectorQuantizerEmaOptions } from './quantize/vectorQuantizerEma.js';
export type { Quantizer, QuantizerOutput } from './quantize/types.js';
export { nearestCodes, stopGradient, usageMetrics, codeCounts } from './quantize/ops.js';

export {
  DEFAULT_MODEL_CONFIG,
  codeGridSize,
  makeModelConfig,
  validateModelConfig,
  type ModelConfig,
  type Likelihood,
  type QuantizerKind,
} from './model/config.js';
export { categoricalMean, pixelBytes, pixelLogits, pixelNll } from './model/likelihood.js';
export { VqVae, ModelMismatchError, outputToPixels, pixelsToInput, type ForwardOutput } from './model/vqvae.js';
export { loadModel, saveModel, type LoadedModel, type ModelFile, type TrainingState } from './model/checkpoint.js';
export { fromPytorchState, loadPytorchModel, pytorchNames, type PytorchName } from './model/pytorch.js';
export { modelFromBytes, modelFromTensors, type ModelSources } from './model/modelFile.js';

export { Adam, type AdamOptions } from './train/adam.js';
export { BatchSampler, EpochOrder, gatherImages, pixelVariance, sliceImages } from './train/batches.js';
export { runStepLoop, type StepLoopOptions, type StepLoopResult } from './train/stepLoop.js';
export { evaluate, type EvalMetrics, type EvaluateOptions } from './train/evaluate.js';
export { applyStep, disposeStep, stepGradients, type StepGradients } from './train/step.js';
export { train, type StepInfo, type StopReason, type TrainOptions, type TrainResult } from './train/trainer.js';

export { DEFAULT_PRIOR_CONFIG, makePriorConfig, validatePriorConfig, type PriorConfig } from './prior/config.js';
export { PixelCnn, PriorMismatchError } from './prior/pixelcnn.js';
export { samplePrior, sampleLabels, type SampleOptions } from './prior/sample.js';
export { gatherCodes, sliceCodes, type CodeSet } from './prior/codeSet.js';
export { readCodeSet, type CodeFileOptions } from './prior/codeFile.js';
export { codeNllMean, codeNllSum, priorNll, type NllOptions, type NllResult } from './prior/nll.js';
export { trainPrior, type PriorStepInfo, type PriorTrainOptions, type PriorTrainResult } from './prior/train.js';
export {
  loadPrior,
  loadPriorDirectory,
  savePrior,
  type LoadedPrior,
  type PriorFile,
  type PriorTrainingState,
} from './prior/checkpoint.js';
export { exportOnnx, type ExportOnnxOptions, type ExportOnnxResult } from './export/onnx/export.js';

export * from './data/index.js';
export * from './io/index.js';
export * from './backend/index.js';
export { DEMO_MODEL_DIR, PAGE_DIR, startPageServer, type PageServer, type PageServerOptions } from './serve/pageServer.js';
