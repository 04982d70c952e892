/**
 * `npm run bench`: the native backend side by side with wasm and PyTorch in
 * one run, on the reference VQ-VAE (DEFAULT_MODEL_CONFIG, src/model/config.ts) at batch 128 with the same
 * thread count everywhere:
 * - images/s of a training step on each backend (each in its own process,
 *   bench/trainWorker.ts) and on PyTorch (bench/torch_train.py, when
 *   /usr/bin/python3 has torch), the ratio to PyTorch, and each one's peak
 *   resident memory;
 * - GFLOP/s of the native convolutions on every convolution shape of the
 *   model, forward and both backward passes, beside the machine's sgemm
 *   rate measured in the same run (bench/convRates.ts);
 * - a per-kernel profile of one native training step: where the time goes.
 *
 *   npm run bench -- [--steps 10] [--batch 128] [--threads N] [--backends native,wasm]
 *                    [--wasm-steps 3] [--cpu-batch 8] [--no-torch] [--json]
 *
 * Threads: --threads, else VQVAE_THREADS, else every core; the native
 * workers get it as VQVAE_THREADS, PyTorch as --threads. OpenMP's spin
 * waiting makes both slow on a machine shared with other jobs; the
 * environment (OMP_WAIT_POLICY) is passed to both unchanged and printed.
 * The cpu backend, about 1/500 of wasm's speed, runs only when listed, at
 * --cpu-batch for one step.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { loadAddon } from '../src/backend/native/addon.js';
import { convRates, REFERENCE_CONVS, type ConvRate } from './convRates.js';

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '10' },
    batch: { type: 'string', default: '128' },
    threads: { type: 'string' },
    backends: { type: 'string', default: 'native,wasm' },
    'wasm-steps': { type: 'string', default: '3' },
    'cpu-batch': { type: 'string', default: '8' },
    'no-torch': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const threads = Number(values.threads ?? process.env['VQVAE_THREADS'] ?? availableParallelism());
const batch = Number(values.batch);
const steps = Number(values.steps);
const env = { ...process.env, VQVAE_THREADS: String(threads) };
const waitPolicy = process.env['OMP_WAIT_POLICY'] ?? 'default';

interface Row {
  name: string;
  images_per_s?: number;
  peak_rss_mb?: number;
  final_loss?: number;
  batch?: number;
  steps?: number;
  missing?: string;
  profile?: { kernel: string; ms: number; calls: number }[];
}

function lastJsonLine(stdout: string): Record<string, unknown> | undefined {
  const line = stdout.trim().split('\n').pop();
  try {
    return line ? (JSON.parse(line) as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function failure(result: ReturnType<typeof spawnSync>): string {
  const text = `${String(result.stderr ?? '')}`.trim().split('\n').filter((l) => l.trim() !== '');
  return text.pop() ?? `exit code ${result.status}`;
}

function runBackend(backend: string): Row {
  const isCpu = backend === 'cpu';
  const args = [
    join(here, 'trainWorker.js'), '--backend', backend,
    '--steps', isCpu ? '1' : backend === 'wasm' ? values['wasm-steps']! : String(steps),
    '--batch', isCpu ? values['cpu-batch']! : String(batch),
    ...(backend === 'native' ? ['--profile'] : []),
  ];
  const result = spawnSync(process.execPath, args, { env, encoding: 'utf8', maxBuffer: 1 << 26 });
  const json = result.status === 0 ? lastJsonLine(result.stdout) : undefined;
  if (json === undefined) return { name: backend, missing: failure(result) };
  const name = String(json['reason']).replace(/,? ?chosen with --backend \w+/, '').replace(' ()', '');
  return { ...(json as unknown as Row), name };
}

function runTorch(): Row {
  const script = join(root, 'bench', 'torch_train.py');
  const python = '/usr/bin/python3';
  if (values['no-torch']) return { name: 'pytorch', missing: 'skipped (--no-torch)' };
  if (!existsSync(python)) return { name: 'pytorch', missing: `${python} not found` };
  if (!existsSync(script)) return { name: 'pytorch', missing: `${script} not found` };
  const probe = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  if (probe.status !== 0) return { name: 'pytorch', missing: 'torch is not installed for /usr/bin/python3 (apt-get install python3-torch)' };
  const result = spawnSync(
    python, [script, '--steps', String(steps), '--batch', String(batch), '--threads', String(threads), '--json'],
    { env, encoding: 'utf8', maxBuffer: 1 << 26 },
  );
  const json = result.status === 0 ? lastJsonLine(result.stdout) : undefined;
  if (json === undefined) return { name: 'pytorch', missing: failure(result) };
  return { ...(json as unknown as Row), name: `pytorch ${probe.stdout.trim()}` };
}

const rows: Row[] = values.backends!.split(',').map((b) => runBackend(b.trim()));
const torch = runTorch();
rows.push(torch);

const addon = loadAddon().addon;
let sgemm: number | undefined;
let convs: ConvRate[] = [];
if (addon !== undefined) {
  addon.setThreads(threads);
  sgemm = addon.sgemmRate(2048, 5);
  convs = convRates(addon, batch, 5);
}
// One training step's convolutions, each shape counted as often as the model has it
// (encoder and decoder alike), all three passes: flops over time.
const counts = REFERENCE_CONVS.map((c) => (c.name.includes('(x4)') ? 4 : c.name.includes('/') ? 2 : 1));
const totalFlops = convs.reduce((s, c, i) => s + 3 * c.flops * counts[i]!, 0);
const totalMs = convs.reduce((s, c, i) => s + (c.ms[0] + c.ms[1] + c.ms[2]) * counts[i]!, 0);
const overall = convs.length > 0 ? totalFlops / totalMs / 1e6 : undefined;

const out = values.json ? console.error : console.log;
const fixed = (v: number | undefined, d = 1) => (v === undefined ? '-' : v.toFixed(d));
out(`reference VQ-VAE, batch ${batch}, ${threads} thread(s), OMP_WAIT_POLICY ${waitPolicy}`);
out('');
out('| backend | batch | images/s | vs PyTorch | peak RSS (MB) | final loss |');
out('| --- | --- | --- | --- | --- | --- |');
for (const r of rows) {
  if (r.missing !== undefined) {
    out(`| ${r.name} | - | missing: ${r.missing} | - | - | - |`);
    continue;
  }
  const ratio = torch.images_per_s !== undefined ? `${(r.images_per_s! / torch.images_per_s).toFixed(2)}x` : '-';
  out(`| ${r.name} | ${r.batch} | ${fixed(r.images_per_s)} | ${ratio} | ${fixed(r.peak_rss_mb, 0)} | ${fixed(r.final_loss, 4)} |`);
}
out('');
if (addon === undefined) {
  out(`convolution rates: native addon unavailable (${loadAddon().reason})`);
} else {
  out(`sgemm 2048^3 (oneDNN): ${fixed(sgemm)} GFLOP/s`);
  out('');
  out(`| convolution, batch ${batch} | forward GFLOP/s | backward data | backward filter |`);
  out('| --- | --- | --- | --- |');
  const pct = (v: number) => `${v.toFixed(1)} (${((100 * v) / sgemm!).toFixed(0)}%)`;
  for (const c of convs) out(`| ${c.name} | ${pct(c.forward)} | ${pct(c.backwardData)} | ${pct(c.backwardFilter)} |`);
  out(`| all passes, weighted as in one step | ${pct(overall!)} | | |`);
}
const native = rows.find((r) => r.profile !== undefined);
if (native?.profile) {
  const total = native.profile.reduce((s, k) => s + k.ms, 0);
  out('');
  out(`native: one training step by kernel (${total.toFixed(0)} ms in kernels)`);
  out('');
  out('| kernel | ms | share | calls |');
  out('| --- | --- | --- | --- |');
  for (const k of native.profile.slice(0, 15)) {
    out(`| ${k.kernel} | ${k.ms.toFixed(1)} | ${((100 * k.ms) / total).toFixed(1)}% | ${k.calls} |`);
  }
}
if (values.json) {
  console.log(JSON.stringify({ batch, threads, omp_wait_policy: waitPolicy, backends: rows, sgemm_gflops: sgemm, convolutions: convs, convolutions_overall_gflops: overall }));
}
