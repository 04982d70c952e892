/**
 * The two-level VQ-VAE of VQ-VAE-2 (Razavi, van den Oord, Vinyals 2019,
 * figure 2a), laid out as rosinality/vq-vae-2-pytorch's VQVAE:
 *
 *   enc_b: x → [b, hb, wb, h]        (the VQ-VAE encoder's trunk, 2^downsamples smaller)
 *   enc_t: enc_b → [b, ht, wt, Dt]   (one more stride-2 stage, 'same' padding, 1x1 to Dt)
 *   quantize_t → z_t                  (top codes, codebook Kt x Dt)
 *   dec_t: z_t → [b, hb, wb, Dt]     (one transposed stage back to the bottom grid)
 *   1x1 on concat(dec_t, enc_b) → [b, hb, wb, Db], quantize_b → z_b  (bottom codes, Kb x Db)
 *   decoder: concat(upsample(z_t), z_b) [b, hb, wb, Dt + Db] → images
 *
 * so the bottom level is quantized given what the top level already says, and
 * the decoder sees both. ht = ceil(hb / 2): 32x32 images give bottom 8x8 and
 * top 4x4; 28x28 give bottom 7x7 and top 4x4 (the odd 7 → 4 stage uses 'same'
 * padding and the way back 4 → 7 its transpose, model/layers.ts).
 *
 * The layers are those of the one-level model (encoder.ts, decoder.ts,
 * layers.ts); the config is the one-level ModelConfig (its codebookSize,
 * codeDim and quantizer settings are the bottom level's) plus the top level's
 * sizes and quantizer settings (TopLevelConfig; each setting not given is the
 * bottom level's, topLevelSettings). Each level's quantizer is any kind of
 * quantize/factory.ts, built there with the variable prefix `quantizer.top`
 * or `quantizer.bottom`; a level's codes are [b, h, w], or [b, h, w, depth]
 * for rvq (one index per residual codebook, as the one-level model's).
 * Images enter and leave in the same scale as model/vqvae.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import { makeQuantizer } from '../quantize/factory.js';
import type { CodeIndices, Quantizer, QuantizerOutput } from '../quantize/types.js';
import { mulberry32, nextSeed } from '../random.js';
import {
  codeGridSize,
  QUANTIZER_OPTION_DEFAULTS,
  QUANTIZER_OPTIONS,
  type ModelConfig,
  type QuantizerOption,
  validateModelConfig,
} from './config.js';
import { Decoder, decoderShape } from './decoder.js';
import { Encoder } from './encoder.js';
import { Conv2d, ConvTranspose2d, type VariableMap } from './layers.js';
import { checkImageShape, decoderOutput, loadState } from './vqvae.js';

/** The ModelConfig fields that make a level's quantizer (besides its sizes): its kind and every option of it. */
export const LEVEL_QUANTIZER_KEYS = [
  'quantizer', 'beta', 'decay', 'epsilon', 'codebookInit', 'kmeansWarmup', 'restartDead', 'lookupDim', 'cosine', 'gradient', 'levels', 'depth',
] as const satisfies readonly (keyof ModelConfig)[];
export type LevelQuantizerKey = (typeof LEVEL_QUANTIZER_KEYS)[number];

/** A level's quantizer settings, complete: its sizes, kind and options, as ModelConfig names them. */
export type LevelQuantizerConfig = Pick<ModelConfig, 'codebookSize' | 'codeDim' | LevelQuantizerKey>;

/** The top level's codebook sizes and, optionally, quantizer settings (absent: the bottom level's, topLevelSettings). */
export interface TopLevelConfig extends Partial<Pick<ModelConfig, LevelQuantizerKey>> {
  /** Kt (fsq: the product of its levels). */
  codebookSize: number;
  /** Dt. */
  codeDim: number;
}

/** The one-level config (bottom level, trunks, likelihood) and the top level's sizes and quantizer. */
export interface HierarchicalConfig {
  model: ModelConfig;
  top: TopLevelConfig;
}

