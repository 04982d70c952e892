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
});
