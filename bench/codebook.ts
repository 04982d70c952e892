/**
 * `npm run bench:codebook`: how well each quantizer recipe uses its codebook.
 * Trains the reference configuration (hidden 128, residual 32, K 512, D 64,
 * batch 128, lr 2e-4) for the same number of steps with each recipe, on
 * Fashion-MNIST and on the CIFAR-10 JPEG folder, each run through the `vqvae`
 * command in its own process, and prints one table:
 *
 *   test MSE, PSNR   `vqvae eval --limit 2000`: the first 2000 test images,
 *                    reconstructions clipped to [0, 1]
 *   perplexity,      `vqvae eval` over the whole test split (perplexity
 *   codes used       depends on how many vectors it is counted over)
 *   images/s         training images per second of the run
 *
 *   npm run bench:codebook -- [--steps 1000] [--data fashion,cifar] [--recipes paper,rotation,...]
 *                             (ids: paper, ema, kmeans, restart, rotation, rotation+kmeans,
 *                             rotation+kmeans+restart, lookup8+cosine, ema+kmeans+rotation, ema+restart0.2,
 *                             ema+restart+decay0.9, ema+restart+kmeans-warmup, fsq888, default, default-k8192)
 *                             [--cifar DIR] [--backend native] [--keep DIR] [--json]
 *
 * Not a test: it takes minutes per recipe (tens of minutes at 1000 steps on
 * a loaded 2-core machine). The README's table comes from it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '1000' },
    data: { type: 'string', default: 'fashion,cifar' },
    recipes: { type: 'string' },
    cifar: { type: 'string', default: '/work/shared/datasets/cifar10-jpg' },
    backend: { type: 'string', default: 'native' },
    keep: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});

const here = dirname(fileURLToPath(import.meta.url));
const cli = join(here, '..', 'src', 'cli', 'main.js');
const REFERENCE = ['--hidden', '128', '--res-hidden', '32', '--codebook-size', '512', '--code-dim', '64', '--batch', '128', '--lr', '2e-4'];
const PAPER = ['--quantizer', 'vq', '--codebook-init', 'uniform', '--gradient', 'ste'];
const EMA_RESTART = ['--quantizer', 'ema', '--codebook-init', 'uniform', '--gradient', 'ste', '--restart-dead', '0.05'];

interface Recipe {
  /** What --recipes selects it by. */
  id: string;
  name: string;
  flags: string[];
  /** Data sets it runs on (fashion, cifar). */
  on: string[];
}

/** Each recipe spells out every option, so a change of the default changes no row. */
const RECIPES: Recipe[] = [
  { id: 'paper', name: 'paper', flags: PAPER, on: ['fashion', 'cifar'] },
  { id: 'ema', name: 'ema', flags: ['--quantizer', 'ema', '--codebook-init', 'uniform', '--gradient', 'ste'], on: ['fashion'] },
  { id: 'kmeans', name: 'kmeans', flags: ['--quantizer', 'vq', '--codebook-init', 'kmeans', '--gradient', 'ste'], on: ['fashion'] },
  { id: 'restart', name: 'restart', flags: [...PAPER, '--restart-dead', '0.05'], on: ['fashion'] },
  { id: 'ema+restart', name: 'ema+restart', flags: EMA_RESTART, on: ['fashion', 'cifar'] },
  { id: 'rotation', name: 'rotation', flags: ['--quantizer', 'vq', '--codebook-init', 'uniform', '--gradient', 'rotation'], on: ['fashion', 'cifar'] },
  { id: 'rotation+kmeans', name: 'rotation+kmeans', flags: ['--quantizer', 'vq', '--codebook-init', 'kmeans', '--gradient', 'rotation'], on: ['fashion', 'cifar'] },
  { id: 'rotation+kmeans+restart', name: 'rotation+kmeans+restart', flags: ['--quantizer', 'vq', '--codebook-init', 'kmeans', '--gradient', 'rotation', '--restart-dead', '0.05'], on: ['fashion'] },
  { id: 'lookup8+cosine', name: 'lookup8+cosine', flags: [...PAPER, '--lookup-dim', '8', '--cosine'], on: ['fashion'] },
  { id: 'ema+kmeans+rotation', name: 'ema+kmeans+rotation', flags: ['--quantizer', 'ema', '--codebook-init', 'kmeans', '--gradient', 'rotation'], on: ['fashion'] },
  { id: 'ema+restart0.2', name: 'ema+restart, U 0.2', flags: [...EMA_RESTART.slice(0, -1), '0.2'], on: ['fashion'] },
  { id: 'ema+restart+decay0.9', name: 'ema+restart, decay 0.9', flags: [...EMA_RESTART, '--decay', '0.9'], on: ['fashion'] },
  {
    id: 'ema+restart+kmeans-warmup', name: 'ema+restart, decay 0.9, k-means init after 100 steps',
    flags: ['--quantizer', 'ema', '--codebook-init', 'kmeans', '--kmeans-warmup', '100', '--gradient', 'ste', '--restart-dead', '0.05', '--decay', '0.9'], on: ['fashion'],
  },
  { id: 'fsq888', name: 'fsq 8,8,8', flags: ['--quantizer', 'fsq', '--levels', '8,8,8'], on: ['fashion'] },
  { id: 'default', name: 'default (train with no quantizer flags)', flags: [], on: ['fashion', 'cifar'] },
  { id: 'default-k8192', name: 'default, K 8192', flags: ['--codebook-size', '8192'], on: ['fashion'] },
];

