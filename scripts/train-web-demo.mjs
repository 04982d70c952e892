// Trains the small MNIST model the web page ships with and exports it to
// web/public/demo-model (config.json, weights.safetensors, examples.safetensors
// and, where this build has `vqvae prior`, a class-conditional prior in prior/).
// Run after `npm run build`: `node scripts/train-web-demo.mjs` (about 20 minutes
// for the VQ-VAE and 12 for the prior on 2 busy cores). Runs under `nice`.
// Sizes: hidden 64, K 64 codes of D 32 (a codebook small enough to read in the
// page), EMA codebook, 600 steps of 64 images; prior 32 channels, 7 layers.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';

const cli = 'dist/src/cli/main.js';
const run = (...args) => execFileSync('nice', ['-n', '10', process.execPath, cli, ...args], { stdio: 'inherit' });
const has = (command) => {
  try {
    execFileSync(process.execPath, [cli, command, '--help'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

mkdirSync('runs', { recursive: true });
run('train', '--data', 'mnist', '--out', 'runs/web-demo', '--steps', '600', '--batch', '64', '--hidden', '64',
  '--codebook-size', '64', '--code-dim', '32', '--ema', '--lr', '1e-3', '--eval-every', '200', '--seed', '0');
const prior = [];
if (has('prior')) {
  run('encode', '--model', 'runs/web-demo', '--data', 'mnist', '--out', 'runs/web-demo-codes.npy', '--labels-out', 'runs/web-demo-labels.npy');
  run('prior', 'train', '--codes', 'runs/web-demo-codes.npy', '--labels', 'runs/web-demo-labels.npy', '--model', 'runs/web-demo',
    '--out', 'runs/web-demo-prior', '--channels', '32', '--layers', '6', '--steps', '500', '--batch', '64', '--eval-every', '0');
  prior.push('--prior', 'runs/web-demo-prior');
} else {
  console.log('this build has no `vqvae prior`: the demo model goes without a prior');
}
run('export', '--model', 'runs/web-demo', ...prior, '--out', 'web/public/demo-model', '--examples', '256');
