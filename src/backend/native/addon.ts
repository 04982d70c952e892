/**
 * Loads the native addon (native/build/Release/vqvae_native.node, built by
 * scripts/build-native.mjs during `npm ci`) and types its functions. When it
 * is not there or does not load, `loadAddon()` says why in one line, e.g.
 * 'libdnnl-dev not installed: apt-get install libdnnl-dev'.
 *
 * Every function works on the typed arrays it is given (their own memory,
 * byteOffset included): inputs are read, outputs written in place.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** [n, ih, iw, ci, oh, ow, co, kh, kw, sh, sw, dh, dw, padTop, padLeft, padBottom, padRight] */
export type ConvGeometry = number[];

export interface NativeAddon {
  /** isa: oneDNN's dnnl_cpu_isa_t; bf16: whether the CPU can run setPrecision('bf16'). */
  info(): { onednn: string; threads: number; isa: number; bf16: boolean; precision: 'fp32' | 'bf16' };
  /** Convolutions in bf16 (fp32 tensors, bf16 products, fp32 sums) or fp32; bf16 throws where the CPU lacks it. */
  setPrecision(precision: 'fp32' | 'bf16'): string;
  setThreads(n: number): number;
  /** Primitives created so far; a repeated training step adds none. */
  primitivesCreated(): number;
  /** Per-pass timing of the convolutions and fused layers (for the bench); on clears what was gathered. */
  setConvProfiling(on: boolean): void;
  /** Bench only: bits 1 (the layers' bias gradient from oneDNN's backward weights) and 2 (oneDNN's 1x1 gradients) restore earlier paths; 0 is the default. */
  setConvPaths(mask: number): void;
  convProfile(): { pass: string; geometry: ConvGeometry; ms: number; cpuMs: number; calls: number }[];
  conv2d(x: Float32Array, filter: Float32Array, bias: Float32Array | null, y: Float32Array, g: ConvGeometry, relu: boolean): void;
  conv2dBackpropInput(dy: Float32Array, filter: Float32Array, dx: Float32Array, g: ConvGeometry): void;
  conv2dBackpropFilter(x: Float32Array, dy: Float32Array, dw: Float32Array, g: ConvGeometry): void;
  /** Fused layer (native/src/layer.cc): flags 1 transposed, 2 ReLU, 4 input ReLU (xr written). */
  convLayer(x: Float32Array, filter: Float32Array, bias: Float32Array, y: Float32Array, xr: Float32Array | null, g: ConvGeometry, flags: number): void;
  convLayerBackward(
    dy: Float32Array, src: Float32Array, filter: Float32Array, y: Float32Array,
    dx: Float32Array | null, dw: Float32Array, db: Float32Array, g: ConvGeometry, flags: number,
  ): void;
  batchMatMul(
    a: Float32Array, b: Float32Array, c: Float32Array,
    batchA: number, batchB: number, m: number, n: number, k: number, transposeA: boolean, transposeB: boolean,
  ): void;
  /** GFLOP/s of a size^3 sgemm, best of `repeats`. */
  sgemmRate(size: number, repeats: number): number;
  unary(op: number, x: Float32Array, y: Float32Array, alpha?: number): void;
  binary(op: number, a: Float32Array, b: Float32Array, out: Float32Array, shape: number[], stridesA: number[], stridesB: number[]): void;
  reduce(op: number, x: Float32Array, out: Float32Array, outer: number, r: number, inner: number): void;
  argReduce(isMax: boolean, x: Float32Array, out: Int32Array, outer: number, r: number, inner: number): void;
  softmax(x: Float32Array, out: Float32Array, rows: number, cols: number): void;
  transpose(x: Float32Array | Int32Array, out: Float32Array | Int32Array, shape: number[], perm: number[]): void;
  /** Throws `GatherV2: the index value V is not in [0, N-1]` for an index out of range. */
  gather(x: Float32Array | Int32Array, indices: Int32Array, out: Float32Array | Int32Array, outer: number, axisSize: number, inner: number): void;
  segmentSum(x: Float32Array, ids: Int32Array, out: Float32Array, inner: number, numSegments: number): void;
  /** out[i] = the index of the row of codes [k, d] nearest to row i of x [m, d] (first on ties), as tfjs's argMin of ||c||^2 - 2 x·c. */
  nearestCodes(x: Float32Array, codes: Float32Array, out: Int32Array, m: number, k: number, d: number): void;
  adam(p: Float32Array, m: Float32Array, v: Float32Array, g: Float32Array, lr: number, b1: number, b2: number, eps: number, c1: number, c2: number): void;
}

export type AddonLoad = { addon: NativeAddon; reason?: undefined } | { addon?: undefined; reason: string };

/**
 * OpenMP's wait policy, set before the addon (and with it libgomp, which
 * reads it once, when it loads) is loaded: PASSIVE unless the environment
 * says otherwise. With libgomp's default, threads waiting between oneDNN's
 * parallel regions spin; on a machine where other jobs want the cores they
 * spin against each other: measured on 2 cores under a load of 14, a
 * training step ran at 33-48 images/s by default, 104-116 with
 * GOMP_SPINCOUNT=10000 and 144-197 with PASSIVE. OMP_WAIT_POLICY=ACTIVE (or
 * GOMP_SPINCOUNT) in the environment keeps the user's choice.
 */
export function applyWaitPolicy(): string {
  if (process.env['OMP_WAIT_POLICY'] === undefined && process.env['GOMP_SPINCOUNT'] === undefined) {
    process.env['OMP_WAIT_POLICY'] = 'PASSIVE';
  }
  return process.env['OMP_WAIT_POLICY'] ?? `GOMP_SPINCOUNT=${process.env['GOMP_SPINCOUNT']}`;
}

const buildDir = fileURLToPath(new URL('../../../../native/build/', import.meta.url));
let loaded: AddonLoad | undefined;

/** The addon, or why it is unavailable; loaded once. */
export function loadAddon(): AddonLoad {
  loaded ??= load();
  return loaded;
}

function load(): AddonLoad {
  const file = `${buildDir}Release/vqvae_native.node`;
  if (!existsSync(file)) {
    const status = `${buildDir}status.txt`;
    const why = existsSync(status) ? readFileSync(status, 'utf8').trim() : '';
    return { reason: why !== '' && why !== 'built' ? why : 'addon not built: run `npm run build:native`' };
  }
  applyWaitPolicy();
  try {
    return { addon: createRequire(import.meta.url)(file) as NativeAddon };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { reason: `addon failed to load: ${message.split('\n')[0]}` };
  }
}