const DATA: Record<string, string> = { fashion: 'fashion-mnist', cifar: `folder:${values.cifar}` };

function vqvae(args: string[]): Record<string, number> {
  const result = spawnSync(process.execPath, [cli, ...args, '--json', '--backend', values.backend!], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (result.status !== 0) {
    throw new Error(`vqvae ${args.join(' ')} failed (${result.status}):\n${result.stderr.split('\n').slice(-6).join('\n')}`);
  }
  return JSON.parse(result.stdout.trim().split('\n').at(-1)!) as Record<string, number>;
}

interface Row {
  data: string;
  recipe: string;
  flags: string;
  k: number;
  steps: number;
  mse: number;
  psnr: number;
  perplexity: number;
  codesUsed: number;
  imagesPerS: number;
}

const steps = Number(values.steps);
const wanted = values.recipes?.split(',');
for (const id of wanted ?? []) {
  if (!RECIPES.some((r) => r.id === id)) throw new Error(`--recipes: unknown recipe "${id}"; known: ${RECIPES.map((r) => r.id).join(', ')}`);
}
const root = values.keep ?? mkdtempSync(join(tmpdir(), 'vqvae-codebook-'));
const rows: Row[] = [];
try {
  for (const data of values.data!.split(',')) {
    // In the order --recipes lists them, so the most wanted rows come first.
    for (const recipe of wanted ? wanted.map((id) => RECIPES.find((r) => r.id === id)!) : RECIPES) {
      if (!recipe.on.includes(data)) continue;
      const out = join(root, `${data}-${recipe.id}`);
      const flags = [...REFERENCE.filter((f, i, a) => !(recipe.flags.includes('--codebook-size') && (f === '--codebook-size' || a[i - 1] === '--codebook-size'))), ...recipe.flags];
      process.stderr.write(`${data}: ${recipe.name} (${recipe.flags.join(' ') || 'no quantizer flags'}), ${steps} steps...\n`);
      const trained = vqvae(['train', '--data', DATA[data]!, '--out', out, '--steps', String(steps), '--eval-every', '0', '--eval-limit', '16', ...flags]);
      const first = vqvae(['eval', '--model', out, '--data', DATA[data]!, '--limit', '2000']);
      const whole = vqvae(['eval', '--model', out, '--data', DATA[data]!]);
      const k = recipe.flags.includes('--codebook-size') ? Number(recipe.flags[recipe.flags.indexOf('--codebook-size') + 1]) : 512;
      const row: Row = {
        data, recipe: recipe.name, flags: recipe.flags.join(' '), k, steps,
        mse: first['mse']!, psnr: first['psnr_db']!, perplexity: whole['perplexity']!, codesUsed: whole['codes_used']!, imagesPerS: trained['images_per_s']!,
      };
      rows.push(row);
      process.stderr.write(`  mse ${row.mse.toFixed(5)}, perplexity ${row.perplexity.toFixed(1)}, codes used ${row.codesUsed} of ${k}, ${row.imagesPerS.toFixed(0)} images/s\n`);
    }
  }
} finally {
  if (values.keep === undefined) rmSync(root, { recursive: true, force: true });
}

console.log(`| data | recipe | steps | test MSE (first 2000) | PSNR dB | perplexity (whole test split) | codes used of K | images/s |`);
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
for (const r of rows) {
  console.log(
    `| ${r.data} | ${r.recipe}${r.flags ? ` (\`${r.flags}\`)` : ''} | ${r.steps} | ${r.mse.toFixed(4)} | ${r.psnr.toFixed(2)} | ${r.perplexity.toFixed(1)} | ${r.codesUsed} of ${r.k} (${((100 * r.codesUsed) / r.k).toFixed(0)}%) | ${r.imagesPerS.toFixed(0)} |`,
  );
}
if (values.json) console.log(JSON.stringify(rows));
