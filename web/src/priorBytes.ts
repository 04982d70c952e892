/**
 * A PixelCNN prior from the bytes of its config.json and weights.safetensors
 * (as `vqvae prior train` writes them), checked against the VQ-VAE it is meant
 * for: same codebook size K and same code grid. The library's own checks
 * (parsePriorData, checkPriorFits); weights named `adam.*` (optimizer state)
 * are skipped.
 */
import { checkPriorFits, parsePriorData, priorFromData, savedModelFromBytes, type PixelCnn } from 'vqvae';
import type { PartBytes } from './load.js';

export function priorFromBytes(part: PartBytes, model: { codebookSize: number; gridHeight: number; gridWidth: number }): PixelCnn {
  const sources = { config: part.configSource, weights: part.weightsSource };
  const data = parsePriorData(savedModelFromBytes(part.configText, part.weights, sources), sources);
  checkPriorFits(data.config, { codebookSize: model.codebookSize, grid: [model.gridHeight, model.gridWidth] }, sources.config);
  return priorFromData(data, sources).pixelCnn;
}
