/**
 * `npm run bench`: the native backend side by side with wasm and PyTorch in
 * one run, on the reference VQ-VAE (DEFAULT_MODEL_CONFIG, src/model/config.ts) at batch 128 with the same
 * thread count everywhere:
 * - what users run: `vqvae train` on Fashion-MNIST (its own images/s, data,
 *   metrics and progress included, and its wall time) beside the independent
 *   PyTorch script on the same data (bench/torch_train.py --data
 *   fashion-mnist), and the bare training step on each backend (each in its
 *   own process, bench/trainWorker.ts) beside PyTorch's on random images;
 *   --rounds rounds, the sides alternated within each, so a load that comes
 *   and goes hits both; every row's ratio is to PyTorch's figure of the same
 *   round, and each process's peak resident memory (/usr/bin/time);
 * - the CPU (model, AVX2 / AVX-512 / AVX-512 bf16 / AMX as /proc/cpuinfo
 *   lists them, oneDNN's ISA) and the thread count;
 * - GFLOP/s of the native convolutions on every convolution shape of the
 *   model, forward and both backward passes, beside the machine's sgemm
 *   rate measured in the same run (bench/convRates.ts), by wall time and by
 *   CPU time (steadier on a shared machine); --compare-paths adds the same
 *   table on the earlier paths (oneDNN's 1x1 gradients), --compare-bf16 with
 *   --precision bf16;
 * - a per-kernel profile of one native training step: where the time goes.
 *
 *   npm run bench -- [--steps 20] [--train-steps 3x--steps] [--batch 128] [--threads N] [--rounds 2] [--backends native,wasm]
 *                    [--wasm-steps 3] [--cpu-batch 8] [--no-torch] [--no-train] [--compare-paths] [--compare-bf16] [--json]
 *
 * Threads: --threads, else VQVAE_THREADS, else every core; the native
 * workers get it as VQVAE_THREADS, PyTorch as --threads. OpenMP's spin
 * waiting makes both slow on a machine shared with other jobs: both sides
 * run with the native backend's default OMP_WAIT_POLICY=PASSIVE, or with
 * the environment's OMP_WAIT_POLICY / GOMP_SPINCOUNT when set (printed).
 * The cpu backend, about 1/500 of wasm's speed, runs only when listed, at
 * --cpu-batch for one step.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { loadAddon } from '../src/backend/native/addon.js';
import { convRates, REFERENCE_CONVS, sgemmCpuRate, type ConvRate } from './convRates.js';
import { isaName } from '../src/backend/native/backend.js';

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '20' },
    rounds: { type: 'string', default: '2' },
    'train-steps': { type: 'string' },
    'no-train': { type: 'boolean', default: false },
    batch: { type: 'string', default: '128' },
    threads: { type: 'string' },
    backends: { type: 'string', default: 'native,wasm' },
    'wasm-steps': { type: 'string', default: '3' },
    'cpu-batch': { type: 'string', default: '8' },
    'no-torch': { type: 'boolean', default: false },
    'compare-paths': { type: 'boolean', default: false },
    'compare-bf16': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const threads = Number(values.threads ?? process.env['VQVAE_THREADS'] ?? availableParallelism());
const batch = Number(values.batch);
const steps = Number(values.steps);
// `vqvae train` counts its first step, which compiles oneDNN's kernels and
// faults in every buffer (about 1-2 s, 4-8 steady steps): a longer run by
// default keeps that from weighing more than in the runs users make.
const trainSteps = Number(values['train-steps'] ?? 3 * steps);
// The native backend sets OMP_WAIT_POLICY=PASSIVE unless told otherwise
// (src/backend/native/addon.ts); PyTorch gets the same setting, so both
// sides wait for cores alike on a loaded machine.
const waitPolicy = process.env['OMP_WAIT_POLICY'] ?? (process.env['GOMP_SPINCOUNT'] === undefined ? 'PASSIVE' : 'default');
const env = { ...process.env, VQVAE_THREADS: String(threads), ...(process.env['GOMP_SPINCOUNT'] === undefined ? { OMP_WAIT_POLICY: waitPolicy } : {}) };

interface Row {
  name: string;
  round?: number;
  wall_s?: number;
  images_per_s?: number;
  peak_rss_mb?: number;
  final_loss?: number;
  batch?: number;
  steps?: number;
  missing?: string;
  ratio?: number;
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
  const text = `${String(result.stderr ?? '')}`.trim().split('\n').filter((l) => l.trim() !== '' && !l.startsWith('maxrss_kb'));
  return text.pop() ?? `exit code ${result.status}`;
}

const scratch = mkdtempSync(join(tmpdir(), 'vqvae-bench-'));
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));

/** Runs a command under /usr/bin/time (when there) for its peak RSS; wall seconds too. */
function measured(command: string, args: string[]): { result: ReturnType<typeof spawnSync>; rssMb?: number; wall: number } {
  const timeFile = join(scratch, 'time.txt');
  const useTime = existsSync('/usr/bin/time');
  const started = performance.now();
  const result = useTime
    ? spawnSync('/usr/bin/time', ['-f', 'maxrss_kb %M', '-o', timeFile, command, ...args], { env, encoding: 'utf8', maxBuffer: 1 << 26 })
    : spawnSync(command, args, { env, encoding: 'utf8', maxBuffer: 1 << 26 });
  const wall = (performance.now() - started) / 1000;
  const kb = useTime && existsSync(timeFile) ? Number(/maxrss_kb (\d+)/.exec(readFileSync(timeFile, 'utf8'))?.[1]) : NaN;
  return { result, rssMb: Number.isFinite(kb) ? kb / 1024 : undefined, wall };
}

