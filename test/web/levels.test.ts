/// <reference lib="dom" />
/**
 * The page with every kind of image model `vqvae train` makes, exported
 * with `vqvae export` (those whose codes get edited trained a few steps, the
 * others with seeded random weights): the quantizers other than the
 * demo's (VQ with a cosine lookup in fewer dimensions, SimVQ, FSQ) load and
 * reconstruct as the library does here in Node; a residual VQ model shows one
 * grid per depth and a two-level VQ-VAE-2 model its top and bottom grids,
 * each editable (the decoded image is then the library's decoding of the
 * edited codes), with usage bars per level; a two-level model with other
 * kinds per level (FSQ on top, a cosine VQ in fewer dimensions below) says
 * each level's quantizer and reconstructs as the library does.
 * Screenshots in test-output/web/.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import type { Browser, Page } from 'playwright-core';
import { selectBackend } from '../../src/backend/select.js';
import { loadDataset } from '../../src/data/load.js';
import { loadModel } from '../../src/model/checkpoint.js';
import { HierarchicalVqVae, type TopLevelConfig } from '../../src/model/hierarchical.js';
import { loadHierarchicalModel, saveHierarchicalModel } from '../../src/model/hierarchicalFile.js';
import { outputToPixels, pixelsToInput } from '../../src/model/vqvae.js';
import { startPageServer, type PageServer } from '../../src/serve/pageServer.js';
import { assertOk, trainTiny, vqvae } from '../e2e/helpers.js';
import { makeModelConfig, type ModelConfig } from '../../src/model/config.js';
import { canvasPixels, launchChromium, screenshotDir, SMALL, tempDir, writeRandomModel } from './helpers.js';

const root = tempDir();
const shots = screenshotDir();
const EXAMPLES = 16;
let browser: Browser;
let page: Page;
const servers: PageServer[] = [];
const errors: string[] = [];

/** Per level, one grid [h * w] of codes, as Node computes them. */
type Levels = number[][];

/** Models with seeded random weights (only loaded and reconstructed). */
const RANDOM: Record<'cosine' | 'simvq' | 'fsq', Partial<ModelConfig>> = {
  cosine: { ...SMALL, quantizer: 'vq', lookupDim: 4, cosine: true },
  simvq: { ...SMALL, quantizer: 'simvq' },
  fsq: { ...SMALL, quantizer: 'fsq', levels: [4, 4] }, // K = 16
};
/** Models trained a few steps (their codes get edited): `vqvae train` flags after TINY. */
const MODELS = {
  rvq: ['--quantizer', 'rvq', '--depth', '3'],
  vqvae2: ['--levels', '2', '--top-codebook-size', '16', '--quantizer', 'vq'], // vq: the codebooks learn at --lr too
  levelRvq: ['--levels', '2', '--top-codebook-size', '16', '--quantizer', 'vq', '--top-quantizer', 'rvq', '--top-depth', '2'],
} as const;
/** A two-level model with seeded random weights and a quantizer kind per level. */
const RANDOM_TWO_LEVEL = {
  model: { ...SMALL, quantizer: 'vq', lookupDim: 4, cosine: true, codebookSize: 32 },
  top: { codebookSize: 16, codeDim: 6, quantizer: 'fsq', levels: [4, 4] },
} as const satisfies { model: Partial<ModelConfig>; top: TopLevelConfig };
type Name = keyof typeof MODELS | keyof typeof RANDOM | 'levelKinds';

/** The exported model of each name, with Node's encode and decode of it. */
interface Model {
  url: string;
  encode(pixels: Uint8Array): Levels;
  decode(levels: Levels): number[];
  dispose(): void;
}
const models = new Map<Name, Model>();

function oneLevel(dir: string): Omit<Model, 'url'> {
  const { vqvae: model } = loadModel(dir);
  const [h, w] = model.codeGrid;
  const depth = model.codeDepth;
  return {
    encode: (pixels) => {
      const x = pixelsToInput(pixels, 1, 28, 28, 1);
      const codes = model.encodeIndices(x);
      const flat = Array.from(codes.dataSync());
      tf.dispose([x, codes]);
      // [h, w, depth] raster order: level d is every depth-th value from d.
      return Array.from({ length: depth }, (_, d) => flat.filter((_, i) => i % depth === d));
    },
    decode: (levels) => {
      const flat = new Int32Array(h * w * depth);
      levels.forEach((level, d) => level.forEach((code, cell) => (flat[cell * depth + d] = code)));
      const indices = depth === 1 ? tf.tensor3d(flat, [1, h, w], 'int32') : tf.tensor4d(flat, [1, h, w, depth], 'int32');
      const out = model.decodeIndices(indices);
      const pixels = Array.from(outputToPixels(out));
      tf.dispose([indices, out]);
      return pixels;
    },
    dispose: () => model.dispose(),
  };
}

