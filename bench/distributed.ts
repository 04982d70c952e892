/**
 * Data-parallel training on this machine: 1 process with 2 threads against
 * 2 MPI ranks with 1 thread each (and 1 process with 1 thread, for scale), the reference configuration (hidden 128,
 * residual 2x32, K 512, D 64, batch 128) on Fashion-MNIST, run alternately
 * (A B A B) in one invocation so the figures share the machine's load; the
 * bytes each rank sends into the collectives per step.
 *
 *   npm run bench:mpi [-- --steps 40 --rounds 2 --ema]
 *
 * Not a test: it prints a table and the ratio.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '40' },
    rounds: { type: 'string', default: '2' },
    ema: { type: 'boolean', default: false },
    data: { type: 'string', default: 'fashion-mnist' },
  },
});
const steps = Number(values.steps);
const rounds = Number(values.rounds);
const main = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'vqvae-bench-mpi-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));

interface Result {
  imagesPerSecond: number;
  bytesPerStep?: number;
}

let run = 0;
function train(ranks: number, threads = 2 / ranks): Result {
  const out = join(root, `run-${run++}`);
  const args = ['train', '--data', values.data!, '--out', out, '--steps', String(steps), '--batch', '128', '--eval-every', '0', '--eval-limit', '1', '--checkpoint-every', '0', '--json', ...(values.ema ? ['--ema'] : [])];
  const env = { ...process.env, VQVAE_THREADS: String(threads) };
  const command =
    ranks === 1
      ? [process.execPath, main, ...args]
      : ['mpirun', ...(process.getuid?.() === 0 ? ['--allow-run-as-root'] : []), '-q', '--bind-to', 'core', '-np', String(ranks), process.execPath, main, ...args, '--distributed'];
  const result = spawnSync(command[0]!, command.slice(1), { encoding: 'utf8', env });
  if (result.status !== 0) throw new Error(`${command.join(' ')} failed (${result.status}):\n${result.stderr}`);
  const summary = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as { images_per_s: number; bytes_per_step?: number };
  return { imagesPerSecond: summary.images_per_s, bytesPerStep: summary.bytes_per_step };
}

console.log(`reference configuration on ${values.data}${values.ema ? ', EMA codebook' : ''}: ${steps} steps of batch 128 per run, ${rounds} rounds`);
const single: number[] = [];
const double: number[] = [];
const oneThread: number[] = [];
let bytes = 0;
for (let round = 0; round < rounds; round++) {
  single.push(train(1).imagesPerSecond);
  const r = train(2);
  double.push(r.imagesPerSecond);
  bytes = r.bytesPerStep ?? 0;
  oneThread.push(train(1, 1).imagesPerSecond);
  console.log(
    `round ${round + 1}: 1 process x 2 threads ${single.at(-1)!.toFixed(1)} images/s, 2 ranks x 1 thread ${double.at(-1)!.toFixed(1)}, ` +
      `1 process x 1 thread ${oneThread.at(-1)!.toFixed(1)}`,
  );
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
console.log('| run | images/s |');
console.log('| --- | ---: |');
console.log(`| 1 process, 2 threads | ${mean(single).toFixed(1)} |`);
console.log(`| 2 MPI ranks, 1 thread each | ${mean(double).toFixed(1)} |`);
console.log(`| 1 process, 1 thread | ${mean(oneThread).toFixed(1)} |`);
console.log(`2 ranks / 1 process: ${(mean(double) / mean(single)).toFixed(3)}; each rank sent ${(bytes / 1e6).toFixed(2)} MB per step into the collectives`);
