/**
 * PyTorch state dicts of this architecture (tools/pytorch/vqvae_torch.py)
 * turned into this project's variables, for `vqvae import --from-pytorch`.
 *
 * The mapping, with n = downsamples and i a residual block (0-based):
 *
 *   PyTorch name                  PyTorch layout      this project              layout
 *   encoder.conv{j}.weight/bias   [out, in, kh, kw]   encoder.down.{j-1}        [kh, kw, in, out]   j = 1..n
 *   encoder.conv{n+1}             [out, in, kh, kw]   encoder.conv              [kh, kw, in, out]
 *   encoder.res.{i}.conv1         [out, in, 3, 3]     encoder.res.{i}.conv3     [3, 3, in, out]
 *   encoder.res.{i}.conv2         [out, in, 1, 1]     encoder.res.{i}.conv1     [1, 1, in, out]
 *   pre_vq_conv                   [D, h, 1, 1]        encoder.pre_quantize      [1, 1, h, D]
 *   vq.embedding.weight           [K, D]              quantizer.codebook        [K, D]
 *   vq.ema_cluster_size (ema)     [K]                 quantizer.ema_count       [K]
 *   vq.ema_w (ema)                [K, D]              quantizer.ema_sum         [K, D]
 *   vq.frozen_codebook (simvq)    [K, D]              quantizer.frozen_codebook [K, D]    in place of vq.embedding
 *   vq.code_transform.weight      [D, D] (out, in)    quantizer.code_transform.weight  [D, D] (in, out), transposed
 *   vq.project_in.weight (fsq)    [d, D] (out, in)    quantizer.project_in.weight      [D, d], transposed; .bias [d]
 *   vq.project_out.weight (fsq)   [D, d] (out, in)    quantizer.project_out.weight     [d, D], transposed; .bias [D]
 *                                                     (fsq has no vq.embedding; the projections only when D != d)
 *   vq.layers.{i}.embedding.weight (rvq)  [K, D]      quantizer.layers.{i}.codebook    [K, D], i = 0..depth-1
 *   decoder.conv1                 [out, in, 3, 3]     decoder.conv              [3, 3, in, out]
 *   decoder.res.{i}.conv1/.conv2  as the encoder's    decoder.res.{i}.conv3/.conv1
 *   decoder.conv_trans{j}.weight  [in, out, kh, kw]   decoder.up.{j-1}.weight   [kh, kw, out, in]   j = 1..n
 *
 * The two-level model (model/hierarchical.ts; tools/pytorch/vqvae2_torch.py,
 * named as rosinality/vq-vae-2-pytorch's VQVAE) is made of the same parts,
 * each row above under another prefix; both levels are vq or ema:
 *
 *   enc_b.conv{j}, .conv{n+1}, .res.{i}.*   encoder.bottom.down.{j-1}, .conv, .res.{i}.*   (no pre_vq_conv)
 *   enc_t.conv1, .conv2, .res.{i}.*         encoder.top.down.0, .conv, .res.{i}.*          (one stage)
 *   quantize_conv_t   [Dt, h, 1, 1]         encoder.top.pre_quantize      [1, 1, h, Dt]
 *   quantize_t.*      as vq.*, Kt x Dt      quantizer.top.*
 *   dec_t.conv1, .res.{i}.*, .conv_trans1   decoder.top.conv, .res.{i}.*, .up.0            (one stage)
 *   quantize_conv_b   [Db, Dt + h, 1, 1]    encoder.bottom.pre_quantize   [1, 1, Dt + h, Db]
 *   quantize_b.*      as vq.*, Kb x Db      quantizer.bottom.*
 *   upsample_t        [Dt, Dt, 4, 4]        decoder.upsample_top          [4, 4, Dt, Dt]
 *   dec.conv1, .res.{i}.*, .conv_trans{j}   decoder.conv, .res.{i}.*, .up.{j-1}
 *
 * Biases keep their shape [out]; nn.Linear weights [out, in] are transposed to [in, out]. Both 4-d layouts move by the same
 * permutation (2, 3, 1, 0): OIHW → HWIO for convolutions and, for transposed
 * convolutions (PyTorch [in, out, kh, kw], tfjs [kh, kw, out, in]), IOHW → HWOI.
 */