function twoLevel(dir: string): Omit<Model, 'url'> {
  const { vqvae: model } = loadHierarchicalModel(dir);
  const shapes = model.codeShapes;
  const depth = { top: shapes.top[2] ?? 1, bottom: shapes.bottom[2] ?? 1 };
  // An rvq level [h, w, depth] in raster order is `depth` page levels: level d every depth-th value from d.
  const split = (flat: number[], n: number) => Array.from({ length: n }, (_, d) => flat.filter((_, i) => i % n === d));
  const join = (levels: number[][]) => {
    const flat = new Int32Array(levels[0]!.length * levels.length);
    levels.forEach((level, d) => level.forEach((code, cell) => (flat[cell * levels.length + d] = code)));
    return flat;
  };
  return {
    encode: (pixels) => {
      const x = pixelsToInput(pixels, 1, 28, 28, 1);
      const codes = model.encodeIndices(x);
      const levels = [...split(Array.from(codes.top.dataSync()), depth.top), ...split(Array.from(codes.bottom.dataSync()), depth.bottom)];
      tf.dispose([x, codes.top, codes.bottom]);
      return levels;
    },
    decode: (levels) => {
      const [t, b] = [join(levels.slice(0, depth.top)), join(levels.slice(depth.top))];
      const indices = { top: tf.tensor<tf.Rank>(t, [1, ...shapes.top], 'int32') as tf.Tensor3D, bottom: tf.tensor<tf.Rank>(b, [1, ...shapes.bottom], 'int32') as tf.Tensor3D };
      const out = model.decodeIndices(indices);
      const pixels = Array.from(outputToPixels(out));
      tf.dispose([indices.top, indices.bottom, out]);
      return pixels;
    },
    dispose: () => model.dispose(),
  };
}

const body = (key: string): Promise<string | undefined> => page.evaluate((k) => document.body.dataset[k], key);
const levelCodes = async (): Promise<Levels> => JSON.parse((await body('levelCodes'))!) as Levels;

function maxDiff(a: number[], b: number[]): number {
  assert.equal(a.length, b.length);
  return Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));
}

/** Opens the page on `name`'s model and waits until its codebook is drawn; the code grids' labels off, to compare pixels. */
async function open(name: Name): Promise<Model> {
  const model = models.get(name)!;
  await page.goto(model.url);
  await page.waitForFunction(() => document.body.dataset.status === 'ready' && document.body.dataset.codebook === 'ready', null, { timeout: 60_000 });
  await page.click('#show-grid');
  return model;
}

/**
 * Clicks cell `cell` of level `level`'s grid (`width` x `height` cells),
 * then the tile of the code among `k` whose decoding differs most from the
 * current one in Node; checks the page's codes and image against the library.
 */
