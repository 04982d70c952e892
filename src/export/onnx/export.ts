/**
 * Writes a trained model directory as ONNX files that onnxruntime (or any
 * ONNX tool) runs without this project:
 *
 *   encoder.onnx   pixels uint8 [N, H, W, C] → indices int32 [N, h, w]
 *                  ([N, h, w, depth] for an rvq model)
 *   decoder.onnx   indices int32 [N, h, w] (rvq: [N, h, w, depth]) → pixels uint8 [N, H, W, C]
 *                  (+ reconstruction float32 [N, H, W, C], model scale)
 *   (a two-level model, format vqvae2: encoder.onnx gives indices_top [N, ht, wt]
 *   and indices_bottom [N, hb, wb], decoder.onnx takes both; no prior.onnx)
 *   prior.onnx     with `priorDir`: codes int32 [N, h, w] (+ labels int32
 *                  [N] if class-conditional) → logits float32 [N, h, w, K]
 *
 *   const { files } = await exportOnnx({ modelDir: 'runs/mnist', outDir: 'onnx' });
 *   // files: ['onnx/encoder.onnx', 'onnx/decoder.onnx']
 *
 * Every setting of the model's config.json must be one the graphs implement:
 * a setting this exporter does not know (from a newer version, say) is an
 * error naming it, never a silently different graph; so is a prior whose
 * code grid or K differs from the model's. Everything is loaded and checked
 * before the first file is written, and each file is written atomically.
 */
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import fs from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../errors.js';
import { writeFileAtomicSync } from '../../io/atomicWrite.js';
import { makeDirectory } from '../../io/directory.js';
import { CONFIG_FILE, loadCheckpoint } from '../../io/checkpoint.js';
import type { SavedModel } from '../../io/savedModel.js';
import { modelSources } from '../../model/checkpoint.js';
import { codeGridSize, DEFAULT_MODEL_CONFIG, QUANTIZER_KINDS, type ModelConfig } from '../../model/config.js';
import { modelFromData, parseModelData } from '../../model/modelFile.js';
import { levelGrids } from '../../model/hierarchical.js';
import { HIERARCHICAL_FORMAT, hierarchicalFromData, parseHierarchicalData } from '../../model/hierarchicalFile.js';
import { priorSources } from '../../prior/checkpoint.js';
import type { PriorConfig } from '../../prior/config.js';
import { parsePriorData, priorFromData } from '../../prior/priorFile.js';
import { decoderGraph } from './decoderGraph.js';
import { encoderGraph } from './encoderGraph.js';
import { hierarchicalDecoderGraph, hierarchicalEncoderGraph, hierarchicalTables } from './hierarchicalGraphs.js';
import type { GraphBuilder } from './graph.js';
import type { Weights } from './layers.js';
import { priorGraph } from './priorGraph.js';
import { quantizerTables } from './quantizerGraph.js';

export interface ExportOnnxOptions {
  /** A model directory written by `vqvae train`. */
  modelDir: string;
  /** Where the .onnx files go; created if missing. */
  outDir: string;
  /** A prior directory written by `vqvae prior train`, for prior.onnx. */
  priorDir?: string;
}

export interface ExportOnnxResult {
  /** Paths of the files written: encoder, decoder, then prior if asked for. */
  files: string[];
}

/** The model and prior settings the ONNX graphs implement, and the quantizers. */
const EXPORTABLE_SETTINGS: readonly string[] = Object.keys(DEFAULT_MODEL_CONFIG);
const EXPORTABLE_PRIOR_SETTINGS: readonly string[] = ['codebookSize', 'height', 'width', 'channels', 'layers', 'kernelSize', 'numClasses'];
const EXPORTABLE_QUANTIZERS: readonly string[] = QUANTIZER_KINDS;

