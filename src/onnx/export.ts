/**
 * Writes a trained model directory as ONNX files that onnxruntime (or any
 * ONNX tool) runs without this project:
 *
 *   encoder.onnx   pixels uint8 [N, H, W, C] → indices int32 [N, h, w]
 *   decoder.onnx   indices int32 [N, h, w] → pixels uint8 [N, H, W, C]
 *                  (+ reconstruction float32 [N, H, W, C], model scale)
 *
 *   const { files } = await exportOnnx({ modelDir: 'runs/mnist', outDir: 'onnx' });
 *   // files: ['onnx/encoder.onnx', 'onnx/decoder.onnx']
 *
 * Every setting of the model's config.json must be one the graphs implement:
 * a setting this exporter does not know (from a newer version, say) is an
 * error naming it, never a silently different graph. The PixelCNN prior
 * (`priorDir`) cannot be exported yet and says so. Files are written
 * atomically; a failed export leaves no partial file behind.
 */
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import fs from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { writeFileAtomicSync } from '../io/atomicWrite.js';
import { CONFIG_FILE, loadCheckpoint } from '../io/checkpoint.js';
import { loadModel } from '../model/checkpoint.js';
import { DEFAULT_MODEL_CONFIG, type ModelConfig } from '../model/config.js';
import { decoderGraph } from './decoderGraph.js';
import { encoderGraph } from './encoderGraph.js';
import type { GraphBuilder } from './graph.js';
import type { Weights } from './layers.js';

export interface ExportOnnxOptions {
  /** A model directory written by `vqvae train`. */
  modelDir: string;
  /** Where the .onnx files go; created if missing. */
  outDir: string;
  /** A prior directory: not supported yet, an error. */
  priorDir?: string;
}

export interface ExportOnnxResult {
  /** Paths of the files written, encoder first. */
  files: string[];
}

/** The model settings the ONNX graphs implement, and the quantizers. */
const EXPORTABLE_SETTINGS: readonly string[] = Object.keys(DEFAULT_MODEL_CONFIG);
const EXPORTABLE_QUANTIZERS: readonly string[] = ['vq', 'ema'];

export const PRIOR_EXPORT_UNSUPPORTED =
  'exporting the PixelCNN prior to ONNX (prior.onnx) is not supported yet; export without --prior';

export async function exportOnnx(options: ExportOnnxOptions): Promise<ExportOnnxResult> {
  if (options.priorDir !== undefined) throw new UserError(`${options.priorDir}: ${PRIOR_EXPORT_UNSUPPORTED}`);
  checkExportable(loadCheckpoint(options.modelDir).config, join(options.modelDir, CONFIG_FILE));
  // Loading only creates and fills variables: whichever backend tfjs has ready does.
  await tf.ready();
  const loaded = loadModel(options.modelDir);
  const weights: Weights = new Map(
    Object.entries(loaded.vqvae.state()).map(([name, v]) => [name, { shape: v.shape, data: v.dataSync() as Float32Array }]),
  );
  loaded.vqvae.dispose();

  prepareOutDir(options.outDir);
  const files: string[] = [];
  const write = (name: string, graph: GraphBuilder, docString: string) => {
    const path = join(options.outDir, name);
    writeFileAtomicSync(path, graph.toModel({ docString, properties: modelProperties(loaded.model) }));
    files.push(path);
  };
  write('encoder.onnx', encoderGraph(loaded.model, weights), 'VQ-VAE encoder: pixels uint8 [N, H, W, C] → nearest-code indices int32 [N, h, w]');
  write('decoder.onnx', decoderGraph(loaded.model, weights), 'VQ-VAE decoder: code indices int32 [N, h, w] → pixels uint8 [N, H, W, C]');
  return { files };
}

/**
 * Throws unless the raw config.json of `modelDir` uses only settings the
 * graphs implement, naming what is missing. Runs before the model is loaded,
 * so the message is about ONNX rather than about an unknown key.
 */
function checkExportable(config: unknown, source: string): void {
  const model = (config as { model?: unknown }).model;
  if (typeof model !== 'object' || model === null || Array.isArray(model)) return; // loadModel says what is wrong
  const record = model as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!EXPORTABLE_SETTINGS.includes(key)) {
      throw new UserError(
        `${source}: cannot export to ONNX: the model setting "${key}" has no ONNX graph here; ` +
          `the export implements ${EXPORTABLE_SETTINGS.join(', ')}`,
      );
    }
  }
  if (typeof record.quantizer === 'string' && !EXPORTABLE_QUANTIZERS.includes(record.quantizer)) {
    throw new UserError(
      `${source}: cannot export to ONNX: no ONNX graph for quantizer "${record.quantizer}"; ` +
        `the export implements ${EXPORTABLE_QUANTIZERS.map((q) => `"${q}"`).join(' and ')}`,
    );
  }
}

function prepareOutDir(dir: string): void {
  const stat = fs.statSync(dir, { throwIfNoEntry: false });
  if (stat !== undefined && !stat.isDirectory()) throw new UserError(`${dir}: exists and is not a directory`);
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (error) {
    throw new UserError(`${dir}: cannot create the directory (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
}

/** metadata_props of both files: what a user of the .onnx needs to know about the model. */
function modelProperties(config: ModelConfig): Record<string, string> {
  return {
    image_size: `${config.imageHeight}x${config.imageWidth}x${config.inputChannels}`,
    codebook_size: String(config.codebookSize),
    code_dim: String(config.codeDim),
    pixel_scale: 'x = pixels / 255 - 0.5',
  };
}