async function editCell(model: Model, level: number, cell: number, grid: { height: number; width: number; k: number }): Promise<void> {
  const before = await levelCodes();
  const shownBefore = await canvasPixels(page, 'recon');
  const reference = model.decode(before);
  let best = { code: -1, diff: -1 };
  for (let code = 0; code < grid.k; code++) {
    if (code === before[level]![cell]) continue;
    const edited = before.map((l, i) => (i === level ? l.map((c, j) => (j === cell ? code : c)) : l));
    const diff = maxDiff(model.decode(edited), reference);
    if (diff > best.diff) best = { code, diff };
  }
  assert.ok(best.diff > 8, `some code changes the decoding visibly (the largest change is ${best.diff} grey levels)`);
  const canvas = page.locator(level === 0 ? '#recon' : `#recon-${level}`);
  await canvas.scrollIntoViewIfNeeded(); // picking a tile scrolled down to the codebook
  const box = (await canvas.boundingBox())!;
  const row = Math.floor(cell / grid.width);
  const col = cell % grid.width;
  const edits = Number((await body('edits')) ?? 0);
  await page.mouse.click(box.x + (box.width * (col + 0.5)) / grid.width, box.y + (box.height * (row + 0.5)) / grid.height);
  assert.equal(await body('activeLevel'), String(level), 'clicking a cell shows its level\'s codebook');
  await page.click(`${level === 0 ? '#tiles' : `#tiles-${level}`} figure[data-code="${best.code}"]`);
  await page.waitForFunction((n) => Number(document.body.dataset.edits) === n, edits + 1);
  const after = await levelCodes();
  assert.deepEqual(after, before.map((l, i) => (i === level ? l.map((c, j) => (j === cell ? best.code : c)) : l)));
  const expected = model.decode(after);
  for (let i = 0; i < after.length; i++) {
    const shown = await canvasPixels(page, i === 0 ? 'recon' : `recon-${i}`);
    assert.ok(maxDiff(shown, expected) <= 3, `level ${i}'s canvas shows the library's decoding of the edited codes (off by ${maxDiff(shown, expected)})`);
  }
  assert.ok(maxDiff(await canvasPixels(page, 'recon'), shownBefore) > 3, 'the image on the page changed');
}

before(async () => {
  await selectBackend('cpu');
  for (const name of [...Object.keys(RANDOM), ...Object.keys(MODELS), 'levelKinds'] as Name[]) {
    const trained = path.join(root, name);
    if (name === 'levelKinds') {
      const model = new HierarchicalVqVae({ model: makeModelConfig(RANDOM_TWO_LEVEL.model), top: { ...RANDOM_TWO_LEVEL.top, levels: [...RANDOM_TWO_LEVEL.top.levels] } }, 2);
      saveHierarchicalModel(trained, model);
      model.dispose();
    } else if (name === 'cosine' || name === 'simvq' || name === 'fsq') writeRandomModel(trained, RANDOM[name]);
    else await trainTiny(trained, ...MODELS[name], '--lr', '1e-2'); // a high rate: after 4 steps the codes already shape the image
    const out = path.join(root, `${name}-web`);
    assertOk(await vqvae('export', '--model', trained, '--out', out, '--examples', name === 'vqvae2' ? String(EXAMPLES) : '0'));
    const server = await startPageServer({ model: out, port: 0 });
    servers.push(server);
    models.set(name, { url: server.url, ...(name === 'vqvae2' || name === 'levelKinds' || name === 'levelRvq' ? twoLevel(out) : oneLevel(out)) });
  }
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
  page.on('pageerror', (e) => errors.push(e.message));
});

after(async () => {
  await browser?.close();
  for (const server of servers) await server.close();
  for (const model of models.values()) model.dispose();
});

describe('the page with each kind of image model', () => {
  const blank = new Uint8Array(784);

  for (const name of ['cosine', 'simvq', 'fsq'] as const) {
    it(`a ${name} model loads, says its quantizer and reconstructs as the library does`, async () => {
      const model = await open(name);
      const status = await page.locator('#status').innerText();
      const words = { cosine: /codebook of 16 \(D 8, VQ, lookup dim 4, cosine,/, simvq: /codebook of 16 \(D 8, SIMVQ,/, fsq: /codebook of 16 \(D 8, FSQ levels 4,4,/ }[name];
      assert.match(status, words);
      assert.deepEqual(await levelCodes(), model.encode(blank));
      assert.ok(maxDiff(await canvasPixels(page, 'recon'), model.decode(model.encode(blank))) <= 3, 'the reconstruction is the library\'s');
      assert.equal(await page.locator('#recon-1').count(), 0, 'one code grid');
    });
  }

  it('a residual VQ model shows one grid per depth, and editing a depth changes that level\'s code and the image', async () => {
    const model = await open('rvq');
    assert.match(await page.locator('#status').innerText(), /7×7×3 codes \(one per depth\) from 3 codebooks of 32 \(D 8, RVQ depth 3,/);
    assert.deepEqual(await levelCodes(), model.encode(blank));
    assert.equal(await page.locator('#grids canvas').count(), 3);
    assert.deepEqual(await page.locator('#level-picker button').allInnerTexts(), ['depth 1 codebook (32)', 'depth 2 codebook (32)', 'depth 3 codebook (32)']);
    await editCell(model, 1, 10, { height: 7, width: 7, k: 32 });
    await editCell(model, 2, 30, { height: 7, width: 7, k: 32 });
    await page.click('#show-grid');
    await page.locator('#recon-panel').screenshot({ path: path.join(shots, 'rvq-grids.png') });
    await page.click('#show-grid');
  });

  it('a two-level model with an fsq top and a cosine vq bottom says each level\'s quantizer and reconstructs as the library does, with tiles per level', async () => {
    const model = await open('levelKinds');
    const status = await page.locator('#status').innerText();
    assert.match(status, /two levels.*a top grid of 4×4 codes from a codebook of 16 \(D 6, FSQ levels 4,4\) .*a bottom grid of 7×7 codes from a codebook of 32 \(D 8, VQ, lookup dim 4, cosine,/);
    assert.deepEqual(await levelCodes(), model.encode(blank));
    assert.ok(maxDiff(await canvasPixels(page, 'recon'), model.decode(model.encode(blank))) <= 3, 'the reconstruction is the library\'s');
    assert.equal(await page.locator('#grids canvas').count(), 2);
    // A tile per code of each level: the top's 16 FSQ codes, the bottom's 32 (editing is the same per level: the trained two-level model's test below).
    assert.equal(await page.locator('#tiles figure').count(), 16);
    assert.equal(await page.locator('#tiles-1 figure').count(), 32);
  });

  it('a two-level model with an rvq top level shows one top grid per depth, each editable, and reconstructs as the library does', async () => {
    const model = await open('levelRvq');
    const status = await page.locator('#status').innerText();
    assert.match(status, /two levels.*a top grid of 4×4×2 codes \(one per depth\) from 2 codebooks of 16 \(D 8, RVQ depth 2\) .*a bottom grid of 7×7 codes from a codebook of 32 \(D 8, VQ,/);
    assert.deepEqual(await levelCodes(), model.encode(blank));
    assert.ok(maxDiff(await canvasPixels(page, 'recon'), model.decode(model.encode(blank))) <= 3, 'the reconstruction is the library\'s');
    assert.equal(await page.locator('#grids canvas').count(), 3);
    assert.deepEqual(await page.locator('#level-picker button').allInnerTexts(), ['top depth 1 codebook (16)', 'top depth 2 codebook (16)', 'bottom codebook (32)']);
    await editCell(model, 1, 5, { height: 4, width: 4, k: 16 });
  });

  it('a two-level model shows its top 4x4 and bottom 7x7 grids, each editable, and usage bars per level', async () => {
    const model = await open('vqvae2');
    const status = await page.locator('#status').innerText();
    assert.match(status, /two levels.*a top grid of 4×4 codes from a codebook of 16 .*a bottom grid of 7×7 codes from a codebook of 32/);
    assert.deepEqual(await levelCodes(), model.encode(blank));
    assert.equal(await page.locator('#grids canvas').count(), 2);

    const test = await loadDataset('mnist', { split: 'test', limit: EXAMPLES });
    const perLevel = [new Map<number, number>(), new Map<number, number>()];
    for (let n = 0; n < EXAMPLES; n++) {
      model.encode(test.images.subarray(n * 784, (n + 1) * 784)).forEach((level, i) => {
        for (const c of level) perLevel[i]!.set(c, (perLevel[i]!.get(c) ?? 0) + 1);
      });
    }
    for (const [i, [id, name, k, cells]] of ([['usage-caption', 'Top', 16, 16], ['usage-caption-1', 'Bottom', 32, 49]] as const).entries()) {
      const counts = perLevel[i]!;
      const total = EXAMPLES * cells;
      let entropy = 0;
      for (const c of counts.values()) entropy -= (c / total) * Math.log(c / total);
      const caption = await page.locator(`#${id}`).innerText();
      assert.match(caption, new RegExp(`^${name} codes: code usage on ${EXAMPLES} example images \\(${total} cells\\): ${counts.size} of ${k} codes used, perplexity ${Math.exp(entropy).toFixed(1)}`));
    }
    assert.equal(await page.locator('#tiles figure').count(), 16);
    assert.equal(await page.locator('#tiles-1 figure').count(), 32);

    await editCell(model, 0, 5, { height: 4, width: 4, k: 16 }); // top (row 1, column 1)
    await editCell(model, 1, 24, { height: 7, width: 7, k: 32 }); // bottom (row 3, column 3)
    await page.click('#show-grid');
    await page.locator('main').screenshot({ path: path.join(shots, 'two-level.png') });
    assert.deepEqual(errors, [], 'no uncaught errors in the page');
  });
});