import type { NamedTensor } from '../io/safetensors.js';
import { readSafetensorsFile } from '../io/safetensorsFile.js';
import type { ModelConfig } from './config.js';
import { HierarchicalVqVae, type HierarchicalConfig } from './hierarchical.js';
import { ModelMismatchError, VqVae } from './vqvae.js';

/** One PyTorch tensor and the variable of this project it becomes. */
export interface PytorchName {
  pytorch: string;
  ours: string;
  /** 4-d weights are permuted (2, 3, 1, 0); vectors and the codebook are copied. */
  permute: boolean;
  /** nn.Linear weights [out, in] are transposed to [in, out]. */
  transpose?: boolean;
}

/** The table above, spelled out for one config, in the order of the model's variables. */
export function pytorchNames(config: ModelConfig): PytorchName[] {
  return [
    ...encoderNames(config, 'encoder', 'encoder', config.downsamples),
    conv('pre_vq_conv', 'encoder.pre_quantize'),
    quantizerNames(config, 'vq', 'quantizer'),
    decoderNames(config, 'decoder', 'decoder', config.downsamples),
  ].flat();
}

/** The two-level rows of the table above, spelled out for one config. */
export function hierarchicalPytorchNames(config: HierarchicalConfig): PytorchName[] {
  const { model } = config;
  // The top level's quantizer: the config's settings with the top level's own (its K and D).
  const top = { ...model, ...config.top };
  return [
    ...encoderNames(model, 'enc_b', 'encoder.bottom', model.downsamples),
    ...encoderNames(model, 'enc_t', 'encoder.top', 1),
    conv('quantize_conv_t', 'encoder.top.pre_quantize'),
    quantizerNames(top, 'quantize_t', 'quantizer.top'),
    decoderNames(model, 'dec_t', 'decoder.top', 1),
    conv('quantize_conv_b', 'encoder.bottom.pre_quantize'),
    quantizerNames(model, 'quantize_b', 'quantizer.bottom'),
    conv('upsample_t', 'decoder.upsample_top'),
    decoderNames(model, 'dec', 'decoder', model.downsamples),
  ].flat();
}

/** A convolution's weight (permuted) and bias. */
function conv(pytorch: string, ours: string): PytorchName[] {
  return [
    { pytorch: `${pytorch}.weight`, ours: `${ours}.weight`, permute: true },
    { pytorch: `${pytorch}.bias`, ours: `${ours}.bias`, permute: false },
  ];
}

/** The residual stack's rows: PyTorch's conv1 (3x3) and conv2 (1x1) of block i are our conv3 and conv1. */
function residualNames(config: ModelConfig, pytorch: string, ours: string): PytorchName[] {
  return Array.from({ length: config.resBlocks }, (_, i) => [
    conv(`${pytorch}.res.${i}.conv1`, `${ours}.res.${i}.conv3`),
    conv(`${pytorch}.res.${i}.conv2`, `${ours}.res.${i}.conv1`),
  ]).flat(2);
}

/** An encoder trunk of n stride-2 stages (model/encoder.ts without its 1x1): conv1..n, conv{n+1}, the residual stack. */
function encoderNames(config: ModelConfig, pytorch: string, ours: string, n: number): PytorchName[] {
  return [
    ...Array.from({ length: n }, (_, j) => conv(`${pytorch}.conv${j + 1}`, `${ours}.down.${j}`)).flat(),
    ...conv(`${pytorch}.conv${n + 1}`, `${ours}.conv`),
    ...residualNames(config, pytorch, ours),
  ];
}

/** A decoder of n stride-2 transposed stages (model/decoder.ts): conv1, the residual stack, conv_trans1..n. */
function decoderNames(config: ModelConfig, pytorch: string, ours: string, n: number): PytorchName[] {
  return [
    ...conv(`${pytorch}.conv1`, `${ours}.conv`),
    ...residualNames(config, pytorch, ours),
    ...Array.from({ length: n }, (_, j) => conv(`${pytorch}.conv_trans${j + 1}`, `${ours}.up.${j}`)).flat(),
  ];
}