function runBackend(backend: string): Row {
  const isCpu = backend === 'cpu';
  const args = [
    join(here, 'trainWorker.js'), '--backend', backend,
    '--steps', isCpu ? '1' : backend === 'wasm' ? values['wasm-steps']! : String(steps),
    '--batch', isCpu ? values['cpu-batch']! : String(batch),
    ...(backend === 'native' ? ['--profile'] : []),
  ];
  const { result, rssMb } = measured(process.execPath, args);
  const json = result.status === 0 ? lastJsonLine(result.stdout as string) : undefined;
  if (json === undefined) return { name: `${backend} step`, missing: failure(result) };
  const name = String(json['reason']).replace(/,? ?chosen with --backend \w+/, '').replace(' ()', '');
  return { ...(json as unknown as Row), name: `${name}: bare step`, peak_rss_mb: rssMb ?? (json['peak_rss_mb'] as number) };
}

/** `vqvae train` as users run it: Fashion-MNIST, its own images/s from --json. */
function runTrain(): Row {
  const out = join(scratch, 'run');
  rmSync(out, { recursive: true, force: true });
  const args = [
    join(here, '..', 'src', 'cli', 'main.js'), 'train', '--data', 'fashion-mnist', '--out', out, '--steps', String(trainSteps),
    '--batch', String(batch), '--eval-every', '0', '--eval-limit', '256', '--checkpoint-every', '0', '--backend', 'native', '--json',
  ];
  const { result, rssMb, wall } = measured(process.execPath, args);
  const json = result.status === 0 ? lastJsonLine(result.stdout as string) : undefined;
  if (json === undefined) return { name: 'vqvae train', missing: failure(result) };
  return {
    name: 'native: `vqvae train`, fashion-mnist', images_per_s: json['images_per_s'] as number, peak_rss_mb: rssMb,
    final_loss: json['final_loss'] as number, batch, steps: trainSteps, wall_s: wall,
  };
}

let torchVersion: string | undefined | false;
function runTorch(data: 'random' | 'fashion-mnist'): Row {
  const script = join(root, 'bench', 'torch_train.py');
  const python = '/usr/bin/python3';
  const name = data === 'random' ? 'pytorch: bare step' : 'pytorch: bench/torch_train.py, fashion-mnist';
  if (values['no-torch']) return { name, missing: 'skipped (--no-torch)' };
  if (!existsSync(python)) return { name, missing: `${python} not found` };
  if (!existsSync(script)) return { name, missing: `${script} not found` };
  if (torchVersion === undefined) {
    const probe = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
    torchVersion = probe.status === 0 ? probe.stdout.trim() : false;
  }
  if (torchVersion === false) return { name, missing: 'torch is not installed for /usr/bin/python3 (apt-get install python3-torch)' };
  const { result, rssMb, wall } = measured(python, [
    script, '--steps', String(steps), '--batch', String(batch), '--threads', String(threads), '--data', data, '--json',
  ]);
  const json = result.status === 0 ? lastJsonLine(result.stdout as string) : undefined;
  if (json === undefined) return { name, missing: failure(result) };
  return { ...(json as unknown as Row), name: name.replace('pytorch', `pytorch ${torchVersion}`), peak_rss_mb: rssMb ?? (json['peak_rss_mb'] as number), wall_s: wall };
}

