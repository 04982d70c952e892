/**
 * vqvae: VQ-VAE (van den Oord, Vinyals, Kavukcuoglu 2017) in TypeScript.
 * The Node entry: everything of the browser entry (browser.ts: the model,
 * quantizers, prior, sampling, file formats over bytes) plus model and prior
 * directories, data sets from disk, training, the backends (native
 * included), ONNX and web export, and the page server.
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
export * from './browser.js';

export { loadModel, modelSources, readModelData, saveModel, toNamed } from './model/checkpoint.js';
export {
  fromPytorchHierarchicalState,
  fromPytorchState,
  hierarchicalPytorchNames,
  loadPytorchHierarchicalModel,
  loadPytorchModel,
  pytorchNames,
  type PytorchName,
} from './model/pytorch.js';

export { Adam, type AdamOptions } from './train/adam.js';
export { BatchSampler, EpochOrder, gatherImages, pixelVariance, sliceImages } from './train/batches.js';
export { runStepLoop, type StepLoopOptions, type StepLoopResult } from './train/stepLoop.js';
export { evaluate, type EvalMetrics, type EvaluateOptions } from './train/evaluate.js';
export { applyStep, disposeStep, stepGradients, type StepGradients } from './train/step.js';
export { train, type StepInfo, type StopReason, type TrainOptions, type TrainResult } from './train/trainer.js';

export { readCodeSet, type CodeFileOptions } from './prior/codeFile.js';
export { trainPrior, type PriorStepInfo, type PriorTrainOptions, type PriorTrainResult } from './prior/train.js';
export { loadPrior, loadPriorDirectory, priorSources, readPriorData, savePrior } from './prior/checkpoint.js';
export { exportOnnx, type ExportOnnxOptions, type ExportOnnxResult } from './export/onnx/export.js';

export * from './data/index.js';
export * from './io/index.js';
export { makeDirectory } from './io/directory.js';
export * from './backend/index.js';
export { DEMO_MODEL_DIR, PAGE_DIR, startPageServer, type PageServer, type PageServerOptions } from './serve/pageServer.js';
