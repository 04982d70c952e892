/**
 * `vqvae import --from-pytorch FILE.safetensors`: turns a PyTorch state dict
 * of this architecture (tools/pytorch/vqvae_torch.py's names and layouts; the
 * mapping is the table in src/model/pytorch.ts) into a model directory that
 * eval, encode, decode and reconstruct read like one that `vqvae train`
 * wrote (it holds no training state, so eval needs --data). With --levels 2,
 * or a --config of a two-level model, the state dict is the two-level
 * model's (tools/pytorch/vqvae2_torch.py: enc_b, enc_t, quantize_t, ...) and
 * the directory a two-level one (model/hierarchicalFile.ts), as
 * `vqvae train --levels 2` writes it.
 *
 * The architecture comes from --config FILE.json (a model directory's
 * config.json, or an object of model settings such as {"hidden": 64,
 * "quantizer": "ema"}, the rest at their defaults) and/or the model flags,
 * which win over the file; --quantizer, --levels and --depth say which
 * quantizer tensors it holds (--levels 2: two code levels; a list: FSQ's),
 * --top-codebook-size and --top-code-dim the top level's sizes (train's other quantizer flags are refused:
 * training settings, or ones the PyTorch reference cannot hold). A state dict with missing, unexpected or wrongly
 * shaped tensors is refused with one error naming each of them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BackendChoice } from '../backend/select.js';
import { UserError } from '../errors.js';
import { checkpointExists, CHECKPOINT_ID_KEY } from '../io/checkpoint.js';
import { saveModel, parseModelFile, MODEL_FORMAT } from '../model/checkpoint.js';
import { DEFAULT_MODEL_CONFIG, makeModelConfig, type ModelConfig } from '../model/config.js';
import type * as tf from '@tensorflow/tfjs-core';
import type { HierarchicalConfig, TopLevelConfig } from '../model/hierarchical.js';
import { HIERARCHICAL_FORMAT, HIERARCHICAL_SAVED_FORMAT, saveHierarchicalModel, validateHierarchicalConfig } from '../model/hierarchicalFile.js';
import { loadPytorchHierarchicalModel, loadPytorchModel } from '../model/pytorch.js';
import { parseSavedConfig } from '../io/savedModel.js';
import { defineCommand, type CommandContext } from './command.js';
import { backendFlag, info, useBackend } from './common.js';
import { jsonFlag, UsageError } from './flags.js';
import { decayFlag, MODEL_SIZE_FLAGS, modelSizeOverrides } from './modelFlags.js';
import { codeLevels, IMPORT_QUANTIZER_FLAGS, importQuantizerSettings } from './quantizerFlags.js';

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
    'With --levels 2 (or a --config of a two-level model: "format": "vqvae2", or "levels": 2) it reads the two-level model (VQ-VAE-2) ' +
    'as tools/pytorch/vqvae2_torch.py names it after rosinality/vq-vae-2-pytorch (enc_b, enc_t, quantize_conv_t, quantize_t, dec_t, ' +
    'quantize_conv_b, quantize_b, upsample_t, dec; both levels vq or ema) and writes a two-level model directory, as vqvae train --levels 2 does.',
  usage: '--from-pytorch FILE.safetensors --out DIR [--config FILE.json] [--levels 2] [model flags]',
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
    { name: 'ema', type: 'boolean', help: 'EMA quantizer: the file must hold vq.ema_cluster_size and vq.ema_w (two levels: quantize_t.*, quantize_b.*)' },
    ...IMPORT_QUANTIZER_FLAGS,
    { name: 'top-codebook-size', type: 'int', min: 1, metavar: 'K', help: 'with --levels 2: the top level\'s number of codes (default: --config\'s, or --codebook-size)' },
    { name: 'top-code-dim', type: 'int', min: 1, metavar: 'D', help: 'with --levels 2: the top level\'s code dimension (default: --config\'s, or --code-dim)' },
    decayFlag,
    backendFlag,
    jsonFlag,
  ],
  examples: [
    'vqvae import --from-pytorch model.safetensors --out runs/torch',
    'vqvae import --from-pytorch ema.safetensors --config config.json --out runs/torch-ema',
    'vqvae import --from-pytorch small.safetensors --hidden 64 --codebook-size 128 --out runs/small',
    'vqvae import --from-pytorch vqvae2.safetensors --levels 2 --ema --top-codebook-size 64 --channels 3 --image-size 32x32 --out runs/torch2',
  ],
  async run(flags, ctx) {
    const file = flags.fromPytorch;
    const out = flags.out;
    if (checkpointExists(out) || existsSync(join(out, 'weights.safetensors'))) {
      throw new UserError(`${out} already holds a model; choose another --out`);
    }
    if (flags.channels === 2) throw new UsageError('--channels must be 1 or 3, got 2');
    const size = parseImageSize(flags.imageSize);
    const { levels: givenLevels, quantizerFlags } = codeLevels(flags);
    const given = flags.config !== undefined ? readConfigFile(flags.config) : { settings: {} };
    const fromFile = given.settings;
    const levels = givenLevels ?? given.levels ?? 1;
    if (levels === 1 && (flags.topCodebookSize !== undefined || flags.topCodeDim !== undefined)) {
      throw new UsageError(`--${flags.topCodebookSize !== undefined ? 'top-codebook-size' : 'top-code-dim'} needs --levels 2`);
    }
    const overrides: Partial<ModelConfig> = {
      ...fromFile,
      ...defined({
        inputChannels: flags.channels,
        imageHeight: size?.[0],
        imageWidth: size?.[1],
        ...modelSizeOverrides(flags),
      }),
      ...importQuantizerSettings(quantizerFlags, fromFile),
    };
    let config: ModelConfig;
    try {
      config = makeModelConfig(overrides);
    } catch (error) {
      if (error instanceof UserError && flags.config !== undefined) throw new UserError(`${flags.config}: ${error.message}`);
      throw error;
    }
    if (levels === 2) {
      const kind = quantizerFlags.ema ? 'ema' : quantizerFlags.quantizer;
      if (kind !== undefined && kind !== 'vq' && kind !== 'ema') throw new UsageError(`--quantizer ${kind} does not apply to --levels 2 (each level is a vq or ema codebook)`);
      // tools/pytorch/vqvae2_torch.py: both levels one kind, vq or ema, unprojected, unnormalised.
      const topSettings = { ...config, ...given.top };
      const held = (['quantizer', 'lookupDim', 'cosine'] as const).find((k) => topSettings[k] !== config[k]) ??
        (config.lookupDim > 0 ? 'lookupDim' : config.cosine ? 'cosine' : undefined);
      if (held) {
        throw new UserError(`${flags.config}: a two-level model with ${held === 'quantizer' ? `${article(topSettings.quantizer)} ${topSettings.quantizer} top level over ${article(config.quantizer)} ${config.quantizer} bottom` : `"${held}"`} ` +
          'cannot be imported: the PyTorch reference (tools/pytorch/vqvae2_torch.py) has both levels of one kind, vq or ema, without lookup projections or cosine codes');
      }
      const top = {
        topCodebookSize: flags.topCodebookSize ?? given.top?.codebookSize ?? config.codebookSize,
        topCodeDim: flags.topCodeDim ?? given.top?.codeDim ?? config.codeDim,
      };
      // The checks of a two-level model directory's config (each level a plain vq or ema codebook).
      const checked = validateHierarchicalConfig({ ...config, levels: 2, ...top }, flags.config ?? 'the model flags');
      await useBackend(flags.backend as BackendChoice, ctx);
      const model = loadPytorchHierarchicalModel(file, checked);
      saveHierarchicalModel(out, model);
      report(ctx, file, out, model.state(), `two-level ${config.quantizer} model, hidden ${config.hidden}, top K ${checked.top.codebookSize}, D ${checked.top.codeDim}, ` +
        `bottom K ${config.codebookSize}, D ${config.codeDim}, ${config.imageHeight}x${config.imageWidth}x${config.inputChannels} images`, { levels: 2, quantizer: config.quantizer });
      model.dispose();
      return;
    }
    const unheld = config.lookupDim > 0 ? 'lookupDim' : config.cosine ? 'cosine' : undefined;
    if (unheld) {
      throw new UserError(`${flags.config}: "${unheld}" ${config[unheld]} cannot be imported: the PyTorch reference model (tools/pytorch/vqvae_torch.py) has no lookup projections and searches its codes unnormalised`);
    }
    await useBackend(flags.backend as BackendChoice, ctx);
    const model = loadPytorchModel(file, config);
    saveModel(out, model);
    report(ctx, file, out, model.state(), `${config.quantizer} model, hidden ${config.hidden}, ` +
      `K ${config.codebookSize}, D ${config.codeDim}, ${config.imageHeight}x${config.imageWidth}x${config.inputChannels} images`, { quantizer: config.quantizer });
    model.dispose();
  },
});

/** The line and the JSON of an import: the tensors and values written. */
function report(ctx: CommandContext, file: string, out: string, state: Record<string, tf.Variable>, model: string, json: Record<string, unknown>): void {
  const parameters = Object.values(state).reduce((n, v) => n + v.size, 0);
  info(ctx, `imported ${file}: ${Object.keys(state).length} tensors, ${parameters} values; ${model}; saved ${out}`);
  ctx.printJson({ out, ...json, tensors: Object.keys(state).length, parameters });
}

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