/** The CPU's model name and the vector features training can use, from /proc/cpuinfo. */
function cpuFeatures(): { model: string; features: string[] } {
  let text = '';
  try {
    text = readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return { model: 'unknown (no /proc/cpuinfo)', features: [] };
  }
  const model = /^model name\s*:\s*(.*)$/m.exec(text)?.[1]?.trim() ?? 'unknown';
  const flags = new Set((/^flags\s*:\s*(.*)$/m.exec(text)?.[1] ?? '').split(/\s+/));
  const named: [string, string][] = [['avx2', 'AVX2'], ['avx512f', 'AVX-512'], ['avx512_bf16', 'AVX-512 bf16'], ['amx_tile', 'AMX'], ['amx_bf16', 'AMX bf16']];
  return { model, features: named.filter(([flag]) => flags.has(flag)).map(([, label]) => label) };
}

const rounds = Math.max(1, Number(values.rounds));
const backends = values.backends!.split(',').map((b) => b.trim());
const rows: Row[] = [];
for (let round = 1; round <= rounds; round++) {
  // Alternate which side goes first, so a load that comes and goes hits both.
  const sides: (() => Row)[] = [
    () => runTorch('random'),
    ...backends.filter((b) => b === 'native' || round === 1).map((b) => () => runBackend(b)),
    ...(values['no-train'] ? [] : [() => runTorch('fashion-mnist'), () => runTrain()]),
  ];
  if (round % 2 === 0) sides.reverse();
  const results = sides.map((side) => ({ ...side(), round }));
  const torchStep = results.find((r) => r.name.startsWith('pytorch') && r.name.endsWith('bare step'));
  const torchTrain = results.find((r) => r.name.includes('torch_train.py'));
  for (const r of results) {
    const reference = r.name.includes('vqvae train') || r.name.includes('torch_train.py') ? torchTrain : torchStep;
    rows.push({ ...r, ratio: reference?.images_per_s !== undefined && r.images_per_s !== undefined ? r.images_per_s / reference.images_per_s : undefined } as Row);
  }
}
const cpu = cpuFeatures();

const addon = loadAddon().addon;
let sgemm: number | undefined;
let sgemmCpu: number | undefined;
let convs: ConvRate[] = [];
// --compare-paths: the same convolutions on the earlier paths (native/src/conv.cc's setConvPaths(3): oneDNN's 1x1 gradients).
let earlier: ConvRate[] = [];
// --compare-bf16: the same convolutions with setPrecision('bf16') (where the CPU has it).
let bf16Convs: ConvRate[] = [];
if (addon !== undefined) {
  addon.setThreads(threads);
  sgemm = addon.sgemmRate(2048, 5);
  sgemmCpu = sgemmCpuRate(addon, 2048, 5);
  convs = convRates(addon, batch, 5);
  if (values['compare-paths']) {
    addon.setConvPaths(3);
    earlier = convRates(addon, batch, 5);
    addon.setConvPaths(0);
  }
  if (values['compare-bf16'] && addon.info().bf16) {
    addon.setPrecision('bf16');
    bf16Convs = convRates(addon, batch, 5);
    addon.setPrecision('fp32');
  }
}
// One training step's convolutions, each shape counted as often as the model has it
// (encoder and decoder alike), all three passes: flops over time.
const counts = REFERENCE_CONVS.map((c) => (c.name.includes('(x4)') ? 4 : c.name.includes('/') ? 2 : 1));
const totalFlops = convs.reduce((s, c, i) => s + 3 * c.flops * counts[i]!, 0);
const totalMs = convs.reduce((s, c, i) => s + (c.ms[0] + c.ms[1] + c.ms[2]) * counts[i]!, 0);
const overall = convs.length > 0 ? totalFlops / totalMs / 1e6 : undefined;
// The same by CPU time (every thread's), against sgemm's CPU-time rate.
const cpuRate = (list: ConvRate[]) => totalFlops / list.reduce((s, c, i) => s + (c.cpuMs[0] + c.cpuMs[1] + c.cpuMs[2]) * counts[i]!, 0) / 1e6;

