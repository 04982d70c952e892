/**
 * A whole VQ-VAE training step (vqvaeGraph.ts) on wasm against cpu: the
 * loss, the chosen codes, every parameter's gradient, the loss after an Adam
 * step, and the EMA/metric bookkeeping ops (oneHot, unsortedSegmentSum, sum
 * over axes, log, exp, sqrt, mean). If any kernel the step needs were
 * missing on wasm, tfjs would throw here.
 *
 * Small widths (hidden 16) on 28x28 images keep cpu's slow filter gradient
 * (about 7 MFLOP/s) to a second; the reference widths run on wasm alone.
 *
 * Gradient tolerance 1e-4 of each parameter's largest gradient: they pass
 * through ~14 layers forward and back, each rounding in its own order on
 * the two backends (observed: at most 1.5e-6), and a wrong kernel errs by
 * order 1. Codes must match exactly: the seeded data has no near ties.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { tf } from '../../src/engine.js';
import { assertClose, seededValues, useBackend } from './helpers.js';
import { emaStatistics, makeParams, REFERENCE_SIZES, trainStep, vqvaeLoss } from './vqvaeGraph.js';
import type { GraphSizes } from './vqvaeGraph.js';

const SMALL: GraphSizes = { channels: 1, hidden: 16, resHidden: 8, codeDim: 8, codebookSize: 16 };
const BATCH = 4;
const GRADIENT_TOLERANCE = 1e-4;

function images(batch: number, seed: number): tf.Tensor4D {
  return tf.tensor4d(seededValues(batch * 28 * 28, seed).map((v) => (v + 1) / 2), [batch, 28, 28, 1]);
}

interface StepResult {
  loss: number;
  indices: number[];
  grads: Map<string, { shape: number[]; values: Float32Array }>;
  lossAfterAdam: number;
}

async function stepOn(backend: 'cpu' | 'wasm'): Promise<StepResult> {
  await useBackend(backend);
  const params = makeParams(SMALL, 1);
  const x = images(BATCH, 2);
  let indices: number[] = [];
  const { value, grads } = tf.variableGrads(() => {
    const out = vqvaeLoss(params, x, SMALL);
    indices = Array.from(out.indices.dataSync());
    return out.loss;
  }, Object.values(params));
  const byName = new Map<string, { shape: number[]; values: Float32Array }>();
  for (const [name, v] of Object.entries(params)) {
    const g = grads[v.name];
    assert.ok(g !== undefined, `no gradient for ${name}`);
    byName.set(name, { shape: g.shape, values: g.dataSync() as Float32Array });
  }
  const loss = value.dataSync()[0]!;
  const optimizer = tf.train.adam(1e-3);
  optimizer.applyGradients(Object.entries(grads).map(([name, tensor]) => ({ name, tensor })));
  tf.dispose([value, ...Object.values(grads)]);
  const after = tf.tidy(() => {
    const out = vqvaeLoss(params, x, SMALL);
    out.indices.dispose();
    return out.loss.dataSync()[0]!;
  });
  optimizer.dispose();
  tf.dispose([x, ...Object.values(params)]);
  return { loss, indices, grads: byName, lossAfterAdam: after };
}

describe('VQ-VAE training step on wasm', () => {
  it('gives the same loss, codes, gradients and Adam step as cpu', async () => {
    const cpu = await stepOn('cpu');
    const wasm = await stepOn('wasm');
    assert.ok(Math.abs(wasm.loss - cpu.loss) <= 1e-5 * Math.abs(cpu.loss), `loss ${wasm.loss} vs ${cpu.loss}`);
    assert.deepEqual(wasm.indices, cpu.indices);
    assert.ok(new Set(cpu.indices).size > 1, 'the test should use more than one code');
    for (const [name, expected] of cpu.grads) {
      assertClose(wasm.grads.get(name)!, expected, GRADIENT_TOLERANCE, `gradient of ${name}`);
    }
    assert.ok(cpu.lossAfterAdam < cpu.loss, 'Adam should lower the loss on cpu');
    assert.ok(
      Math.abs(wasm.lossAfterAdam - cpu.lossAfterAdam) <= 1e-4 * Math.abs(cpu.lossAfterAdam),
      `loss after Adam ${wasm.lossAfterAdam} vs ${cpu.lossAfterAdam}`,
    );
  });

  it('computes the EMA bookkeeping like cpu', async () => {
    const flat = seededValues(300 * 8, 3);
    const ids = Int32Array.from(seededValues(300, 4), (v) => Math.floor(((v + 1) / 2) * 16));
    const results: { shape: number[]; values: Float32Array | Int32Array }[][] = [];
    for (const backend of ['cpu', 'wasm'] as const) {
      await useBackend(backend);
      const out = emaStatistics(tf.tensor2d(flat, [300, 8]), tf.tensor1d(ids, 'int32'), 16);
      results.push(out.map((t) => ({ shape: t.shape, values: t.dataSync() as Float32Array | Int32Array })));
      tf.dispose(out);
    }
    const [cpu, wasm] = results as [typeof results[0], typeof results[0]];
    const names = ['counts', 'sums', 'countsBySegment', 'means', 'perplexity', 'rms'];
    names.forEach((name, i) => assertClose(wasm[i]!, cpu[i]!, 1e-5, name));
    assert.deepEqual(Array.from(wasm[0]!.values), Array.from(wasm[2]!.values), 'oneHot counts = segment counts');
  });

  it('trains the reference widths on wasm: three Adam steps lower the loss', async () => {
    await useBackend('wasm');
    const params = makeParams(REFERENCE_SIZES, 3);
    const x = images(2, 5);
    const optimizer = tf.train.adam(2e-4);
    const before = tf.memory().numTensors;
    const losses = [0, 1, 2, 3].map(() => trainStep(params, x, REFERENCE_SIZES, optimizer));
    // Adam's moments (two per parameter) are the only new tensors.
    assert.equal(tf.memory().numTensors - before, 2 * Object.keys(params).length);
    assert.ok(losses[3]! < losses[0]!, `losses ${losses.join(', ')}`);
    optimizer.dispose();
    tf.dispose([x, ...Object.values(params)]);
  });
});
