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
 * Biases keep their shape [out]; nn.Linear weights [out, in] are transposed to [in, out]. Both 4-d layouts move by the same
 * permutation (2, 3, 1, 0): OIHW → HWIO for convolutions and, for transposed
 * convolutions (PyTorch [in, out, kh, kw], tfjs [kh, kw, out, in]), IOHW → HWOI.
 */
import type { NamedTensor } from '../io/safetensors.js';
import { readSafetensorsFile } from '../io/safetensorsFile.js';
import type { ModelConfig } from './config.js';
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
  const names: PytorchName[] = [];
  const conv = (pytorch: string, ours: string) => {
    names.push({ pytorch: `${pytorch}.weight`, ours: `${ours}.weight`, permute: true });
    names.push({ pytorch: `${pytorch}.bias`, ours: `${ours}.bias`, permute: false });
  };
  const residual = (part: 'encoder' | 'decoder') => {
    for (let i = 0; i < config.resBlocks; i++) {
      conv(`${part}.res.${i}.conv1`, `${part}.res.${i}.conv3`);
      conv(`${part}.res.${i}.conv2`, `${part}.res.${i}.conv1`);
    }
  };
  const n = config.downsamples;
  for (let j = 1; j <= n; j++) conv(`encoder.conv${j}`, `encoder.down.${j - 1}`);
  conv(`encoder.conv${n + 1}`, 'encoder.conv');
  residual('encoder');
  conv('pre_vq_conv', 'encoder.pre_quantize');
  names.push(...quantizerNames(config));
  conv('decoder.conv1', 'decoder.conv');
  residual('decoder');
  for (let j = 1; j <= n; j++) conv(`decoder.conv_trans${j}`, `decoder.up.${j - 1}`);
  return names;
}

/** The quantizer's rows of the table above. */
function quantizerNames(config: ModelConfig): PytorchName[] {
  const copy = (pytorch: string, ours: string): PytorchName => ({ pytorch, ours, permute: false });
  const linear = (pytorch: string, ours: string): PytorchName => ({ pytorch, ours, permute: false, transpose: true });
  switch (config.quantizer) {
    case 'simvq':
      return [copy('vq.frozen_codebook', 'quantizer.frozen_codebook'), linear('vq.code_transform.weight', 'quantizer.code_transform.weight')];
    case 'fsq':
      if (config.codeDim === config.levels.length) return [];
      return ['project_in', 'project_out'].flatMap((p) => [
        linear(`vq.${p}.weight`, `quantizer.${p}.weight`),
        copy(`vq.${p}.bias`, `quantizer.${p}.bias`),
      ]);
    case 'rvq':
      return Array.from({ length: config.depth }, (_, i) => copy(`vq.layers.${i}.embedding.weight`, `quantizer.layers.${i}.codebook`));
    case 'ema':
      return [
        copy('vq.embedding.weight', 'quantizer.codebook'),
        copy('vq.ema_cluster_size', 'quantizer.ema_count'),
        copy('vq.ema_w', 'quantizer.ema_sum'),
      ];
    default:
      return [copy('vq.embedding.weight', 'quantizer.codebook')];
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

/**
 * Our variables from a PyTorch state dict. `expected` gives each variable's
 * shape in our layout (a model's `state()`); every PyTorch tensor of the
 * table must be there with the matching shape, F32 or F64, and nothing else:
 * otherwise one ModelMismatchError names every missing, unexpected and
 * misshaped tensor. `source` (the file) starts the message.
 */
export function fromPytorchState(
  tensors: Record<string, NamedTensor>,
  config: ModelConfig,
  expected: Record<string, { shape: readonly number[] }>,
  source: string,
): Record<string, { shape: number[]; data: Float32Array }> {
  const names = pytorchNames(config);
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
  if (problems.length > 0) {
    const model = `${config.quantizer} model, hidden ${config.hidden}, res-hidden ${config.resHidden}, ` +
      `res-blocks ${config.resBlocks}, K ${config.codebookSize}, D ${config.codeDim}, ${config.downsamples} downsamples`;
    throw new ModelMismatchError(`${source} does not match the ${model}: ${problems.join('; ')}`);
  }
  const out: Record<string, { shape: number[]; data: Float32Array }> = {};
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
  const { tensors } = readSafetensorsFile(file);
  const model = new VqVae(config);
  try {
    // The running usage of dead-code restarts (restartDead) is training state the reference does not
    // have: it starts fresh, as in a new model.
    const fresh = (name: string) => name.endsWith('.usage');
    const state = Object.entries(model.state());
    const shapes = Object.fromEntries(state.filter(([name]) => !fresh(name)).map(([name, v]) => [name, { shape: v.shape }]));
    const values = fromPytorchState(tensors, model.config, shapes, file);
    for (const [name, v] of state) if (fresh(name)) values[name] = { shape: v.shape.slice(), data: Float32Array.from(v.dataSync()) };
    model.load(values, file);
  } catch (error) {
    model.dispose();
    throw error;
  }
  return model;
}
