/**
 * The file formats over bytes, for the browser entry and io/index.ts: saved
 * models as plain data, safetensors, .npy and the checkpoint id. No file
 * system here (the *File.ts and checkpoint.ts modules add it).
 */
export {
  OPTIMIZER_PREFIX,
  parseSaved,
  parseSavedConfig,
  savedModelFromBytes,
  toNamedTensors,
  type Float32Tensor,
  type ParsedSaved,
  type SavedFormat,
  type SavedModel,
  type SavedSources,
} from './savedModel.js';
export {
  SAFETENSORS_DTYPES,
  decodeSafetensors,
  encodeSafetensors,
  type DecodedSafetensors,
  type NamedTensor,
  type SafetensorsDtype,
  type TensorData,
} from './safetensors.js';
export { decodeNpy, encodeNpy, type NpyArray, type NpyDtype, type NpyWritable } from './npy.js';
export { CHECKPOINT_ID_KEY } from './checkpointId.js';
