import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { Adam } from '../../src/train/adam.js';

describe('Adam', () => {
  before(async () => {
    await tf.setBackend('cpu');
  });

  it('follows the update rule over two steps, computed by hand in float64', () => {
    const p = tf.variable(tf.tensor1d([1, -2, 0.5]));
    const adam = new Adam({ learningRate: 0.1 });
    const g1 = [0.5, -1, 2];
    const g2 = [0.1, 0.3, -0.2];
    let value = [1, -2, 0.5];
    const m = [0, 0, 0];
    const v = [0, 0, 0];
    [g1, g2].forEach((g, t) => {
      adam.apply({ p }, { p: tf.tensor1d(g) });
      value = value.map((x, i) => {
        m[i] = 0.9 * m[i]! + 0.1 * g[i]!;
        v[i] = 0.999 * v[i]! + 0.001 * g[i]! ** 2;
        const mHat = m[i]! / (1 - 0.9 ** (t + 1));
        const vHat = v[i]! / (1 - 0.999 ** (t + 1));
        return x - (0.1 * mHat) / (Math.sqrt(vHat) + 1e-8);
      });
      Array.from(p.dataSync()).forEach((x, i) => assert.ok(Math.abs(x - value[i]!) < 1e-6, `step ${t + 1}, p[${i}]: ${x} vs ${value[i]}`));
    });
    assert.equal(adam.step, 2);
  });

  it('restores its moments so that a reloaded optimizer takes the same next step', () => {
    const run = (reload: boolean) => {
      const p = tf.variable(tf.tensor1d([1, 2]));
      let adam = new Adam({ learningRate: 0.01 });
      adam.apply({ p }, { p: tf.tensor1d([0.3, -0.7]) });
      if (reload) {
        const saved = Object.fromEntries(
          Object.entries(adam.state()).map(([k, t]) => [k, { shape: t.shape, data: Float32Array.from(t.dataSync()) }]),
        );
        assert.deepEqual(Object.keys(saved), ['adam.m.p', 'adam.v.p']);
        adam = new Adam({ learningRate: 0.01 });
        adam.load(saved, 1);
      }
      adam.apply({ p }, { p: tf.tensor1d([0.2, 0.1]) });
      return Array.from(p.dataSync());
    };
    assert.deepEqual(run(true), run(false));
  });

  it('follows the formula with other betas and epsilon over 6 steps on a matrix, and leaves a parameter without gradient alone', () => {
    const [b1, b2, eps, lr] = [0.8, 0.99, 1e-3, 0.05];
    const start = [[0.3, -1.2], [2, 0.01]];
    const p = tf.variable(tf.tensor2d(start));
    const idle = tf.variable(tf.tensor1d([4, 5]));
    const adam = new Adam({ learningRate: lr, beta1: b1, beta2: b2, epsilon: eps });
    const value = start.flat();
    const m = value.map(() => 0);
    const v = value.map(() => 0);
    for (let t = 1; t <= 6; t++) {
      const g = value.map((x, i) => Math.sin(3 * t + i) * (1 + x * x));
      adam.apply({ p, idle }, { p: tf.tensor2d(g, [2, 2]) });
      for (let i = 0; i < value.length; i++) {
        m[i] = b1 * m[i]! + (1 - b1) * g[i]!;
        v[i] = b2 * v[i]! + (1 - b2) * g[i]! ** 2;
        value[i] = value[i]! - (lr * (m[i]! / (1 - b1 ** t))) / (Math.sqrt(v[i]! / (1 - b2 ** t)) + eps);
      }
      Array.from(p.dataSync()).forEach((x, i) => assert.ok(Math.abs(x - value[i]!) < 1e-5, `step ${t}, p[${i}]: ${x} vs ${value[i]}`));
    }
    assert.deepEqual(Array.from(idle.dataSync()), [4, 5]);
    assert.deepEqual(Object.keys(adam.state()), ['adam.m.p', 'adam.v.p']);
  });
});
