/**
 * vqvae's browser entry (package.json `exports`, condition "browser"): the
 * models (one- and two-level image models, the audio model and its
 * generation in JavaScript), the quantizers, the prior and its sampling, and
 * the file formats over bytes (WAV included). Nothing here touches the file system or any Node built-in
 * (test/browser.test.ts builds it for the browser to make sure),
 * so a page loads a model from fetched or dropped bytes:
 *
 *   import { modelFromBytes, pixelsToInput } from 'vqvae';
 *   const { vqvae } = modelFromBytes(configText, weights, { config: 'config.json', weights: 'weights.safetensors' });
 *
 * The Node entry (index.ts) is this plus files, data sets, training, the
 * native backend and the page server.
 */
export { UserError, isUserError } from './errors.js';
export { mulberry32, nextSeed, type Rng } from './random.js';

export { VectorQuantizer, initialCodebook, type VectorQuantizerOptions } from './quantize/vectorQuantizer.js';
export { VectorQuantizerEMA, type VectorQuantizerEmaOptions } from './quantize/vectorQuantizerEma.js';
export { makeQuantizer, AVAILABLE_QUANTIZERS } from './quantize/factory.js';
export { ProjectedQuantizer } from './quantize/projection.js';
export { rotateToCodes } from './quantize/rotation.js';
export { kmeans, kmeansPlusPlus } from './quantize/kmeans.js';
export { DeadCodeRestarter } from './quantize/restart.js';
export { codebookUsage, type CodebookUsage } from './quantize/usage.js';
export { SimVQ, type SimVqOptions } from './quantize/simvq.js';
export { FiniteScalarQuantizer, type FsqOptions } from './quantize/fsq.js';
export { ResidualVQ, type ResidualVqOptions } from './quantize/rvq.js';
export type { CodeIndices, Quantizer, QuantizerOutput, QuantizerTables } from './quantize/types.js';
export { nearestCodes, stopGradient, usageMetrics, codeCounts } from './quantize/ops.js';

export {
  DEFAULT_MODEL_CONFIG,
  QUANTIZER_KINDS,
  codeGridSize,
  makeModelConfig,
  validateModelConfig,
  type ModelConfig,
  type Likelihood,
  type QuantizerKind,
} from './model/config.js';
export { categoricalMean, pixelBytes, pixelLogits, pixelNll } from './model/likelihood.js';
export { VqVae, ModelMismatchError, outputToPixels, pixelsToInput, type ForwardOutput } from './model/vqvae.js';
export {
  MODEL_FORMAT,
  MODEL_FORMAT_VERSION,
  MODEL_SAVED_FORMAT,
  modelFromBytes,
  modelFromData,
  modelFromTensors,
  parseModelData,
  parseModelFile,
  type LoadedModel,
  type ModelData,
  type ModelFile,
  type ModelSources,
  type TrainingState,
} from './model/modelFile.js';

export { HierarchicalVqVae, levelGrids, type HierarchicalConfig, type LevelIndices, type TopLevelConfig } from './model/hierarchical.js';
export {
  HIERARCHICAL_FORMAT,
  HIERARCHICAL_FORMAT_VERSION,
  HIERARCHICAL_SAVED_FORMAT,
  hierarchicalFromBytes,
  hierarchicalFromData,
  type LoadedHierarchicalModel,
} from './model/hierarchicalModelFile.js';

export { DEFAULT_PRIOR_CONFIG, makePriorConfig, validatePriorConfig, type PriorConfig } from './prior/config.js';
export { PixelCnn, PriorMismatchError } from './prior/pixelcnn.js';
export { samplePrior, sampleLabels, type SampleOptions } from './prior/sample.js';
export { gatherCodes, sliceCodes, type CodeSet } from './prior/codeSet.js';
export { codeNllMean, codeNllSum, priorNll, type NllOptions, type NllResult } from './prior/nll.js';
export {
  PRIOR_FORMAT,
  PRIOR_FORMAT_VERSION,
  PRIOR_SAVED_FORMAT,
  checkPriorFits,
  parsePriorData,
  parsePriorFile,
  priorFromBytes,
  priorFromData,
  type LoadedPrior,
  type PriorData,
  type PriorFile,
  type PriorTrainingState,
} from './prior/priorFile.js';

export { AudioVqVae } from './audio/model.js';
export { DEFAULT_AUDIO_CONFIG, hopLength, validateAudioConfig, type AudioConfig } from './audio/config.js';
export {
  AUDIO_MODEL_FORMAT,
  AUDIO_MODEL_VERSION,
  audioModelFromBytes,
  audioModelFromSaved,
  parseAudioModelFile,
  speakerIndex,
  type AudioModelFile,
  type LoadedAudioModel,
} from './audio/modelFile.js';
export { encodeSamples, Generation, JsStepKernel, padToHop, WaveNetStepper, type StepKernel } from './audio/speech.js';
export { muLawDecode, muLawEncode, MU_LAW_LEVELS } from './audio/mulaw.js';
export { resample } from './audio/resample.js';

export * from './io/bytes.js';
export { decodeWav, encodeWavBytes, WAV_FORMATS, type WavAudio, type WavFormat } from './io/wavBytes.js';
export { registerWasmTrainingKernels, WASM_TRAINING_KERNELS } from './backend/register.js';
