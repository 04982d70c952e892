/**
 * Causality of the Gated PixelCNN, by perturbing inputs: the logits at a
 * position must not change when any code at or after it (raster order)
 * changes, and must change when any code inside its receptive field changes.
 * The receptive field is worked out here independently from the layer
 * shapes: with L gated layers and half = k//2, position (y, x) sees
 *   the same row, columns x - half*L .. x-1 (horizontal stack), and
 *   rows y - half*L .. y-1, columns x - half*L .. x + half*L (vertical stack),
 * so the test checks exact dependence sets: mask A alone (layers 0), mask B
 * layers on top of it, the vertical → horizontal link (cells above and to
 * the right), and that there is no blind spot. A bottom-level prior
 * conditioned on a top grid keeps exactly the same dependence on the bottom
 * codes, whatever the top grid, and its logits at every position move with
 * the top code above that position; at the default depth on the grids of
 * 32x32 images (bottom 8x8, top 4x4) the last bottom position depends on
 * every top code.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../src/backend/select.js';
import { makePriorConfig, type PriorConfig } from '../../src/prior/config.js';
import { PixelCnn } from '../../src/prior/pixelcnn.js';
import { mulberry32 } from '../../src/random.js';

before(async () => {
  await selectBackend('auto');
});

function expectedField(config: PriorConfig, y: number, x: number): Set<number> {
  const reach = Math.floor(config.kernelSize / 2) * (config.layers + 1);
  const field = new Set<number>();
  for (let yy = 0; yy < config.height; yy++) {
    for (let xx = 0; xx < config.width; xx++) {
      const sameRow = yy === y && xx < x && xx >= x - reach;
      const above = yy < y && yy >= y - reach && Math.abs(xx - x) <= reach;
      if (sameRow || above) field.add(yy * config.width + xx);
    }
  }
  return field;
}

/**
 * For every position p, the set of positions q whose code, changed alone,
 * changes the logits at p at all. One forward pass over the base grid and
 * every single-position perturbation of it. Outside the receptive field the
 * logits are computed from identical inputs and must match exactly; inside
 * it, a change of one code moves them by 1e-3 or so (random weights, 8
 * channels), far from float32 rounding.
 */
function measuredFields(prior: PixelCnn, seed: number, label?: number, topGrid?: Int32Array): { fields: Set<number>[]; maxOutside: number[] } {
  const { height: h, width: w, codebookSize: K } = prior.config;
  const cells = h * w;
  const rng = mulberry32(seed);
  const base = Int32Array.from({ length: cells }, () => Math.floor(rng() * K));
  const grids = new Int32Array((cells + 1) * cells);
  grids.set(base, 0);
  for (let q = 0; q < cells; q++) {
    const changed = base.slice();
    changed[q] = (base[q]! + 1 + Math.floor(rng() * (K - 1))) % K; // always a different code
    grids.set(changed, (q + 1) * cells);
  }
  const logits = tf.tidy(() => {
    const codes = tf.tensor3d(grids, [cells + 1, h, w], 'int32');
    const labels = label === undefined ? undefined : tf.fill([cells + 1], label, 'int32') as tf.Tensor1D;
    const { topHeight: ht, topWidth: wt } = prior.config;
    const top = topGrid && tf.tensor3d(Int32Array.from({ length: (cells + 1) * ht * wt }, (_, i) => topGrid[i % (ht * wt)]!), [cells + 1, ht, wt], 'int32');
    return prior.logits(codes, labels, top).dataSync();
  });
  const fields: Set<number>[] = [];
  const maxOutside: number[] = [];
  for (let p = 0; p < cells; p++) {
    const field = new Set<number>();
    const diffs: number[] = [];
    for (let q = 0; q < cells; q++) {
      let diff = 0;
      for (let k = 0; k < K; k++) diff = Math.max(diff, Math.abs(logits[((q + 1) * cells + p) * K + k]! - logits[p * K + k]!));
      diffs.push(diff);
      if (diff > 0) field.add(q);
    }
    fields.push(field);
    maxOutside.push(Math.max(...diffs.filter((_, q) => q >= p)));
  }
  return { fields, maxOutside };
}