export async function exportOnnx(options: ExportOnnxOptions): Promise<ExportOnnxResult> {
  // Each directory is read and decoded once; its weights go into the graphs as they are.
  const modelSaved = loadCheckpoint(options.modelDir);
  if (isTwoLevelConfig(modelSaved.config)) return exportTwoLevelOnnx(options, modelSaved);
  checkExportable(modelSaved.config, 'model', EXPORTABLE_SETTINGS, join(options.modelDir, CONFIG_FILE));
  const priorSaved = options.priorDir === undefined ? undefined : loadCheckpoint(options.priorDir);
  if (priorSaved !== undefined) {
    checkExportable(priorSaved.config, 'prior', EXPORTABLE_PRIOR_SETTINGS, join(options.priorDir!, CONFIG_FILE));
  }
  const model = parseModelData(modelSaved, modelSources(options.modelDir));
  // The weights must be the ones the config's model has: checked against a model of that config.
  await tf.ready();
  const built = modelFromData(model, modelSources(options.modelDir)).vqvae;
  const quantizer = quantizerTables(built);
  built.dispose();
  const weights: Weights = new Map(Object.entries(model.weights));
  const prior = priorSaved === undefined ? undefined : priorFor(options.priorDir!, priorSaved, model.config);

  prepareOutDir(options.outDir);
  const files: string[] = [];
  const write = fileWriter(options.outDir, files, modelProperties(model.config));
  write('encoder.onnx', encoderGraph(model.config, weights, quantizer), 'VQ-VAE encoder: pixels uint8 [N, H, W, C] → nearest-code indices int32 [N, h, w] ([N, h, w, depth] for rvq)');
  write('decoder.onnx', decoderGraph(model.config, weights, quantizer), 'VQ-VAE decoder: code indices int32 [N, h, w] ([N, h, w, depth] for rvq) → pixels uint8 [N, H, W, C]');
  if (prior) {
    write('prior.onnx', priorGraph(prior.config, prior.weights), 'PixelCNN prior over the VQ-VAE codes: codes int32 [N, h, w] → logits float32 [N, h, w, K]');
  }
  return { files };
}

/** Writes graphs into `outDir` atomically, with `properties` as metadata, adding each path to `files`. */
function fileWriter(outDir: string, files: string[], properties: Record<string, string>): (name: string, graph: GraphBuilder, docString: string) => void {
  return (name, graph, docString) => {
    const path = join(outDir, name);
    writeFileAtomicSync(path, graph.toModel({ docString, properties }));
    files.push(path);
  };
}

/** Whether a raw config.json is a two-level model's (model/hierarchicalFile.ts). */
function isTwoLevelConfig(config: unknown): boolean {
  return typeof config === 'object' && config !== null && (config as Record<string, unknown>).format === HIERARCHICAL_FORMAT;
}

/** The settings a two-level model's config.json may hold: the one-level ones and the top level's. */
const EXPORTABLE_TWO_LEVEL_SETTINGS: readonly string[] = [...EXPORTABLE_SETTINGS, 'levels', 'topCodebookSize', 'topCodeDim', 'fsqLevels', 'topQuantizer'];

/**
 * encoder.onnx (pixels → indices_top [N, ht, wt] and indices_bottom [N, hb, wb])
 * and decoder.onnx (both → pixels, reconstruction) of a two-level model
 * (hierarchicalGraphs.ts). Its priors have no ONNX graph here.
 */