/** What a --config file says: the model settings and, for a two-level model, its levels and top sizes. */
interface ConfigFile {
  settings: Partial<ModelConfig>;
  levels?: 1 | 2;
  top?: Partial<TopLevelConfig>;
}

/**
 * The model settings of a config.json: a model directory's (one or two
 * levels), or a bare object of settings, where "levels" 2 (a number; a list is
 * FSQ's) and "topCodebookSize", "topCodeDim" say a two-level model.
 */
function readConfigFile(path: string): ConfigFile {
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
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UserError(`--config: ${path}: expected a JSON object of model settings`);
  }
  // A model directory's config.json carries the id of its save (io/checkpoint.ts), no model setting.
  const { [CHECKPOINT_ID_KEY]: _id, ...record } = value as Record<string, unknown>;
  value = record;
  if (record.format === HIERARCHICAL_FORMAT) {
    const { model, top } = parseSavedConfig<HierarchicalConfig, unknown>(HIERARCHICAL_SAVED_FORMAT, value, path).config;
    return { settings: model, levels: 2, top };
  }
  if (record.format === MODEL_FORMAT) return { settings: parseModelFile(value, path).model, levels: 1 };
  const { levels, topCodebookSize, topCodeDim, ...settings } = record;
  if (typeof levels === 'number') {
    if (levels !== 1 && levels !== 2) throw new UserError(`--config: ${path}: "levels" must be 1 or 2 (the number of code levels), or FSQ's list, found ${levels}`);
    const top = defined({ codebookSize: topCodebookSize, codeDim: topCodeDim }) as Partial<TopLevelConfig>;
    return { settings: settings as Partial<ModelConfig>, levels, top };
  }
  if (topCodebookSize !== undefined || topCodeDim !== undefined) {
    throw new UserError(`--config: ${path}: "${topCodebookSize !== undefined ? 'topCodebookSize' : 'topCodeDim'}" needs "levels": 2`);
  }
  return { settings: value as Partial<ModelConfig> };
}

/** "a" or "an" before a quantizer's name (an ema, a vq). */
function article(word: string): string {
  return /^[aeiou]/.test(word) ? 'an' : 'a';
}
