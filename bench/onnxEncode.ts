/**
 * Encode throughput (images/s, raw uint8 pixels in, int32 code indices out)
 * of this project's default backend beside onnxruntime-node running the
 * exported encoder.onnx, in one run, the engines taking turns round by round.
 *
 *   npm run bench:onnx                       # reference-size random model, batch 256
 *   node dist/bench/onnxEncode.js [--model DIR] [--batch 256] [--rounds 5] [--compare-search] [--profile]

--profile ends with the kernels of one more encode of ours by time (on
native: which are the addon's own and which run inherited cpu code).
 *
 * --compare-search adds this project's backend once more with the
 * nearest-code search on tfjs's ops (matMul, sub, argMin over the [m, k]
 * distances) instead of the backend's fused search (src/backend/fusedNearest.ts).
 *
 * Without --model the model is the reference configuration of src/model/config.ts
 * (hidden 128, residual hidden 32, 2 blocks, K 512, D 64, 28x28x1) with
 * random weights: the speed does not depend on the weights. onnxruntime runs
 * with its default threads (one per core) and with one thread, since the
 * wasm backend is single-threaded in Node. Each engine encodes one batch
 * before timing starts; the figure is the median round.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import * as ort from 'onnxruntime-node';
import { selectBackend } from '../src/backend/select.js';
import { loadModel, saveModel } from '../src/model/checkpoint.js';
import { makeModelConfig } from '../src/model/config.js';
import { pixelsToInput, VqVae } from '../src/model/vqvae.js';
import { exportOnnx } from '../src/export/onnx/export.js';
import { mulberry32 } from '../src/random.js';
import { fusedNearestCodesFor, registerFusedNearestCodes } from '../src/backend/fusedNearest.js';
import { profileKernels, profileTable } from './profile.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    'compare-search': { type: 'boolean', default: false },
    batch: { type: 'string', default: '256' },
    rounds: { type: 'string', default: '5' },
    profile: { type: 'boolean', default: false },
  },
});
const batch = Number(values.batch);
const rounds = Number(values.rounds);

const selected = await selectBackend('auto');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'vqvae-bench-onnx-'));
process.on('exit', () => fs.rmSync(work, { recursive: true, force: true }));
let modelDir = values.model;
if (modelDir === undefined) {
  modelDir = path.join(work, 'model');
  const model = new VqVae(makeModelConfig({}), 0);
  saveModel(modelDir, model);
  model.dispose();
}
const { files } = await exportOnnx({ modelDir, outDir: path.join(work, 'onnx') });
await selectBackend('auto');
const { vqvae, model: config } = loadModel(modelDir);
const { imageHeight: H, imageWidth: W, inputChannels: C } = config;

const rng = mulberry32(1);
const pixels = Uint8Array.from({ length: batch * H * W * C }, () => Math.floor(rng() * 256));

interface Engine {
  name: string;
  encode(): Promise<Int32Array>;
  rates: number[];
  /** CPU ms of the process (every thread) per batch, each round. */
  cpu?: number[];
}

const ours: Engine = {
  name: `vqvae (${selected.name})`,
  rates: [],
  async encode() {
    const x = pixelsToInput(pixels, batch, H, W, C);
    const indices = vqvae.encodeIndices(x);
    const data = indices.dataSync() as Int32Array;
    tf.dispose([x, indices]);
    return data;
  },
};

async function onnxEngine(name: string, options: ort.InferenceSession.SessionOptions): Promise<Engine> {
  const session = await ort.InferenceSession.create(files[0]!, options);
  const feeds = { pixels: new ort.Tensor('uint8', pixels, [batch, H, W, C]) };
  return {
    name,
    rates: [],
    async encode() {
      const { indices } = await session.run(feeds);
      return indices!.data as Int32Array;
    },
  };
}

// The same encoder with the search on tfjs's ops: the fused search unplugged for the call.
const fusedSearch = fusedNearestCodesFor(tf.getBackend());
const opsSearch: Engine = {
  name: `vqvae (${selected.name}, search on tfjs ops)`,
  rates: [],
  async encode() {
    registerFusedNearestCodes(tf.getBackend(), () => undefined);
    try {
      return await ours.encode();
    } finally {
      if (fusedSearch) registerFusedNearestCodes(tf.getBackend(), fusedSearch);
    }
  },
};

const engines = [
  ours,
  ...(values['compare-search'] && fusedSearch ? [opsSearch] : []),
  await onnxEngine(`onnxruntime-node ${ort.env.versions.node} (default threads)`, {}),
  await onnxEngine(`onnxruntime-node ${ort.env.versions.node} (1 thread)`, { intraOpNumThreads: 1, interOpNumThreads: 1 }),
];

const reference = await ours.encode();
for (const engine of engines.slice(1)) {
  const indices = await engine.encode();
  const same = indices.every((v, i) => v === reference[i]);
  console.log(`${engine.name}: ${same ? 'same indices as' : 'INDICES DIFFER from'} ${ours.name}`);
}
for (let round = 0; round < rounds; round++) {
  for (const engine of engines) {
    const start = performance.now();
    const cpuStart = process.cpuUsage();
    await engine.encode();
    engine.rates.push(batch / ((performance.now() - start) / 1000));
    const cpu = process.cpuUsage(cpuStart);
    (engine.cpu ??= []).push((cpu.user + cpu.system) / 1000);
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
// Beside the rate, the CPU time a batch took (all the process's threads):
// on a machine other jobs share, the steadier measure of the work done.
console.log(`encode, ${H}x${W}x${C} -> codes, batch ${batch}, ${rounds} rounds, median images/s and CPU ms per batch (${os.cpus().length} cores):`);
for (const engine of engines) {
  const rate = median(engine.rates);
  const cpu = median(engine.cpu ?? [NaN]);
  console.log(`  ${engine.name.padEnd(42)} ${rate.toFixed(0).padStart(7)} images/s  ${(rate / median(ours.rates)).toFixed(2)}x` +
    `  ${cpu.toFixed(0).padStart(6)} CPU ms  ${(cpu / median(ours.cpu ?? [NaN])).toFixed(2)}x`);
}
if (values.profile) {
  console.log(`kernels of one more encode of ${batch} images by ${ours.name}:`);
  for (const line of profileTable(await profileKernels(() => ours.encode()))) console.log(line);
}
vqvae.dispose();