/** A checked config: the top level's settings complete. */
export interface CompleteHierarchicalConfig extends HierarchicalConfig {
  top: LevelQuantizerConfig;
}


/**
 * The top level's complete settings: those `top` gives; for each other
 * quantizer option the bottom level's where the top kind implements it
 * (model/config.ts QUANTIZER_OPTIONS), else that option off; beta, decay and
 * epsilon the bottom's. So a config without top settings (every two-level
 * model directory written before they existed) has the bottom's quantizer on
 * both levels.
 */
export function topLevelSettings(bottom: ModelConfig, top: TopLevelConfig): LevelQuantizerConfig {
  const kind = top.quantizer ?? bottom.quantizer;
  const out: Record<string, unknown> = { codebookSize: top.codebookSize, codeDim: top.codeDim, quantizer: kind };
  for (const key of LEVEL_QUANTIZER_KEYS) {
    if (key === 'quantizer') continue;
    const given = top[key];
    if (given !== undefined) {
      out[key] = Array.isArray(given) ? [...given] : given;
    } else if (key in QUANTIZER_OPTION_DEFAULTS && !QUANTIZER_OPTIONS[kind].includes(key as QuantizerOption)) {
      const off = QUANTIZER_OPTION_DEFAULTS[key as QuantizerOption];
      out[key] = Array.isArray(off) ? [] : off;
    } else {
      const value = bottom[key];
      out[key] = Array.isArray(value) ? [...value] : value;
    }
  }
  return out as unknown as LevelQuantizerConfig;
}

/** Whether the top level's settings are those a config without any would get (so the file leaves them out). */
export function topIsDefault(bottom: ModelConfig, top: LevelQuantizerConfig): boolean {
  const implied = topLevelSettings(bottom, { codebookSize: top.codebookSize, codeDim: top.codeDim });
  return LEVEL_QUANTIZER_KEYS.every((key) => JSON.stringify(implied[key]) === JSON.stringify(top[key]));
}

/**
 * Each level's quantizer as a one-level ModelConfig (the bottom: the model's
 * own; the top: it with the top level's sizes and settings), checked as a
 * one-level config is (model/config.ts).
 */
export function levelModelConfigs(config: HierarchicalConfig, source = 'two-level model config'): { top: ModelConfig; bottom: ModelConfig } {
  const bottom = validateModelConfig(config.model, source);
  const top = validateModelConfig({ ...bottom, ...topLevelSettings(bottom, config.top) }, `${source} (top level)`);
  return { top, bottom };
}

/** The top level's fields of a one-level config of it (levelModelConfigs). */
function levelFields(c: ModelConfig): LevelQuantizerConfig {
  const out: Record<string, unknown> = { codebookSize: c.codebookSize, codeDim: c.codeDim };
  for (const key of LEVEL_QUANTIZER_KEYS) out[key] = c[key];
  return out as unknown as LevelQuantizerConfig;
}

/** One level's quantizer output and the vectors it quantized. */
export interface LevelOutput extends QuantizerOutput {
  /** [b, h, w, D]: the vectors before quantization. */
  encoded: tf.Tensor4D;
}

export interface HierarchicalForward {
  top: LevelOutput;
  bottom: LevelOutput;
  /** [b, H, W, C] in input scale (the categorical's mean with that likelihood). */
  reconstruction: tf.Tensor4D;
  /** [b, H, W, C, 256], with the categorical likelihood only. */
  logits?: tf.Tensor5D;
  /** Scalar: the two quantizers' losses summed. */
  vqLoss: tf.Scalar;
}

/** Code indices of both levels. */
export interface LevelIndices {
  /** [b, ht, wt] int32 ([b, ht, wt, depth] for an rvq top level). */
  top: CodeIndices;
  /** [b, hb, wb] int32 ([b, hb, wb, depth] for an rvq bottom level). */
  bottom: CodeIndices;
}

/** The [height, width] of each level's code grid. */
export function levelGrids(config: ModelConfig): { top: [number, number]; bottom: [number, number] } {
  const bottom = codeGridSize(config);
  return { bottom, top: [Math.ceil(bottom[0] / 2), Math.ceil(bottom[1] / 2)] };
}