const cases: { name: string; config: Partial<PriorConfig> }[] = [
  { name: 'mask A layer alone (layers 0, kernel 3)', config: { layers: 0 } },
  { name: 'mask A + one mask B layer (kernel 3)', config: { layers: 1 } },
  { name: 'mask A + two mask B layers, class-conditional (kernel 3)', config: { layers: 2, numClasses: 3 } },
  { name: 'mask A + one mask B layer (kernel 5)', config: { layers: 1, kernelSize: 5 } },
  { name: 'mask A + two mask B layers, conditioned on a 3x4 top grid (kernel 3)', config: { layers: 2, topCodebookSize: 5, topHeight: 3, topWidth: 4 } },
  { name: 'mask A + one mask B layer, conditioned on a top grid and a class (kernel 5)', config: { layers: 1, kernelSize: 5, numClasses: 3, topCodebookSize: 4, topHeight: 3, topWidth: 4 } },
];

/** A random top grid for a prior conditioned on one; undefined otherwise. */
function randomTop(config: PriorConfig, seed: number): Int32Array | undefined {
  if (config.topCodebookSize === 0) return undefined;
  const rng = mulberry32(seed);
  return Int32Array.from({ length: config.topHeight * config.topWidth }, () => Math.floor(rng() * config.topCodebookSize));
}

/** A random top grid `base` and, after it in `tops`, one copy per top cell with that cell's code changed: [(cells + 1) * cells]. */
function perturbedTops(config: PriorConfig, seed: number): { base: Int32Array; tops: Int32Array } {
  const cells = config.topHeight * config.topWidth;
  const base = randomTop(config, seed)!;
  const tops = new Int32Array((cells + 1) * cells);
  tops.set(base, 0);
  for (let t = 0; t < cells; t++) {
    const changed = base.slice();
    changed[t] = (base[t]! + 1) % config.topCodebookSize;
    tops.set(changed, (t + 1) * cells);
  }
  return { base, tops };
}

