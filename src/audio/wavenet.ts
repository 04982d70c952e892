/**
 * The WaveNet decoder of the audio VQ-VAE (van den Oord et al. 2016;
 * conditioning as in VQ-VAE section 4.3): a stack of gated, dilated, causal
 * convolutions that predicts each mu-law level of the audio from the levels
 * before it, the codes upsampled to the sample rate, and a speaker
 * embedding.
 *
 * For input levels x [b, T] the network computes, with C residual and S skip
 * channels and a layer l of dilation d_l:
 *
 *   h_0[t]   = W_in v[t-1] + b_in            v = the mu-law value of x (0 before t = 0)
 *   a_l[t]   = W_l [h_l[t - d_l]; h_l[t]] + c_l[t]          [2C], zeros before t = 0
 *   c_l[t]   = U_l q[t / hop] + G_l e_s + b_l                codes and speaker, every layer
 *   z_l[t]   = tanh(a_l[:C]) * sigmoid(a_l[C:])              the gated unit
 *   [r; s_l] = R_l z_l + b'_l                                [C + S]
 *   h_{l+1}  = h_l + r,   skip = sum_l s_l
 *   logits   = W_2 relu(W_1 relu(skip) + b_1) + b_2           [levels]
 *
 * so logits[t] depends on x[t - receptiveField .. t - 1] only (a test checks
 * it). Each code q is repeated over the `hop` samples it covers (nearest
 * upsampling). `conditioning()` computes c_l per code frame, which is all
 * the fast generator (generate.ts) needs besides `packWeights()`.
 *
 * Shapes: x [b, T] int32 levels, codes [b, T / hop, D], speakers [b] int32;
 * logits [b, T, levels].
 */
import '../engine.js';
import * as tf from '@tensorflow/tfjs-core';
import { addVariable, uniform, type VariableMap } from '../model/layers.js';
import type { Rng } from '../random.js';
import { type AudioConfig, hopLength } from './config.js';
import { muLawTable } from './mulaw.js';

interface Layer {
  readonly dilation: number;
  /** [2C, 2C]: rows 0..C-1 multiply h[t - d], rows C..2C-1 multiply h[t]. */
  readonly conv: tf.Variable;
  /** [2C]. */
  readonly convBias: tf.Variable;
  /** [D, 2C]. */
  readonly codeProjection: tf.Variable;
  /** [E, 2C]. */
  readonly speakerProjection: tf.Variable;
  /** [C, C + S]: residual then skip. */
  readonly out: tf.Variable;
  /** [C + S]. */
  readonly outBias: tf.Variable;
}

export class WaveNet {
  readonly layers: Layer[] = [];
  /** [1, C], [C]. */
  readonly inWeight: tf.Variable;
  readonly inBias: tf.Variable;
  /** [speakers, E]. */
  readonly speakerEmbedding: tf.Variable;
  readonly head1: tf.Variable;
  readonly head1Bias: tf.Variable;
  readonly head2: tf.Variable;
  readonly head2Bias: tf.Variable;
  private readonly levelValues: tf.Tensor1D;

  constructor(readonly config: AudioConfig, vars: VariableMap, rng: Rng) {
    const { residualChannels: c, skipChannels: s, codeDim, speakerDim, speakers, levels } = config;
    const bound = (fanIn: number) => 1 / Math.sqrt(fanIn);
    this.inWeight = addVariable(vars, 'decoder.input.weight', uniform([1, c], 1, rng));
    this.inBias = addVariable(vars, 'decoder.input.bias', uniform([c], 1, rng));
    this.speakerEmbedding = addVariable(vars, 'decoder.speaker_embedding', tf.randomNormal([speakers, speakerDim], 0, 1, 'float32', Math.floor(rng() * 2 ** 31)));
    config.dilations.forEach((dilation, i) => {
      const name = `decoder.layers.${i}`;
      this.layers.push({
        dilation,
        conv: addVariable(vars, `${name}.conv.weight`, uniform([2 * c, 2 * c], bound(2 * c), rng)),
        convBias: addVariable(vars, `${name}.conv.bias`, uniform([2 * c], bound(2 * c), rng)),
        codeProjection: addVariable(vars, `${name}.code.weight`, uniform([codeDim, 2 * c], bound(codeDim), rng)),
        speakerProjection: addVariable(vars, `${name}.speaker.weight`, uniform([speakerDim, 2 * c], bound(speakerDim), rng)),
        out: addVariable(vars, `${name}.out.weight`, uniform([c, c + s], bound(c), rng)),
        outBias: addVariable(vars, `${name}.out.bias`, uniform([c + s], bound(c), rng)),
      });
    });
    this.head1 = addVariable(vars, 'decoder.head.0.weight', uniform([s, s], bound(s), rng));
    this.head1Bias = addVariable(vars, 'decoder.head.0.bias', uniform([s], bound(s), rng));
    this.head2 = addVariable(vars, 'decoder.head.1.weight', uniform([s, levels], bound(s), rng));
    this.head2Bias = addVariable(vars, 'decoder.head.1.bias', uniform([levels], bound(s), rng));
    this.levelValues = tf.keep(tf.tensor1d(muLawTable(levels)));
  }

  /**
   * c_l per code frame: [b, frames, L, 2C] from codes [b, frames, D] and
   * speakers [b]; it includes the dilated convolution's bias.
   */
  conditioning(codes: tf.Tensor3D, speakers: tf.Tensor1D): tf.Tensor4D {
    return tf.tidy(() => tf.stack(this.layerConditioning(codes, speakers), 2) as tf.Tensor4D);
  }

