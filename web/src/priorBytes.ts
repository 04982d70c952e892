/**
 * A PixelCNN prior from the bytes of its config.json and weights.safetensors
 * (as `vqvae prior train` writes them), checked against the VQ-VAE it is meant
 * for: same codebook size K and same code grid. Weights named `adam.*`
 * (optimizer state) are skipped.
 */
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../../src/errors.js';
import { decodeSafetensors } from '../../src/io/safetensors.js';
import { validatePriorConfig } from '../../src/prior/config.js';
import { PixelCnn } from '../../src/prior/pixelcnn.js';
import type { PartBytes } from './load.js';

export function priorFromBytes(part: PartBytes, model: { codebookSize: number; gridHeight: number; gridWidth: number }): PixelCnn {
  let file: unknown;
  try {
    file = JSON.parse(part.configText);
  } catch (error) {
    throw new UserError(`${part.configSource}: not valid JSON (${(error as Error).message})`);
  }
  const record = (typeof file === 'object' && file !== null ? file : {}) as Record<string, unknown>;
  if (record.format !== 'vqvae-prior') {
    throw new UserError(`${part.configSource}: not a vqvae prior (format ${JSON.stringify(record.format)}, expected "vqvae-prior")`);
  }
  const config = validatePriorConfig(record.prior, `${part.configSource}: prior`);
  if (config.codebookSize !== model.codebookSize || config.height !== model.gridHeight || config.width !== model.gridWidth) {
    throw new UserError(
      `${part.configSource}: this prior is for ${config.height}x${config.width} grids of ${config.codebookSize} codes, ` +
        `but the model makes ${model.gridHeight}x${model.gridWidth} grids of ${model.codebookSize} codes`,
    );
  }
  const { tensors } = decodeSafetensors(part.weights, part.weightsSource);
  const map = new Map<string, tf.Tensor>();
  try {
    for (const [name, t] of Object.entries(tensors)) {
      if (name.startsWith('adam.')) continue;
      if (!(t.data instanceof Float32Array)) throw new UserError(`${part.weightsSource}: tensor ${name} is ${t.dtype}, expected F32`);
      map.set(name, tf.tensor(t.data, t.shape, 'float32'));
    }
    try {
      return PixelCnn.fromTensors(config, map);
    } catch (error) {
      if (error instanceof UserError) throw new UserError(`${part.weightsSource}: ${(error as Error).message}`);
      throw error;
    }
  } finally {
    for (const t of map.values()) t.dispose();
  }
}
