/**
 * Trains the reference VQ-VAE (src/model/config.ts: hidden 128, residual hidden 32,
 * 2 blocks, K 512, D 64, batch 128, Adam lr 2e-4) on Fashion-MNIST here and
 * in the PyTorch reference (bench/torch_parity_train.py, Debian's
 * python3-torch) from the same initial weights (PyTorch's, through the
 * importer) on the same batches in the same order, then prints both test MSE
 * and perplexity side by side. Target: ours no worse than PyTorch's + 5%.
 *
 *   node dist/bench/parityTrain.js [--steps 300] [--ema] [--eval-limit 10000]
 *     [--backend auto] [--threads 1] [--seed 0] [--work DIR] [--json]
 *
 * PyTorch trains in a child process at the same time as this one (each on
 * one thread by default), so run it on an otherwise quiet machine, or
 * with `nice`. The batch order is the trainer's own (BatchSampler with
 * --seed), written to DIR/order.npy for Python; both sides report the pixel
 * sums of the first and last batch, which must agree. Also prints the
 * largest VQ loss of each run and its step, to compare early spikes.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { selectBackend, type BackendChoice } from '../src/backend/select.js';
import { loadDataset } from '../src/data/load.js';
import { readNpyFile, writeNpyFile } from '../src/io/npyFile.js';
import { makeModelConfig } from '../src/model/config.js';
import { loadPytorchModel } from '../src/model/pytorch.js';
import { Adam } from '../src/train/adam.js';
import { BatchSampler, pixelVariance } from '../src/train/batches.js';
import { evaluate } from '../src/train/evaluate.js';
import { train } from '../src/train/trainer.js';

const { values: flags } = parseArgs({
  options: {
    steps: { type: 'string', default: '300' },
    ema: { type: 'boolean', default: false },
    'eval-limit': { type: 'string', default: '10000' },
    backend: { type: 'string', default: 'auto' },
    threads: { type: 'string', default: '1' },
    seed: { type: 'string', default: '0' },
    lr: { type: 'string', default: '2e-4' },
    work: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
const steps = Number(flags.steps);
const batch = 128;
const seed = Number(flags.seed);
const lr = Number(flags.lr);
const evalLimit = Number(flags['eval-limit']);
const work = flags.work ?? fs.mkdtempSync(path.join(os.tmpdir(), 'vqvae-parity-'));
fs.mkdirSync(work, { recursive: true });
const PYTHON = '/usr/bin/python3';
const SCRIPT = path.join(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'bench', 'torch_parity_train.py');
const log = (line: string) => process.stderr.write(`${line}\n`);

function python(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [SCRIPT, ...args, ...(flags.ema ? ['--ema'] : [])], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${SCRIPT} exited with ${code}`))));
  });
}

const backend = await selectBackend(flags.backend as BackendChoice);
log(`backend: ${backend.reason}; work dir ${work}`);
const data = await loadDataset('fashion-mnist', { split: 'train' });
const testData = await loadDataset('fashion-mnist', { split: 'test', limit: evalLimit });

// The trainer's batch order, for Python.
const sampler = new BatchSampler(data, batch, seed);
const order = new Int32Array(steps * batch);
for (let s = 0; s < steps; s++) order.set(sampler.indicesAt(s), s * batch);
const orderFile = path.join(work, 'order.npy');
writeNpyFile(orderFile, order, [steps, batch]);
const pixelSum = (s: number) => {
  const size = 28 * 28;
  let sum = 0;
  for (const i of sampler.indicesAt(s)) for (let p = 0; p < size; p++) sum += data.images[i * size + p]!;
  return sum;
};
const checksums = [pixelSum(0), pixelSum(steps - 1)];

const initFile = path.join(work, 'init.safetensors');
await python(['--init', initFile, '--write-init', '--seed', String(seed)]);
const torchLossesFile = path.join(work, 'torch-losses.npy');
const torchRun = python(['--init', initFile, '--order', orderFile, '--lr', String(lr), '--threads', flags.threads!, '--eval-limit', String(evalLimit), '--losses', torchLossesFile]);
torchRun.catch(() => undefined);

const config = makeModelConfig({ quantizer: flags.ema ? 'ema' : 'vq' });
const model = loadPytorchModel(initFile, config);
const vqLosses: number[] = [];
const started = performance.now();
const result = await train({
  model,
  optimizer: new Adam({ learningRate: lr }),
  data,
  batch,
  totalSteps: steps,
  seed,
  dataVariance: pixelVariance(data),
  onStep(info) {
    vqLosses.push(info.vqLoss);
    if (info.step % 25 === 0) log(`ours: step ${info.step}/${steps}, loss ${info.loss.toFixed(4)}, vq ${info.vqLoss.toFixed(4)}, ${info.imagesPerSecond.toFixed(1)} images/s`);
  },
});
const seconds = (performance.now() - started) / 1000;
const ours = evaluate(model, testData);
log('ours: done; waiting for PyTorch');
const theirs = JSON.parse((await torchRun).trim().split('\n').at(-1)!) as {
  mse: number; perplexity: number; codes_used: number; final_loss: number; seconds: number; batch_checksums: number[]; torch: string;
};
if (theirs.batch_checksums.join(',') !== checksums.join(',')) {
  throw new Error(`the two sides read different images: pixel sums ${checksums.join(',')} here, ${theirs.batch_checksums.join(',')} in PyTorch`);
}
const lossTable = readNpyFile(torchLossesFile); // [steps, 3]: loss, recon_loss, vq_loss
const torchLosses = Array.from({ length: steps }, (_, s) => Number(lossTable.data[s * 3 + 2]));

const peak = (xs: number[]) => xs.reduce((best, v, i) => (v > best.value ? { value: v, step: i + 1 } : best), { value: -Infinity, step: 0 });
const [ourPeak, torchPeak] = [peak(vqLosses), peak(torchLosses)];
const row = (name: string, a: string, b: string, ratio = '') => `${name.padEnd(22)}${a.padStart(16)}${b.padStart(16)}${ratio.padStart(10)}`;
console.log(`Fashion-MNIST, reference config, ${config.quantizer}, ${steps} steps of batch ${batch}, lr ${lr}; test: ${ours.images} images`);
console.log(row('', `ours (${backend.name})`, `pytorch ${theirs.torch.split('a')[0]}`, 'ours/pt'));
console.log(row('test mse', ours.mse.toFixed(5), theirs.mse.toFixed(5), (ours.mse / theirs.mse).toFixed(3)));
console.log(row('test perplexity', ours.perplexity.toFixed(1), theirs.perplexity.toFixed(1), (ours.perplexity / theirs.perplexity).toFixed(3)));
console.log(row('codes used', String(ours.codesUsed), String(theirs.codes_used)));
console.log(row('final loss', result.finalLoss.toFixed(4), theirs.final_loss.toFixed(4)));
console.log(row('peak vq loss (step)', `${ourPeak.value.toFixed(3)} (${ourPeak.step})`, `${torchPeak.value.toFixed(3)} (${torchPeak.step})`));
console.log(row('training seconds', seconds.toFixed(0), theirs.seconds.toFixed(0)));
console.log(`target (mse <= pytorch + 5%): ${ours.mse <= theirs.mse * 1.05 ? 'met' : 'NOT met'}`);
if (flags.json) {
  console.log(JSON.stringify({
    steps, quantizer: config.quantizer, backend: backend.name,
    ours: { mse: ours.mse, perplexity: ours.perplexity, codes_used: ours.codesUsed, final_loss: result.finalLoss, peak_vq_loss: ourPeak, vq_losses: vqLosses },
    pytorch: { mse: theirs.mse, perplexity: theirs.perplexity, codes_used: theirs.codes_used, final_loss: theirs.final_loss, peak_vq_loss: torchPeak, vq_losses: torchLosses },
    mse_ratio: ours.mse / theirs.mse,
  }));
}

