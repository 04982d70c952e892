/**
 * Kernel profiles for the benchmarks: tfjs's profiler around one piece of
 * work, summed by kernel, and a table of it that marks the kernels the
 * native backend implements itself (the rest run its inherited cpu code).
 */
import { tf } from '../src/engine.js';

export interface KernelTime {
  kernel: string;
  ms: number;
  calls: number;
}

/** The kernels `work` runs, by total time, longest first. */
export async function profileKernels(work: () => unknown): Promise<KernelTime[]> {
  const info = await tf.profile(async () => {
    await work();
  });
  const byKernel = new Map<string, { ms: number; calls: number }>();
  for (const k of info.kernels) {
    // The profiler also lists custom-gradient scopes (e.g. fusedConv2d__op)
    // around the kernels they run; only registered kernels are counted.
    if (tf.getKernel(k.name, tf.getBackend()) === undefined) continue;
    const entry = byKernel.get(k.name) ?? { ms: 0, calls: 0 };
    entry.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    entry.calls += 1;
    byKernel.set(k.name, entry);
  }
  return [...byKernel].map(([kernel, e]) => ({ kernel, ...e })).sort((a, b) => b.ms - a.ms);
}

/** Lines of the `top` longest kernels: share of the time, calls, and on native whether the kernel is the addon's own. */
export function profileTable(profile: KernelTime[], top = 15): string[] {
  const total = profile.reduce((s, k) => s + k.ms, 0);
  const native = tf.getBackend() === 'native';
  return profile.slice(0, top).map((k) => {
    const where = native ? (ownKernel(k.kernel) ? '  native' : '  inherited from cpu') : '';
    return `  ${k.kernel.padEnd(22)} ${((100 * k.ms) / Math.max(total, 1e-9)).toFixed(1).padStart(5)}%  ${String(k.calls).padStart(6)} calls${where}`;
  });
}

/** Whether the native backend runs its own code for `kernel`, not the function it inherited from cpu. */
function ownKernel(kernel: string): boolean {
  return tf.getKernel(kernel, 'native')?.kernelFunc !== tf.getKernel(kernel, 'cpu')?.kernelFunc;
}
