/**
 * File formats and safe writing: safetensors weights, .npy arrays, PNG image
 * grids, atomic file replacement and crash-safe model directories. Everything
 * here works on typed arrays and never imports TensorFlow.js; bytes.ts is
 * the part without a file system (the browser entry's).
 */
export {
  fsyncDirectorySync,
  removeStaleTempFiles,
  tempPathFor,
  writeFileAtomic,
  writeFileAtomicSync,
} from './atomicWrite.js';
export * from './bytes.js';
export { readSafetensorsFile, writeSafetensorsFile } from './safetensorsFile.js';
export { readNpyFile, writeNpyFile } from './npyFile.js';
export {
  CONFIG_FILE,
  PREVIOUS_WEIGHTS_FILE,
  WEIGHTS_FILE,
  checkpointExists,
  loadCheckpoint,
  saveCheckpoint,
  type Checkpoint,
} from './checkpoint.js';
export {
  decodePng,
  encodeComparisonGrid,
  encodeImageGrid,
  writePng,
  type ComparisonGridOptions,
  type DecodedPng,
  type GridOptions,
} from './pngGrid.js';