async function exportTwoLevelOnnx(options: ExportOnnxOptions, saved: SavedModel): Promise<ExportOnnxResult> {
  const source = join(options.modelDir, CONFIG_FILE);
  if (options.priorDir !== undefined) {
    throw new UserError(`--prior ${options.priorDir}: prior.onnx is not written for a two-level model yet (${source}); export the model without --prior`);
  }
  checkExportable(saved.config, 'model', EXPORTABLE_TWO_LEVEL_SETTINGS, source);
  const sources = modelSources(options.modelDir);
  const data = parseHierarchicalData(saved, sources);
  await tf.ready();
  const built = hierarchicalFromData(data, sources).vqvae; // the weights match the config
  const levels = hierarchicalTables(built);
  built.dispose();
  const weights: Weights = new Map(Object.entries(data.weights));
  const { model, top } = data.config;
  const grids = levelGrids(model);
  prepareOutDir(options.outDir);
  const files: string[] = [];
  const write = fileWriter(options.outDir, files, {
    ...modelProperties(model),
    levels: '2',
    top_codebook_size: String(top.codebookSize),
    top_code_dim: String(top.codeDim),
    top_quantizer: top.quantizer,
    ...(top.quantizer === 'rvq' ? { top_code_depth: String(top.depth) } : {}),
    top_grid: grids.top.join('x'),
    bottom_grid: grids.bottom.join('x'),
  });
  write('encoder.onnx', hierarchicalEncoderGraph(levels, weights),
    'VQ-VAE-2 encoder: pixels uint8 [N, H, W, C] → nearest-code indices int32 indices_top [N, ht, wt] and indices_bottom [N, hb, wb] (an rvq level: [N, h, w, depth])');
  write('decoder.onnx', hierarchicalDecoderGraph(levels, weights),
    'VQ-VAE-2 decoder: code indices int32 indices_top [N, ht, wt] and indices_bottom [N, hb, wb] (an rvq level: [N, h, w, depth]) → pixels uint8 [N, H, W, C]');
  return { files };
}

/**
 * Throws unless the `section` ('model' or 'prior') of a raw config.json uses
 * only settings the graphs implement, naming what is missing. Runs before
 * the directory is loaded, so the message is about ONNX rather than about
 * an unknown key.
 */
function checkExportable(config: unknown, section: 'model' | 'prior', settings: readonly string[], source: string): void {
  const value = (config as Record<string, unknown>)[section];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return; // loading says what is wrong
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!settings.includes(key)) {
      throw new UserError(
        `${source}: cannot export to ONNX: the ${section} setting "${key}" has no ONNX graph here; ` +
          `the export implements ${settings.join(', ')}`,
      );
    }
  }
  if (section === 'model' && typeof record.quantizer === 'string' && !EXPORTABLE_QUANTIZERS.includes(record.quantizer)) {
    throw new UserError(
      `${source}: cannot export to ONNX: no ONNX graph for quantizer "${record.quantizer}"; ` +
        `the export implements ${EXPORTABLE_QUANTIZERS.slice(0, -1).map((q) => `"${q}"`).join(', ')} and "${EXPORTABLE_QUANTIZERS.at(-1)}"`,
    );
  }
}

/** The prior read from `dir`, checked against the model whose codes it models. */
function priorFor(dir: string, saved: SavedModel, model: ModelConfig): { config: PriorConfig; weights: Weights } {
  const sources = priorSources(dir);
  const prior = parsePriorData(saved, sources);
  priorFromData(prior, sources).pixelCnn.dispose(); // the weights match the config
  const config = prior.config;
  const [h, w] = codeGridSize(model);
  if (config.codebookSize !== model.codebookSize || config.height !== h || config.width !== w) {
    throw new UserError(
      `${join(dir, CONFIG_FILE)}: the prior models ${config.height}x${config.width} grids of ${config.codebookSize} codes, ` +
        `but the model makes ${h}x${w} grids of ${model.codebookSize} codes`,
    );
  }
  return { config, weights: new Map(Object.entries(prior.weights)) };
}

function prepareOutDir(dir: string): void {
  const stat = fs.statSync(dir, { throwIfNoEntry: false });
  if (stat !== undefined && !stat.isDirectory()) throw new UserError(`${dir}: exists and is not a directory`);
  try {
    makeDirectory(dir);
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
    quantizer: config.quantizer,
    ...(config.quantizer === 'rvq' ? { code_depth: String(config.depth) } : {}),
    pixel_scale: 'x = pixels / 255 - 0.5',
  };
}