export class HierarchicalVqVae {
  readonly config: CompleteHierarchicalConfig;
  /** Each level's quantizer as a one-level config (levelModelConfigs). */
  readonly levelConfigs: { top: ModelConfig; bottom: ModelConfig };
  readonly topQuantizer: Quantizer;
  readonly bottomQuantizer: Quantizer;
  private readonly encoderBottom: Encoder;
  private readonly encoderTop: Encoder;
  private readonly decoderTop: Decoder;
  private readonly preQuantizeBottom: Conv2d;
  private readonly upsampleTop: ConvTranspose2d;
  private readonly decoder: Decoder;
  private readonly variables: VariableMap = new Map();

  /** A freshly initialised model; the same seed gives the same weights on every backend. */
  constructor(config: HierarchicalConfig, seed = 0) {
    this.levelConfigs = levelModelConfigs(config);
    const model = this.levelConfigs.bottom;
    const top = levelFields(this.levelConfigs.top);
    this.config = { model, top };
    const { hidden, inputChannels, codeDim: Db } = model;
    const Dt = top.codeDim;
    const grids = levelGrids(model);
    const vars = this.variables;
    const rng = mulberry32(seed);
    this.encoderBottom = new Encoder(model, vars, rng, {
      name: 'encoder.bottom', inChannels: inputChannels, downsamples: model.downsamples, padding: 1,
    });
    this.encoderTop = new Encoder(model, vars, rng, { name: 'encoder.top', inChannels: hidden, downsamples: 1, padding: 'same', outChannels: Dt });
    this.topQuantizer = makeQuantizer(this.levelConfigs.top, nextSeed(rng), 'quantizer.top');
    this.decoderTop = new Decoder(model, vars, rng, { name: 'decoder.top', inChannels: Dt, upsamples: 1, outChannels: Dt, outSize: grids.bottom });
    this.preQuantizeBottom = new Conv2d(
      { inChannels: Dt + hidden, outChannels: Db, kernel: 1, stride: 1, padding: 0 },
      vars,
      'encoder.bottom.pre_quantize',
      rng,
    );
    this.bottomQuantizer = makeQuantizer(model, nextSeed(rng), 'quantizer.bottom');
    this.upsampleTop = new ConvTranspose2d({ inChannels: Dt, outChannels: Dt, kernel: 4, stride: 2, padding: 1 }, vars, 'decoder.upsample_top', rng);
    this.decoder = new Decoder(model, vars, rng, {
      ...decoderShape(model),
      inChannels: Dt + Db,
      outSize: [model.imageHeight, model.imageWidth],
    });
  }

  /** [height, width] of the top and bottom code grids. */
  get grids(): { top: [number, number]; bottom: [number, number] } {
    return levelGrids(this.config.model);
  }

  /** The shape of one image's codes of each level: [h, w], or [h, w, depth] for an rvq level (as VqVae.codeShape). */
  get codeShapes(): { top: number[]; bottom: number[] } {
    const grids = this.grids;
    const shape = (grid: [number, number], q: Quantizer) => ((q.depth ?? 1) === 1 ? [...grid] : [...grid, q.depth!]);
    return { top: shape(grids.top, this.topQuantizer), bottom: shape(grids.bottom, this.bottomQuantizer) };
  }

  /** Variables learned by gradient descent, by name. */
  trainable(): Record<string, tf.Variable> {
    return { ...Object.fromEntries(this.variables), ...this.topQuantizer.trainable(), ...this.bottomQuantizer.trainable() };
  }

  /** Every variable a checkpoint holds, by name. */
  state(): Record<string, tf.Variable> {
    return { ...Object.fromEntries(this.variables), ...this.topQuantizer.state(), ...this.bottomQuantizer.state() };
  }

  /** x [b, H, W, C] → the bottom trunk's features [b, hb, wb, h]. */
  encodeFeatures(x: tf.Tensor4D): tf.Tensor4D {
    this.checkImages(x);
    return tf.tidy(() => this.encoderBottom.apply(x));
  }