const out = values.json ? console.error : console.log;
const fixed = (v: number | undefined, d = 1) => (v === undefined ? '-' : v.toFixed(d));
out(`reference VQ-VAE, batch ${batch}, ${threads} thread(s), OMP_WAIT_POLICY ${waitPolicy}, ${rounds} round(s) alternated; ` +
  `bare steps and PyTorch: ${steps} timed steps after warm-up; \`vqvae train\`: ${trainSteps} steps, its own images/s (first step included)`);
out(`CPU: ${cpu.model}; ${cpu.features.length > 0 ? cpu.features.join(', ') : 'none of AVX2, AVX-512, AMX'}${addon ? `; oneDNN ISA ${isaName(addon.info().isa)}` : ''}`);
out('');
out('| round | what | images/s | vs PyTorch (same round) | peak RSS (MB) | wall s | final loss |');
out('| --- | --- | --- | --- | --- | --- | --- |');
for (const r of rows) {
  if (r.missing !== undefined) {
    out(`| ${r.round} | ${r.name} | missing: ${r.missing} | - | - | - | - |`);
    continue;
  }
  const ratio = r.ratio !== undefined && !r.name.startsWith('pytorch') ? `${r.ratio.toFixed(2)}x` : '-';
  out(`| ${r.round} | ${r.name} | ${fixed(r.images_per_s)} | ${ratio} | ${fixed(r.peak_rss_mb, 0)} | ${fixed(r.wall_s)} | ${fixed(r.final_loss, 4)} |`);
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
  // Per second of CPU time: on a machine other jobs share, wall-clock rates
  // measure who got the cores; CPU-time rates, side by side, the work.
  out('');
  out(`sgemm 2048^3 per CPU second (every thread's): ${fixed(sgemmCpu)} GFLOP/s`);
  out('');
  const cpuPct = (flops: number, ms: number) => `${(flops / ms / 1e6).toFixed(1)} (${((100 * flops) / ms / 1e6 / sgemmCpu!).toFixed(0)}%)`;
  const rowsOf = (list: ConvRate[], label: string) => {
    out(`| convolution, batch ${batch}, per CPU second${label} | forward GFLOP/s | backward data | backward filter |`);
    out('| --- | --- | --- | --- |');
    for (const c of list) out(`| ${c.name} | ${cpuPct(c.flops, c.cpuMs[0])} | ${cpuPct(c.flops, c.cpuMs[1])} | ${cpuPct(c.flops, c.cpuMs[2])} |`);
    out(`| all passes, weighted as in one step | ${(cpuRate(list)).toFixed(1)} (${((100 * cpuRate(list)) / sgemmCpu!).toFixed(0)}%) | | |`);
  };
  rowsOf(convs, '');
  if (earlier.length > 0) {
    out('');
    rowsOf(earlier, ', earlier paths (oneDNN 1x1 gradients)');
  }
  if (bf16Convs.length > 0) {
    out('');
    rowsOf(bf16Convs, ', --precision bf16');
  }
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
  console.log(JSON.stringify({
    batch, threads, omp_wait_policy: waitPolicy, cpu, rows, sgemm_gflops: sgemm, sgemm_cpu_gflops: sgemmCpu, convolutions: convs,
    convolutions_overall_gflops: overall, convolutions_cpu_gflops: convs.length > 0 ? cpuRate(convs) : undefined,
    ...(earlier.length > 0 ? { convolutions_earlier_paths: earlier, convolutions_earlier_cpu_gflops: cpuRate(earlier) } : {}),
    ...(bf16Convs.length > 0 ? { convolutions_bf16: bf16Convs, convolutions_bf16_cpu_gflops: cpuRate(bf16Convs) } : {}),
  }));
}