describe('PixelCnn causality', () => {
  for (const { name, config: overrides } of cases) {
    it(`${name}: logits depend exactly on the positions of the receptive field before them`, () => {
      const config = makePriorConfig({ codebookSize: 6, height: 6, width: 7, channels: 8, ...overrides });
      const prior = new PixelCnn(config, 11);
      // With a top grid: the same sets whatever the top codes are (two random grids).
      for (const topSeed of config.topCodebookSize > 0 ? [1, 2] : [0]) {
        const { fields, maxOutside } = measuredFields(prior, 5, config.numClasses > 0 ? 2 : undefined, randomTop(config, topSeed));
        for (let p = 0; p < config.height * config.width; p++) {
          const y = Math.floor(p / config.width);
          const x = p % config.width;
          // Nothing at or after p, not even a rounding difference.
          assert.ok(maxOutside[p]! === 0, `position (${y}, ${x}): logits moved by ${maxOutside[p]} when a code at or after it changed`);
          assert.deepEqual([...fields[p]!].sort((a, b) => a - b), [...expectedField(config, y, x)].sort((a, b) => a - b), `dependence set of (${y}, ${x})`);
        }
      }
      prior.dispose();
    });
  }

  it('the full default depth sees every earlier position of a 7x7 grid (no blind spot)', () => {
    // 16 channels: with 8, this seed starts with every ReLU of the head off (logits = the last bias).
    const config = makePriorConfig({ codebookSize: 5, height: 7, width: 7, channels: 16 });
    const prior = new PixelCnn(config, 3);
    const { fields } = measuredFields(prior, 9);
    for (let p = 0; p < 49; p++) {
      assert.deepEqual([...fields[p]!].sort((a, b) => a - b), Array.from({ length: p }, (_, q) => q), `position ${p}`);
    }
    prior.dispose();
  });

  it('logitsOfRows on the first r rows, and logitsOfRow of row r-1 with its rowContext, match the full logits (what sampling relies on)', () => {
    const config = makePriorConfig({ codebookSize: 6, height: 5, width: 4, channels: 8, layers: 2, numClasses: 2 });
    const prior = new PixelCnn(config, 8);
    const grids = Int32Array.from({ length: 3 * 20 }, (_, i) => (i * 7 + 3) % 6);
    const labels = tf.tensor1d([0, 1, 1], 'int32');
    const full = prior.logits(tf.tensor3d(grids, [3, 5, 4], 'int32'), labels).arraySync() as number[][][][];
    for (let r = 1; r <= 5; r++) {
      const rows = Int32Array.from({ length: 3 * r * 4 }, (_, i) => grids[Math.floor(i / (r * 4)) * 20 + (i % (r * 4))]!);
      const part = prior.logitsOfRows(tf.tensor3d(rows, [3, r, 4], 'int32'), labels).arraySync() as number[][][][];
      for (let n = 0; n < 3; n++) {
        for (let y = 0; y < r; y++) {
          const diff = Math.max(...part[n]![y]!.flatMap((v, x) => v.map((value, k) => Math.abs(value - full[n]![y]![x]![k]!))));
          assert.ok(diff < 1e-5, `rows ${r}, grid ${n}, row ${y}: ${diff}`);
        }
      }
      // Sampling's fast path: the vertical context of row r-1, then that row alone through the horizontal stack.
      const context = prior.rowContext(tf.tensor3d(rows, [3, r, 4], 'int32'), labels);
      const lastRow = Int32Array.from({ length: 12 }, (_, i) => grids[Math.floor(i / 4) * 20 + (r - 1) * 4 + (i % 4)]!);
      const row = prior.logitsOfRow(tf.tensor3d(lastRow, [3, 1, 4], 'int32'), context, labels).arraySync() as number[][][][];
      for (let n = 0; n < 3; n++) {
        const diff = Math.max(...row[n]![0]!.flatMap((v, x) => v.map((value, k) => Math.abs(value - full[n]![r - 1]![x]![k]!))));
        assert.ok(diff < 1e-5, `logitsOfRow, row ${r - 1}, grid ${n}: ${diff}`);
      }
      tf.dispose(context);
    }
    labels.dispose();
    prior.dispose();
  });

  it('the class changes the logits everywhere, even at the first position', () => {
    const config = makePriorConfig({ codebookSize: 5, height: 3, width: 3, channels: 8, layers: 1, numClasses: 2 });
    const prior = new PixelCnn(config, 1);
    const codes = tf.zeros([2, 3, 3], 'int32') as tf.Tensor3D;
    const labels = tf.tensor1d([0, 1], 'int32');
    const logits = prior.logits(codes, labels).arraySync() as number[][][][];
    for (let y = 0; y < 3; y++) {
      for (let x = 0; x < 3; x++) {
        const diff = Math.max(...logits[0]![y]![x]!.map((v, k) => Math.abs(v - logits[1]![y]![x]![k]!)));
        assert.ok(diff > 1e-4, `(${y}, ${x}) does not depend on the class`);
      }
    }
    tf.dispose([codes, labels]);
    prior.dispose();
  });

  it('a bottom-level prior: the logits at every position, the first included, move with the top code above it (nearest upsampling)', () => {
    const config = makePriorConfig({ codebookSize: 5, height: 7, width: 6, channels: 8, layers: 1, topCodebookSize: 4, topHeight: 4, topWidth: 3 });
    const prior = new PixelCnn(config, 2);
    const { height: h, width: w, topHeight: ht, topWidth: wt } = config;
    const cells = ht * wt;
    const { tops } = perturbedTops(config, 3);
    const bottom = Int32Array.from({ length: (cells + 1) * h * w }, (_, i) => (i % (h * w)) % 5);
    const logits = prior.logits(tf.tensor3d(bottom, [cells + 1, h, w], 'int32'), undefined, tf.tensor3d(tops, [cells + 1, ht, wt], 'int32')).dataSync();
    const K = config.codebookSize;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        // The top cell whose area holds (y, x): rows and columns scaled by ht / h, wt / w.
        const t = Math.floor((y * ht) / h) * wt + Math.floor((x * wt) / w);
        const p = y * w + x;
        let diff = 0;
        for (let k = 0; k < K; k++) diff = Math.max(diff, Math.abs(logits[((t + 1) * h * w + p) * K + k]! - logits[p * K + k]!));
        assert.ok(diff > 1e-5, `(${y}, ${x}) does not depend on top code ${t}: ${diff}`);
      }
    }
    assert.throws(() => prior.logits(tf.zeros([1, h, w], 'int32') as tf.Tensor3D), /top codes \[batch, 4, 3\] are required/);
    assert.throws(() => prior.logits(tf.zeros([1, h, w], 'int32') as tf.Tensor3D, undefined, tf.zeros([1, 3, 3], 'int32') as tf.Tensor3D), /top codes must be int32 \[1, 4, 3\]/);
    prior.dispose();
  });

  it('a bottom-level prior of the default depth: every top code moves the logits of the last bottom position, no bottom code at or after it does', () => {
    // The grids of 32x32 images: bottom 8x8, top 4x4 (model/hierarchical.ts); 8 gated layers after the first.
    const config = makePriorConfig({ codebookSize: 5, height: 8, width: 8, channels: 16, topCodebookSize: 4, topHeight: 4, topWidth: 4 });
    const prior = new PixelCnn(config, 4);
    const { height: h, width: w, topHeight: ht, topWidth: wt, codebookSize: K } = config;
    const cells = ht * wt;
    const { base, tops } = perturbedTops(config, 6);
    const rng = mulberry32(2);
    const grid = Int32Array.from({ length: h * w }, () => Math.floor(rng() * K));
    const bottom = Int32Array.from({ length: (cells + 1) * h * w }, (_, i) => grid[i % (h * w)]!);
    const logits = tf.tidy(() => prior.logits(tf.tensor3d(bottom, [cells + 1, h, w], 'int32'), undefined, tf.tensor3d(tops, [cells + 1, ht, wt], 'int32')).dataSync());
    const last = h * w - 1;
    for (let t = 0; t < cells; t++) {
      let diff = 0;
      for (let k = 0; k < K; k++) diff = Math.max(diff, Math.abs(logits[((t + 1) * h * w + last) * K + k]! - logits[last * K + k]!));
      // Structural dependence: outside a receptive field the inputs are identical and the logits match exactly (see measuredFields); through
      // nine layers of random weights the effect of a far top code is small, so any change at all counts.
      assert.ok(diff > 0, `the last bottom position does not depend on top code ${t}`);
    }
    // And still no bottom code at or after a position moves its logits (the exact fields are checked above on smaller grids).
    const { maxOutside } = measuredFields(prior, 5, undefined, base);
    for (let p = 0; p < h * w; p++) assert.equal(maxOutside[p], 0, `position ${p}: moved with a bottom code at or after it`);
    prior.dispose();
  });

  it('with a top grid, logitsOfRow of row r-1 with its rowContext matches the full logits (what bottom sampling relies on)', () => {
    const config = makePriorConfig({ codebookSize: 6, height: 4, width: 4, channels: 8, layers: 2, topCodebookSize: 3, topHeight: 2, topWidth: 2 });
    const prior = new PixelCnn(config, 8);
    const grids = Int32Array.from({ length: 2 * 16 }, (_, i) => (i * 5 + 1) % 6);
    const top = tf.tensor3d([0, 1, 2, 1, 2, 2, 0, 1], [2, 2, 2], 'int32');
    const full = prior.logits(tf.tensor3d(grids, [2, 4, 4], 'int32'), undefined, top).arraySync() as number[][][][];
    for (let r = 1; r <= 4; r++) {
      const rows = Int32Array.from({ length: 2 * r * 4 }, (_, i) => grids[Math.floor(i / (r * 4)) * 16 + (i % (r * 4))]!);
      const context = prior.rowContext(tf.tensor3d(rows, [2, r, 4], 'int32'), undefined, top);
      const lastRow = Int32Array.from({ length: 8 }, (_, i) => grids[Math.floor(i / 4) * 16 + (r - 1) * 4 + (i % 4)]!);
      const row = prior.logitsOfRow(tf.tensor3d(lastRow, [2, 1, 4], 'int32'), context).arraySync() as number[][][][];
      for (let n = 0; n < 2; n++) {
        const diff = Math.max(...row[n]![0]!.flatMap((v, x) => v.map((value, k) => Math.abs(value - full[n]![r - 1]![x]![k]!))));
        assert.ok(diff < 1e-5, `logitsOfRow, row ${r - 1}, grid ${n}: ${diff}`);
      }
      tf.dispose(context);
    }
    top.dispose();
    prior.dispose();
  });
});
