/**
 * `vqvae import --from-pytorch FILE.safetensors`: turns a PyTorch state dict
 * of this architecture (tools/pytorch/vqvae_torch.py's names and layouts; the
 * mapping is the table in src/model/pytorch.ts) into a model directory that
 * eval, encode, decode and reconstruct read like one that `vqvae train`
 * wrote (it holds no training state, so eval needs --data).
 *
 * The architecture comes from --config FILE.json (a model directory's
 * config.json, or an object of model settings such as {"hidden": 64,
 * "quantizer": "ema"}, the rest at their defaults) and/or the model flags,
 * which win over the file; --quantizer, --levels and --depth say which
 * quantizer tensors it holds (train's other quantizer flags are refused:
 * training settings, or ones the PyTorch reference cannot hold). A state dict with missing, unexpected or wrongly
 * shaped tensors is refused with one error naming each of them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BackendChoice } from '../backend/select.js';
import { UserError } from '../errors.js';
import { checkpointExists } from '../io/checkpoint.js';
import { saveModel, parseModelFile, MODEL_FORMAT } from '../model/checkpoint.js';
import { DEFAULT_MODEL_CONFIG, makeModelConfig, type ModelConfig } from '../model/config.js';
import { HIERARCHICAL_FORMAT } from '../model/hierarchicalFile.js';
import { loadPytorchModel } from '../model/pytorch.js';
import { defineCommand } from './command.js';
import { backendFlag, info, useBackend } from './common.js';
import { jsonFlag, UsageError } from './flags.js';
import { decayFlag, MODEL_SIZE_FLAGS, modelSizeOverrides } from './modelFlags.js';
import { IMPORT_QUANTIZER_FLAGS, importQuantizerSettings } from './quantizerFlags.js';

const d = DEFAULT_MODEL_CONFIG;

export const importCommand = defineCommand({
  name: 'import',
  summary: 'make a model directory from a PyTorch state dict',
  description:
    'Reads a PyTorch state dict (safetensors) of this VQ-VAE architecture, as tools/pytorch/vqvae_torch.py ' +
    'names it (encoder.conv1.weight [out, in, kh, kw], decoder.conv_trans1.weight [in, out, kh, kw], ' +
    'vq.embedding.weight, ...), moves every weight to this project\'s layout (NHWC, HWIO) and writes ' +
    'DIR/config.json and DIR/weights.safetensors. The architecture comes from --config and the model flags; ' +
    'every tensor the file lacks, has too many or has in the wrong shape is named in one error. ' +
    'One-level models only: a --config of a two-level model (vqvae train --levels 2) is refused, as tools/pytorch has no VQ-VAE-2 layout.',
  usage: '--from-pytorch FILE.safetensors --out DIR [--config FILE.json] [model flags]',
  flags: [
    { name: 'from-pytorch', type: 'string', required: true, metavar: 'FILE', help: 'PyTorch state dict saved as safetensors' },
    { name: 'out', type: 'string', required: true, metavar: 'DIR', help: 'model directory to write' },
    {
      name: 'config',
      type: 'string',
      metavar: 'FILE.json',
      help: 'model settings: a model directory\'s config.json, or a JSON object of model settings (camelCase keys; the rest default)',
    },
    { name: 'channels', type: 'int', min: 1, max: 3, metavar: 'C', help: `image channels, 1 or 3 (default ${d.inputChannels})` },
    { name: 'image-size', type: 'string', metavar: 'HxW', help: `image height and width (default ${d.imageHeight}x${d.imageWidth})` },
    ...MODEL_SIZE_FLAGS,
    { name: 'ema', type: 'boolean', help: 'EMA quantizer: the file must hold vq.ema_cluster_size and vq.ema_w' },
    ...IMPORT_QUANTIZER_FLAGS,
    decayFlag,
    backendFlag,
    jsonFlag,
  ],
  examples: [
    'vqvae import --from-pytorch model.safetensors --out runs/torch',
    'vqvae import --from-pytorch ema.safetensors --config config.json --out runs/torch-ema',
    'vqvae import --from-pytorch small.safetensors --hidden 64 --codebook-size 128 --out runs/small',
  ],
  async run(flags, ctx) {
    const file = flags.fromPytorch;
    const out = flags.out;
    if (checkpointExists(out) || existsSync(join(out, 'weights.safetensors'))) {
      throw new UserError(`${out} already holds a model; choose another --out`);
    }
    if (flags.channels === 2) throw new UsageError('--channels must be 1 or 3, got 2');
    const size = parseImageSize(flags.imageSize);
    const fromFile = flags.config !== undefined ? readConfigFile(flags.config) : {};
    const overrides: Partial<ModelConfig> = {
      ...fromFile,
      ...defined({
        inputChannels: flags.channels,
        imageHeight: size?.[0],
        imageWidth: size?.[1],
        ...modelSizeOverrides(flags),
      }),
      ...importQuantizerSettings(flags, fromFile),
    };
    let config: ModelConfig;
    try {
      config = makeModelConfig(overrides);
    } catch (error) {
      if (error instanceof UserError && flags.config !== undefined) throw new UserError(`${flags.config}: ${error.message}`);
      throw error;
    }
    const unheld = config.lookupDim > 0 ? 'lookupDim' : config.cosine ? 'cosine' : undefined;
    if (unheld) {
      throw new UserError(`${flags.config}: "${unheld}" ${config[unheld]} cannot be imported: the PyTorch reference model (tools/pytorch/vqvae_torch.py) has no lookup projections and searches its codes unnormalised`);
    }
    await useBackend(flags.backend as BackendChoice, ctx);
    const model = loadPytorchModel(file, config);
    saveModel(out, model);
    const state = model.state();
    const parameters = Object.values(state).reduce((n, v) => n + v.size, 0);
    info(
      ctx,
      `imported ${file}: ${Object.keys(state).length} tensors, ${parameters} values; ${config.quantizer} model, hidden ${config.hidden}, ` +
        `K ${config.codebookSize}, D ${config.codeDim}, ${config.imageHeight}x${config.imageWidth}x${config.inputChannels} images; saved ${out}`,
    );
    ctx.printJson({ out, quantizer: config.quantizer, tensors: Object.keys(state).length, parameters });
    model.dispose();
  },
});

function defined<T extends object>(record: T): Partial<T> {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** `--image-size 32x32` → [32, 32]. */
function parseImageSize(value: string | undefined): [number, number] | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d+)x(\d+)$/.exec(value);
  if (!match || Number(match[1]) < 1 || Number(match[2]) < 1) {
    throw new UsageError(`--image-size must be HxW with positive integers, e.g. 28x28, got "${value}"`);
  }
  return [Number(match[1]), Number(match[2])];
}

/** The model settings of a config.json (a model directory's, or a bare object of settings). */
function readConfigFile(path: string): Partial<ModelConfig> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UserError(`--config: ${path}: ${code === 'ENOENT' ? 'file not found' : (error as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UserError(`--config: ${path}: not valid JSON (${(error as Error).message})`);
  }
  const record = typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  if (record.format === HIERARCHICAL_FORMAT || record.levels === 2 || 'topCodebookSize' in record || 'topCodeDim' in record) {
    throw new UserError(`--config: ${path}: a two-level model (vqvae train --levels 2) cannot be imported: tools/pytorch has no VQ-VAE-2 layout to map`);
  }
  if (record.format === MODEL_FORMAT) {
    return parseModelFile(value, path).model;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UserError(`--config: ${path}: expected a JSON object of model settings`);
  }
  return value as Partial<ModelConfig>;
}
