/**
 * GFLOP/s of the native addon's convolutions on each convolution shape of
 * the reference VQ-VAE at batch 128 (forward, backward data, backward
 * filter), and of a large sgemm as the machine's rate, for bench/bench.ts.
 * The decoder's transposed convolutions have the geometry of the encoder's
 * strided ones (their forward pass is that geometry's backward data pass).
 */
import type { NativeAddon } from '../src/backend/native/addon.js';

export interface ConvShape {
  name: string;
  /** x [b, h, w, ci], kernel k, stride s, padding p (each side), co out channels. */
  h: number;
  ci: number;
  co: number;
  k: number;
  s: number;
  p: number;
}

export const REFERENCE_CONVS: ConvShape[] = [
  { name: 'enc1 / decT2 4x4 s2, 28x28x1 -> 64', h: 28, ci: 1, co: 64, k: 4, s: 2, p: 1 },
  { name: 'enc2 / decT1 4x4 s2, 14x14x64 -> 128', h: 14, ci: 64, co: 128, k: 4, s: 2, p: 1 },
  { name: 'enc3 3x3, 7x7x128 -> 128', h: 7, ci: 128, co: 128, k: 3, s: 1, p: 1 },
  { name: 'res 3x3, 7x7x128 -> 32 (x4)', h: 7, ci: 128, co: 32, k: 3, s: 1, p: 1 },
  { name: 'res 1x1, 7x7x32 -> 128 (x4)', h: 7, ci: 32, co: 128, k: 1, s: 1, p: 0 },
  { name: 'pre-vq 1x1, 7x7x128 -> 64', h: 7, ci: 128, co: 64, k: 1, s: 1, p: 0 },
  { name: 'dec1 3x3, 7x7x64 -> 128', h: 7, ci: 64, co: 128, k: 3, s: 1, p: 1 },
];

export interface ConvRate {
  name: string;
  /** GFLOP/s of forward, backward data, backward filter. */
  forward: number;
  backwardData: number;
  backwardFilter: number;
  /** Multiply-adds x 2 of one pass. */
  flops: number;
  /** Best time of each pass, ms. */
  ms: [number, number, number];
  /** Least CPU time of each pass (the process's, every thread), ms: steadier than wall time on a shared machine. */
  cpuMs: [number, number, number];
}

/** Least wall and least CPU time (ms) of `repeats` runs after one warm-up. */
function best(f: () => void, repeats: number): { ms: number; cpuMs: number } {
  f();
  let ms = Infinity;
  let cpuMs = Infinity;
  for (let i = 0; i < repeats; i++) {
    const cpu = process.cpuUsage();
    const t = performance.now();
    f();
    ms = Math.min(ms, performance.now() - t);
    const used = process.cpuUsage(cpu);
    cpuMs = Math.min(cpuMs, (used.user + used.system) / 1000);
  }
  return { ms, cpuMs };
}

/**
 * GFLOP/s of a size^3 sgemm (oneDNN, through batchMatMul) per second of CPU
 * time: what the convolutions' CPU-time rates compare against.
 */
export function sgemmCpuRate(addon: NativeAddon, size: number, repeats: number): number {
  const a = new Float32Array(size * size).fill(0.5);
  const b = new Float32Array(size * size).fill(0.25);
  const c = new Float32Array(size * size);
  const { cpuMs } = best(() => addon.batchMatMul(a, b, c, 1, 1, size, size, size, false, false), repeats);
  return (2 * size ** 3) / cpuMs / 1e6;
}

export function convRates(addon: NativeAddon, batch: number, repeats: number): ConvRate[] {
  return REFERENCE_CONVS.map((c) => {
    const o = Math.floor((c.h + 2 * c.p - c.k) / c.s) + 1;
    const x = new Float32Array(batch * c.h * c.h * c.ci).map((_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
    const w = new Float32Array(c.k * c.k * c.ci * c.co).map((_, i) => ((i * 104729) % 1000) / 1000 - 0.5);
    const y = new Float32Array(batch * o * o * c.co).map((_, i) => ((i * 15485863) % 1000) / 1000 - 0.5);
    const dx = new Float32Array(x.length);
    const dw = new Float32Array(w.length);
    const g = [batch, c.h, c.h, c.ci, o, o, c.co, c.k, c.k, c.s, c.s, 1, 1, c.p, c.p, c.p, c.p];
    const flops = 2 * batch * o * o * c.co * c.k * c.k * c.ci;
    const out = new Float32Array(y.length);
    const times = [
      best(() => addon.conv2d(x, w, null, out, g, false), repeats),
      best(() => addon.conv2dBackpropInput(y, w, dx, g), repeats),
      best(() => addon.conv2dBackpropFilter(x, y, dw, g), repeats),
    ];
    const ms = times.map((t) => t.ms) as [number, number, number];
    const cpuMs = times.map((t) => t.cpuMs) as [number, number, number];
    const rate = (t: number) => flops / t / 1e6;
    return { name: c.name, forward: rate(ms[0]), backwardData: rate(ms[1]), backwardFilter: rate(ms[2]), flops, ms, cpuMs };
  });
}
