/**
 * File formats and safe writing: safetensors weights, .npy arrays, PNG image
 * grids, atomic file replacement and crash-safe model directories. Everything
 * here works on typed arrays and never imports TensorFlow.js.
 */
export {
  fsyncDirectorySync,
  removeStaleTempFiles,
  tempPathFor,
  writeFileAtomic,
  writeFileAtomicSync,
} from './atomicWrite.js';
export {
  SAFETENSORS_DTYPES,
  decodeSafetensors,
  encodeSafetensors,
  type DecodedSafetensors,
  type NamedTensor,
  type SafetensorsDtype,
  type TensorData,
} from './safetensors.js';
export { readSafetensorsFile, writeSafetensorsFile } from './safetensorsFile.js';
export { decodeNpy, encodeNpy, type NpyArray, type NpyDtype, type NpyWritable } from './npy.js';
export { readNpyFile, writeNpyFile } from './npyFile.js';
export {
  CHECKPOINT_ID_KEY,
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