/** The quantizer's rows of the table above, `vq.*` and `quantizer.*` there, here under the prefixes `pytorch` and `ours`. */
function quantizerNames(config: ModelConfig, pytorch: string, ours: string): PytorchName[] {
  const copy = (p: string, o: string): PytorchName => ({ pytorch: `${pytorch}.${p}`, ours: `${ours}.${o}`, permute: false });
  const linear = (p: string, o: string): PytorchName => ({ ...copy(p, o), transpose: true });
  switch (config.quantizer) {
    case 'simvq':
      return [copy('frozen_codebook', 'frozen_codebook'), linear('code_transform.weight', 'code_transform.weight')];
    case 'fsq':
      if (config.codeDim === config.levels.length) return [];
      return ['project_in', 'project_out'].flatMap((p) => [
        linear(`${p}.weight`, `${p}.weight`),
        copy(`${p}.bias`, `${p}.bias`),
      ]);
    case 'rvq':
      return Array.from({ length: config.depth }, (_, i) => copy(`layers.${i}.embedding.weight`, `layers.${i}.codebook`));
    case 'ema':
      return [
        copy('embedding.weight', 'codebook'),
        copy('ema_cluster_size', 'ema_count'),
        copy('ema_w', 'ema_sum'),
      ];
    default:
      return [copy('embedding.weight', 'codebook')];
  }
}

/** [rows, columns] row-major → [columns, rows]. */
function transpose2d(data: ArrayLike<number>, rows: number, columns: number): Float32Array {
  const out = new Float32Array(rows * columns);
  for (let r = 0; r < rows; r++) for (let c = 0; c < columns; c++) out[c * rows + r] = data[r * columns + c]!;
  return out;
}

const PERMUTATION = [2, 3, 1, 0] as const;

/** PyTorch's shape of a variable of ours with shape `shape`. */
export function pytorchShape(shape: readonly number[], permute: boolean): number[] {
  // ours[k] = torch[PERMUTATION[k]], so torch[PERMUTATION[k]] = ours[k].
  if (!permute) return shape.slice();
  const torch = new Array<number>(4);
  PERMUTATION.forEach((axis, k) => (torch[axis] = shape[k]!));
  return torch;
}

/** Moves row-major `data` of PyTorch shape `torch` into our layout (permutation 2, 3, 1, 0). */
export function permuteFromPytorch(data: ArrayLike<number>, torch: readonly number[]): Float32Array {
  const [a, b, c, d] = torch as [number, number, number, number];
  const out = new Float32Array(a * b * c * d);
  // ours [c, d, b, a]: index ((z * d + w) * b + y) * a + x for torch [x, y, z, w].
  for (let x = 0; x < a; x++) {
    for (let y = 0; y < b; y++) {
      for (let z = 0; z < c; z++) {
        for (let w = 0; w < d; w++) {
          out[((z * d + w) * b + y) * a + x] = data[((x * b + y) * c + z) * d + w]!;
        }
      }
    }
  }
  return out;
}

const shapeText = (shape: readonly number[]) => `[${shape.join(', ')}]`;

/** A model's variables and shapes, as `fromPytorchState` wants them. */
type Expected = Record<string, { shape: readonly number[] }>;
type Values = Record<string, { shape: number[]; data: Float32Array }>;

/**
 * Our variables from a PyTorch state dict. `expected` gives each variable's
 * shape in our layout (a model's `state()`); every PyTorch tensor of the
 * table must be there with the matching shape, F32 or F64, and nothing else:
 * otherwise one ModelMismatchError names every missing, unexpected and
 * misshaped tensor. `source` (the file) starts the message.
 */
export function fromPytorchState(tensors: Record<string, NamedTensor>, config: ModelConfig, expected: Expected, source: string): Values {
  const what = describeModel(config, `K ${config.codebookSize}, D ${config.codeDim}`);
  return mapPytorchState(tensors, pytorchNames(config), expected, `${source} does not match the ${what}`);
}

