/**
 * The native backend end to end: Adam's fused native update against the
 * tfjs-op path on cpu; a short VQ-VAE training run (VQ and EMA quantizers)
 * from the same seed on native and on cpu ending at the same loss (within
 * 1e-3 relative) with the same codes; and the primitive cache: a second
 * training step creates no oneDNN primitive.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { tf } from '../../src/engine.js';
import type { CodeIndices } from '../../src/quantize/types.js';
import { makeModelConfig, type ModelConfig } from '../../src/model/config.js';
import { VqVae } from '../../src/model/vqvae.js';
import { Adam } from '../../src/train/adam.js';
import { nativeAdamUpdate } from '../../src/backend/native/adam.js';
import { assertClose, matchesCpu, nativeOrFail, seededValues, TOLERANCE, type Backend } from './helpers.js';

const SMALL = { hidden: 16, resHidden: 8, resBlocks: 1, codebookSize: 32, codeDim: 8 };
const BATCH = 4;

function images(batch: number, seed: number): tf.Tensor4D {
  return tf.tensor4d(seededValues(batch * 28 * 28, seed).map((v) => v / 2), [batch, 28, 28, 1]);
}

/** `steps` training steps; the loss of each, and the last step's codes. */
async function train(backend: Backend, config: ModelConfig, steps: number, onStep?: (step: number) => void) {
  assert.equal(await tf.setBackend(backend), true);
  const model = new VqVae(config, 3);
  const optimizer = new Adam({ learningRate: 2e-3 });
  const params = model.trainable();
  const names = new Map(Object.entries(params).map(([name, v]) => [v.name, name]));
  const losses: number[] = [];
  let codes: number[] = [];
  for (let step = 0; step < steps; step++) {
    const x = images(BATCH, 100 + step);
    let kept: { encoded: tf.Tensor4D; indices: CodeIndices } | undefined;
    const { value, grads } = tf.variableGrads(() => {
      const out = model.forward(x);
      kept = { encoded: tf.keep(out.encoded), indices: tf.keep(out.indices) };
      return tf.add(tf.mean(tf.squaredDifference(out.reconstruction, x)), out.loss) as tf.Scalar;
    }, Object.values(params));
    losses.push(value.dataSync()[0]!);
    codes = Array.from(kept!.indices.dataSync());
    optimizer.apply(params, Object.fromEntries(Object.entries(grads).map(([k, g]) => [names.get(k)!, g])));
    model.quantizer.update(kept!.encoded, kept!.indices);
    tf.dispose([x, value, kept!.encoded, kept!.indices, ...Object.values(grads)]);
    onStep?.(step);
  }
  model.dispose();
  optimizer.dispose();
  return { losses, codes };
}

const addon = nativeOrFail();
if (addon !== undefined) {
  describe('native backend, end to end', () => {
    it('runs Adam as one native call per variable, matching the tfjs-op path on cpu', async () => {
      const run = async (backend: Backend) => {
        assert.equal(await tf.setBackend(backend), true);
        const p = { w: tf.variable(tf.tensor(seededValues(300, 1), [10, 30])), b: tf.variable(tf.tensor(seededValues(7, 2))) };
        const adam = new Adam({ learningRate: 0.01 });
        for (let step = 0; step < 4; step++) {
          const grads = { w: tf.tensor(seededValues(300, 10 + step), [10, 30]), b: tf.tensor(seededValues(7, 20 + step)) };
          adam.apply(p, grads);
          tf.dispose(Object.values(grads));
        }
        const out = [p.w, p.b, ...Object.values(adam.state())].map((t) => ({ shape: t.shape, values: t.dataSync().slice() }));
        tf.dispose(Object.values(p));
        adam.dispose();
        return out;
      };
      const native = await run('native');
      const cpu = await run('cpu');
      native.forEach((n, i) => assertClose(n, cpu[i]!, TOLERANCE, `adam output ${i}`));
      // The fused path is the one taken on native, and only there.
      for (const [backend, expected] of [['native', true], ['cpu', false]] as const) {
        assert.equal(await tf.setBackend(backend), true);
        const [p, m, v] = [0, 1, 2].map(() => tf.variable(tf.zeros([3])));
        const g = tf.ones([3]);
        const step = { learningRate: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, correction1: 0.1, correction2: 0.001 };
        assert.equal(nativeAdamUpdate(p!, m!, v!, g, step), expected);
        if (expected) {
          // m = 0.1 g = 0.1, v = 0.001 g^2 = 0.001, p = -(0.1 / 0.1) * 0.1 / (sqrt(0.001 / 0.001) + 1e-8)
          assertClose({ shape: [3], values: p!.dataSync() }, { shape: [3], values: [-0.1, -0.1, -0.1] }, 1e-5, 'p');
          assertClose({ shape: [3], values: m!.dataSync() }, { shape: [3], values: [0.1, 0.1, 0.1] }, 1e-6, 'm');
        }
        tf.dispose([p!, m!, v!, g]);
      }
    });

    for (const quantizer of ['vq', 'ema'] as const) {
      it(`trains a small VQ-VAE (${quantizer}) to the same loss and codes as cpu`, async () => {
        const config = makeModelConfig({ ...SMALL, quantizer });
        const native = await train('native', config, 3);
        const cpu = await train('cpu', config, 3);
        const last = native.losses.length - 1;
        const relative = Math.abs(native.losses[last]! - cpu.losses[last]!) / Math.abs(cpu.losses[last]!);
        assert.ok(relative <= 1e-3, `final loss native ${native.losses[last]} vs cpu ${cpu.losses[last]}: ${relative}`);
        assert.ok(native.losses[last]! < native.losses[0]!, `the loss should fall: ${native.losses.join(', ')}`);
        assert.deepEqual(native.codes, cpu.codes);
      });
    }

    it('creates no oneDNN primitive after the first training step', async () => {
      const counts: number[] = [];
      await train('native', makeModelConfig({ ...SMALL, hidden: 24 }), 3, () => counts.push(addon.primitivesCreated()));
      assert.ok(counts[0]! > 0);
      assert.equal(counts[1], counts[0]);
      assert.equal(counts[2], counts[0]);
    });

    it('matches cpu on the model\'s forward pass at the reference sizes (batch 2)', async () => {
      await matchesCpu('reference forward', () => {
        const model = new VqVae(makeModelConfig({}), 5);
        const out = model.forward(images(2, 9));
        const result = [out.reconstruction, out.loss, out.indices];
        model.dispose();
        return result;
      });
    });
  });
}