  /** The bottom trunk's features → the top level's vectors z_e,t [b, ht, wt, Dt]. */
  encodeTop(features: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => this.encoderTop.apply(features));
  }

  /**
   * What the bottom quantizer sees, z_e,b [b, hb, wb, Db]: the bottom
   * features joined with the decoding of the (quantized) top level.
   */
  encodeBottom(features: tf.Tensor4D, quantizedTop: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => this.preQuantizeBottom.apply(tf.concat([this.decoderTop.apply(quantizedTop), features], 3)));
  }

  /** Both levels' quantized codes → reconstruction [b, H, W, C] in input scale. */
  decode(quantizedTop: tf.Tensor4D, quantizedBottom: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => this.output(this.decodeRaw(quantizedTop, quantizedBottom)).reconstruction);
  }

  /** The whole model on x [b, H, W, C]; differentiable, changes no state. */
  forward(x: tf.Tensor4D): HierarchicalForward {
    this.checkImages(x);
    return tf.tidy(() => {
      const features = this.encoderBottom.apply(x);
      const topEncoded = this.encoderTop.apply(features);
      const top = { ...this.topQuantizer.apply(topEncoded), encoded: topEncoded };
      const bottomEncoded = this.encodeBottom(features, top.quantized);
      const bottom = { ...this.bottomQuantizer.apply(bottomEncoded), encoded: bottomEncoded };
      const vqLoss = tf.add(top.loss, bottom.loss) as tf.Scalar;
      return { top, bottom, vqLoss, ...this.output(this.decodeRaw(top.quantized, bottom.quantized)) };
    });
  }

  /** Code indices of both levels of images x [b, H, W, C] in input scale. */
  encodeIndices(x: tf.Tensor4D): LevelIndices {
    this.checkImages(x);
    return tf.tidy(() => {
      const features = this.encoderBottom.apply(x);
      const top = this.topQuantizer.apply(this.encoderTop.apply(features));
      const bottom = this.bottomQuantizer.apply(this.encodeBottom(features, top.quantized));
      return { top: top.indices, bottom: bottom.indices };
    });
  }

  /** Images in input scale [b, H, W, C] from both levels' code indices. */
  decodeIndices(indices: LevelIndices): tf.Tensor4D {
    const shapes = this.codeShapes;
    for (const level of ['top', 'bottom'] as const) {
      const t = indices[level];
      const shape = shapes[level];
      if (t.rank !== shape.length + 1 || shape.some((n, i) => t.shape[i + 1] !== n) || t.shape[0] !== indices.top.shape[0]) {
        throw new Error(`${level} codes must be [${indices.top.shape[0]}, ${shape.join(', ')}] for this model, found [${t.shape.join(', ')}]`);
      }
    }
    return tf.tidy(() => this.decode(this.topQuantizer.lookup(indices.top), this.bottomQuantizer.lookup(indices.bottom)));
  }

  /** Replaces every variable's value from `tensors`, as VqVae.load. */
  load(tensors: Record<string, { shape: number[]; data: Float32Array }>, source = 'checkpoint'): void {
    loadState(this.state(), tensors, source);
  }

  dispose(): void {
    for (const v of this.variables.values()) v.dispose();
    this.topQuantizer.dispose();
    this.bottomQuantizer.dispose();
  }

  private decodeRaw(quantizedTop: tf.Tensor4D, quantizedBottom: tf.Tensor4D): tf.Tensor4D {
    const up = this.upsampleTop.apply(quantizedTop, 'linear', false, this.grids.bottom);
    return this.decoder.apply(tf.concat([up, quantizedBottom], 3));
  }

  private output(raw: tf.Tensor4D): { reconstruction: tf.Tensor4D; logits?: tf.Tensor5D } {
    return decoderOutput(raw, this.config.model);
  }

  private checkImages(x: tf.Tensor4D): void {
    checkImageShape(x, this.config.model);
  }
}