/** `fromPytorchState` for the two-level model (its rows of the table above). */
export function fromPytorchHierarchicalState(tensors: Record<string, NamedTensor>, config: HierarchicalConfig, expected: Expected, source: string): Values {
  const { model, top } = config;
  const what = `two-level ${describeModel(model, `top K ${top.codebookSize}, D ${top.codeDim}, bottom K ${model.codebookSize}, D ${model.codeDim}`)}`;
  return mapPytorchState(tensors, hierarchicalPytorchNames(config), expected, `${source} does not match the ${what}`);
}

/** "vq model, hidden 16, ..., {codes}, 2 downsamples". */
function describeModel(config: ModelConfig, codes: string): string {
  return `${config.quantizer} model, hidden ${config.hidden}, res-hidden ${config.resHidden}, ` +
    `res-blocks ${config.resBlocks}, ${codes}, ${config.downsamples} downsamples`;
}

function mapPytorchState(tensors: Record<string, NamedTensor>, names: PytorchName[], expected: Expected, mismatch: string): Values {
  const problems: string[] = [];
  const known = new Set(names.map((n) => n.pytorch));
  for (const { pytorch, ours, permute, transpose } of names) {
    const target = expected[ours];
    if (!target) throw new Error(`pytorch mapping names ${ours}, which the model does not have`);
    const want = transpose ? target.shape.slice().reverse() : pytorchShape(target.shape, permute);
    const t = tensors[pytorch];
    if (!t) problems.push(`missing ${pytorch} ${shapeText(want)}`);
    else if (t.shape.join(',') !== want.join(',')) {
      problems.push(`${pytorch} has shape ${shapeText(t.shape)}, expected ${shapeText(want)}`);
    } else if (t.dtype !== 'F32' && t.dtype !== 'F64') problems.push(`${pytorch} is ${t.dtype}, expected F32`);
  }
  for (const name of Object.keys(tensors)) if (!known.has(name)) problems.push(`unexpected ${name}`);
  if (problems.length > 0) throw new ModelMismatchError(`${mismatch}: ${problems.join('; ')}`);
  const out: Values = {};
  for (const { pytorch, ours, permute, transpose } of names) {
    const t = tensors[pytorch]!;
    const values = t.data as Float32Array | Float64Array;
    out[ours] = {
      shape: expected[ours]!.shape.slice(),
      data: permute
        ? permuteFromPytorch(values, t.shape)
        : transpose
          ? transpose2d(values, t.shape[0]!, t.shape[1]!)
          : Float32Array.from(values),
    };
  }
  for (const ours of Object.keys(expected)) {
    if (!(ours in out)) throw new Error(`pytorch mapping lacks the model's ${ours}`);
  }
  return out;
}

/** A VqVae of `config` holding the weights of a PyTorch state dict file (safetensors). */
export function loadPytorchModel(file: string, config: ModelConfig): VqVae {
  return loadInto(file, new VqVae(config), (tensors, model, expected) => fromPytorchState(tensors, model.config, expected, file));
}

/** A two-level model of `config` holding the weights of a PyTorch state dict file of tools/pytorch/vqvae2_torch.py's layout. */
export function loadPytorchHierarchicalModel(file: string, config: HierarchicalConfig): HierarchicalVqVae {
  return loadInto(file, new HierarchicalVqVae(config), (tensors, model, expected) => fromPytorchHierarchicalState(tensors, model.config, expected, file));
}

/** `model` with the weights `map` finds in `file`; disposed when they do not fit. */
function loadInto<M extends VqVae | HierarchicalVqVae>(
  file: string,
  model: M,
  map: (tensors: Record<string, NamedTensor>, model: M, expected: Expected) => Values,
): M {
  try {
    const { tensors } = readSafetensorsFile(file);
    // The running usage of dead-code restarts (restartDead) is training state the reference does not
    // have: it starts fresh, as in a new model.
    const fresh = (name: string) => name.endsWith('.usage');
    const state = Object.entries(model.state());
    const shapes = Object.fromEntries(state.filter(([name]) => !fresh(name)).map(([name, v]) => [name, { shape: v.shape }]));
    const values = map(tensors, model, shapes);
    for (const [name, v] of state) if (fresh(name)) values[name] = { shape: v.shape.slice(), data: Float32Array.from(v.dataSync()) };
    model.load(values, file);
  } catch (error) {
    model.dispose();
    throw error;
  }
  return model;
}