  /** c_l for each layer l: [b, frames, 2C]. */
  layerConditioning(codes: tf.Tensor3D, speakers: tf.Tensor1D): tf.Tensor3D[] {
    return tf.tidy(() => {
      const [b, frames, d] = codes.shape;
      const flat = tf.reshape(codes, [b * frames, d]);
      const speaker = tf.gather(this.speakerEmbedding, tf.cast(speakers, 'int32')); // [b, E]
      return this.layers.map((layer) => {
        const fromCodes = tf.reshape(tf.matMul(flat, layer.codeProjection as tf.Tensor2D), [b, frames, -1]);
        const fromSpeaker = tf.expandDims(tf.add(tf.matMul(speaker, layer.speakerProjection as tf.Tensor2D), layer.convBias), 1);
        return tf.add(fromCodes, fromSpeaker) as tf.Tensor3D;
      });
    });
  }

  /** Logits [b, T, levels] of every level of x [b, T] (teacher forcing), T = frames * hop. */
  apply(levels: tf.Tensor2D, codes: tf.Tensor3D, speakers: tf.Tensor1D): tf.Tensor3D {
    return tf.tidy(() => {
      const [b, t] = levels.shape;
      const hop = hopLength(this.config);
      const frames = codes.shape[1];
      if (frames * hop !== t) throw new Error(`wavenet: ${t} samples need ${t / hop} code frames, found ${frames}`);
      const c = this.config.residualChannels;
      const s = this.config.skipChannels;
      const cond = this.layerConditioning(codes, speakers); // L x [b, F, 2C]
      const values = tf.gather(this.levelValues, tf.cast(levels, 'int32')); // [b, T]
      const shifted = tf.slice(tf.pad(values, [[0, 0], [1, 0]]), [0, 0], [b, t]); // v[t-1]
      let h = tf.reshape(tf.add(tf.matMul(tf.reshape(shifted, [b * t, 1]), this.inWeight as tf.Tensor2D), this.inBias), [b, t, c]) as tf.Tensor3D;
      let skip: tf.Tensor | undefined;
      this.layers.forEach((layer, l) => {
        // W [h[t-d]; h[t]] as two products (a concat of the inputs costs more than both).
        const past = tf.reshape(delay(h, layer.dilation), [b * t, c]);
        const now = tf.reshape(h, [b * t, c]);
        const w = layer.conv as tf.Tensor2D;
        const product = tf.add(tf.matMul(past, tf.slice(w, [0, 0], [c, 2 * c])), tf.matMul(now, tf.slice(w, [c, 0], [c, 2 * c])));
        // Broadcasting over the hop samples of each frame upsamples the codes (no tile).
        const pre = tf.reshape(product, [b, frames, hop, 2 * c]);
        const a = tf.reshape(tf.add(pre, tf.expandDims(cond[l]!, 2)), [b * t, 2 * c]);
        const z = tf.mul(tf.tanh(tf.slice(a, [0, 0], [b * t, c])), tf.sigmoid(tf.slice(a, [0, c], [b * t, c])));
        const rs = tf.add(tf.matMul(z, layer.out as tf.Tensor2D), layer.outBias);
        h = tf.add(h, tf.reshape(tf.slice(rs, [0, 0], [b * t, c]), [b, t, c])) as tf.Tensor3D;
        const sl = tf.slice(rs, [0, c], [b * t, s]);
        skip = skip === undefined ? sl : tf.add(skip, sl);
      });
      const hidden = tf.relu(tf.add(tf.matMul(tf.relu(skip!) as tf.Tensor2D, this.head1 as tf.Tensor2D), this.head1Bias));
      const logits = tf.add(tf.matMul(hidden as tf.Tensor2D, this.head2 as tf.Tensor2D), this.head2Bias);
      return tf.reshape(logits, [b, t, this.config.levels]) as tf.Tensor3D;
    });
  }

  /**
   * Every weight the generator needs, in one array (the layout generate.ts
   * and native/src/wavenet.cc read): W_in [C], b_in [C]; per layer W_l
   * [2C, 2C], R_l [C, C + S], b'_l [C + S]; W_1 [S, S], b_1 [S], W_2
   * [S, levels], b_2 [levels]. Matrices are row-major [in, out].
   */
  packWeights(): Float32Array {
    const parts: tf.Tensor[] = [this.inWeight, this.inBias];
    for (const layer of this.layers) parts.push(layer.conv, layer.out, layer.outBias);
    parts.push(this.head1, this.head1Bias, this.head2, this.head2Bias);
    const arrays = parts.map((p) => p.dataSync() as Float32Array);
    const out = new Float32Array(arrays.reduce((n, a) => n + a.length, 0));
    let at = 0;
    for (const a of arrays) {
      out.set(a, at);
      at += a.length;
    }
    return out;
  }

  dispose(): void {
    this.levelValues.dispose();
  }
}

/** x [b, T, C] delayed by d steps along T, zeros shifted in. */
export function delay(x: tf.Tensor3D, d: number): tf.Tensor3D {
  const [b, t, c] = x.shape;
  if (d >= t) return tf.zerosLike(x);
  return tf.slice(tf.pad(x, [[0, 0], [d, 0], [0, 0]]), [0, 0, 0], [b, t, c]);
}
