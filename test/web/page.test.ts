/// <reference lib="dom" />
/**
 * The page in headless Chromium (Debian's `chromium`, driven by
 * playwright-core): loaded from the page server with the bundled demo model
 * and a random prior, a stroke drawn with the mouse, a code changed, the
 * codebook and a sample checked against the library run here in Node.
 * Screenshots go to test-output/web/. Prints the backend the page picked and
 * the time from the first stroke to its reconstruction (not asserted: speed
 * belongs in benchmarks).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import type { Browser, Page } from 'playwright-core';
import { selectBackend } from '../../src/backend/select.js';
import { loadDataset } from '../../src/data/load.js';
import { encodeImageGrid } from '../../src/io/pngGrid.js';
import { readSafetensorsFile } from '../../src/io/safetensorsFile.js';
import { loadModel, type LoadedModel } from '../../src/model/checkpoint.js';
import { outputToPixels, pixelsToInput } from '../../src/model/vqvae.js';
import { DEMO_MODEL_DIR, startPageServer, type PageServer } from '../../src/serve/pageServer.js';
import { canvasPixels, launchChromium, screenshotDir, tempDir, writeRandomModel, writeRandomPrior } from './helpers.js';

const root = tempDir();
const shots = screenshotDir();
let server: PageServer;
let browser: Browser;
let page: Page;
let demo: LoadedModel;
const errors: string[] = [];

const body = (key: string): Promise<string | undefined> => page.evaluate((k) => document.body.dataset[k], key);
const codesShown = async (): Promise<number[]> => (await body('codes'))!.split(',').map(Number);

/** The reconstruction canvas read back at the centre of each image pixel: grey bytes [H*W]. */
const reconPixels = (id = 'recon'): Promise<number[]> => canvasPixels(page, id);

/** Decodes code grids with the library in Node: grey bytes. */
function decodeHere(codes: number[]): number[] {
  const indices = tf.tensor3d(codes, [1, 7, 7], 'int32');
  const out = demo.vqvae.decodeIndices(indices);
  const pixels = Array.from(outputToPixels(out));
  tf.dispose([indices, out]);
  return pixels;
}

function assertClose(actual: number[], expected: number[], tolerance: number, what: string): void {
  assert.equal(actual.length, expected.length);
  const worst = Math.max(...actual.map((v, i) => Math.abs(v - expected[i]!)));
  assert.ok(worst <= tolerance, `${what}: off by up to ${worst} (tolerance ${tolerance})`);
}

/** A screenshot of `selector` with the code grid drawn, which the pixel checks leave off. */
async function screenshotWithGrid(selector: string, file: string): Promise<void> {
  await page.click('#show-grid');
  await page.locator(selector).screenshot({ path: path.join(shots, file) });
  await page.click('#show-grid');
}

/** Waits until the page has stopped reconstructing (the counter holds still for 300 ms). */
async function settled(): Promise<void> {
  let last = await body('reconstructions');
  for (;;) {
    await page.waitForTimeout(300);
    const now = await body('reconstructions');
    if (now === last) return;
    last = now;
  }
}

before(async () => {
  await selectBackend('cpu');
  assert.ok(fs.existsSync(path.join(DEMO_MODEL_DIR, 'config.json')), `no demo model at ${DEMO_MODEL_DIR}: run npm run build`);
  demo = loadModel(DEMO_MODEL_DIR);
  const prior = path.join(root, 'prior');
  writeRandomPrior(prior, { codebookSize: demo.model.codebookSize, height: 7, width: 7, numClasses: 10 });
  server = await startPageServer({ model: DEMO_MODEL_DIR, prior, port: 0 });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
  page.on('pageerror', (e) => errors.push(e.message));
});

after(async () => {
  await browser?.close();
  await server?.close();
  demo?.vqvae.dispose();
});

describe('the page in headless Chromium', () => {
  let empty: number[];
  let drawn: number[];

  it('loads the demo model and shows the reconstruction of the empty canvas', async () => {
    await page.goto(server.url);
    await page.waitForFunction(() => document.body.dataset.status === 'ready' && Number(document.body.dataset.reconstructions) >= 1, null, { timeout: 60_000 });
    await settled();
    console.log(`# page backend in headless Chromium: ${await body('backend')}`);
    assert.match(await page.locator('#status').innerText(), new RegExp(`codebook of ${demo.model.codebookSize}`));
    await page.click('#show-grid'); // off: the picture without labels, to compare pixels
    empty = await reconPixels();
    const blank = decodeHere(Array.from(await encodeHere(new Uint8Array(784))));
    assertClose(empty, blank, 3, 'reconstruction of the empty canvas vs the library');
  });

  it('a stroke drawn with the mouse is reconstructed, with the codes the library computes for it', async () => {
    const box = (await page.locator('#draw').boundingBox())!;
    await page.mouse.move(box.x + 150, box.y + 50);
    await page.mouse.down();
    for (let i = 1; i <= 12; i++) await page.mouse.move(box.x + 150 - i * 2, box.y + 50 + i * 16);
    await page.mouse.up();
    await page.waitForFunction(() => document.body.dataset.firstReconstructionMs !== undefined);
    console.log(`# first reconstruction after the first stroke: ${await body('firstReconstructionMs')} ms`);
    await settled();
    drawn = await reconPixels();
    const differing = drawn.filter((v, i) => Math.abs(v - empty[i]!) > 30).length;
    assert.ok(differing >= 20, `the reconstruction should change where the stroke is: ${differing} pixels differ`);
    const input = await page.evaluate(() => {
      const c = document.getElementById('input-preview') as HTMLCanvasElement;
      return Array.from(c.getContext('2d')!.getImageData(0, 0, 28, 28).data.filter((_, i) => i % 4 === 0));
    });
    assert.ok(input.filter((v) => v > 128).length >= 15, 'the stroke reaches the 28x28 input');
    const codes = await codesShown();
    assert.deepEqual(codes, Array.from(await encodeHere(Uint8Array.from(input))));
    await screenshotWithGrid('main', 'drawn.png');
  });

  it('changing a cell\'s code shows the decoding of the edited grid', async () => {
    await page.waitForFunction(() => document.body.dataset.codebook === 'ready', null, { timeout: 60_000 });
    const before = await codesShown();
    const box = (await page.locator('#recon').boundingBox())!;
    await page.mouse.click(box.x + box.width * (3.5 / 7), box.y + box.height * (3.5 / 7)); // cell 24 (row 3, column 3)
    const k = demo.model.codebookSize;
    const code = (before[24]! + k / 2) % k;
    await page.click(`#tiles figure[data-code="${code}"]`);
    await page.waitForFunction(() => document.body.dataset.edits === '1');
    const after = await codesShown();
    assert.deepEqual(after, before.map((c, i) => (i === 24 ? code : c)));
    const edited = await reconPixels();
    assertClose(edited, decodeHere(after), 3, 'edited output vs the library decoding the edited grid');
    assert.notDeepEqual(edited, drawn);
    await screenshotWithGrid('main', 'edited.png');
  });

  it('the codebook shows usage on the example batch and each code decoded alone', async () => {
    const examples = readSafetensorsFile(path.join(DEMO_MODEL_DIR, 'examples.safetensors')).tensors.images!;
    const n = examples.shape[0]!;
    const codes = await encodeHere(examples.data as Uint8Array, n);
    const counts = new Map<number, number>();
    for (const c of codes) counts.set(c, (counts.get(c) ?? 0) + 1);
    let entropy = 0;
    for (const c of counts.values()) entropy -= (c / codes.length) * Math.log(c / codes.length);
    const caption = await page.locator('#usage-caption').innerText();
    assert.match(caption, new RegExp(`on ${n} example images \\(${codes.length} cells\\): ${counts.size} of ${demo.model.codebookSize} codes used, perplexity ${Math.exp(entropy).toFixed(1)}`));
    assert.equal(await page.locator('#tiles figure').count(), demo.model.codebookSize);
    const last = demo.model.codebookSize - 1;
    for (const code of [0, last]) {
      const tile = await page.evaluate((k) => {
        const c = document.querySelector(`#tiles figure[data-code="${k}"] canvas`) as HTMLCanvasElement;
        return Array.from(c.getContext('2d')!.getImageData(0, 0, 28, 28).data.filter((_, i) => i % 4 === 0));
      }, code);
      assertClose(tile, decodeHere(new Array(49).fill(code)), 3, `tile of code ${code}`);
    }
    await page.locator('#codebook-panel').screenshot({ path: path.join(shots, 'codebook.png') });
  });

  it('samples a grid from the prior, drawing it cell by cell in raster order', async () => {
    assert.equal(await page.locator('#sample-panel').isVisible(), true);
    assert.equal(await page.locator('#sample-class option').count(), 10);
    await page.selectOption('#sample-class', '3');
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { filled: string[] }).filled = seen;
      new MutationObserver(() => {
        const v = document.body.dataset.sampleFilled;
        if (v !== undefined && v !== seen.at(-1)) seen.push(v);
      }).observe(document.body, { attributes: true, attributeFilter: ['data-sample-filled'] });
    });
    await page.click('#sample');
    await page.waitForFunction(() => document.body.dataset.samples === '1', null, { timeout: 60_000 });
    const filled = await page.evaluate(() => (window as unknown as { filled: string[] }).filled.map(Number));
    assert.deepEqual(filled, Array.from({ length: 49 }, (_, i) => i + 1));
    const codes = (await body('sampleCodes'))!.split(',').map(Number);
    assert.equal(codes.length, 49);
    assert.ok(codes.every((c) => Number.isInteger(c) && c >= 0 && c < demo.model.codebookSize));
    await page.locator('#sample-panel').screenshot({ path: path.join(shots, 'sample.png') });
  });

  it('an image file (dark ink on white) is inverted, fitted to the model\'s size and reconstructed', async () => {
    const test = await loadDataset('mnist', { split: 'test', limit: 1 });
    const digit = test.images.subarray(0, 784);
    const inverted = digit.map((v) => 255 - v);
    const file = path.join(root, 'digit.png');
    fs.writeFileSync(file, encodeImageGrid(inverted, 1, 28, 28, 1, { padding: 0, upscale: 4 }));
    const before = Number(await body('reconstructions'));
    await page.setInputFiles('#image-file', file);
    await page.waitForFunction((n) => Number(document.body.dataset.reconstructions) > n, before);
    await settled();
    const input = await page.evaluate(() => {
      const c = document.getElementById('input-preview') as HTMLCanvasElement;
      return Array.from(c.getContext('2d')!.getImageData(0, 0, 28, 28).data.filter((_, i) => i % 4 === 0));
    });
    const meanError = input.reduce((sum, v, i) => sum + Math.abs(v - digit[i]!), 0) / 784;
    assert.ok(meanError < 8, `the model sees the digit itself, light on dark: mean error ${meanError.toFixed(1)} grey levels`);
    assert.deepEqual(await codesShown(), Array.from(await encodeHere(Uint8Array.from(input))));
  });

  it('files that are not a model, or a model of another configuration, give a readable message and keep the model', async () => {
    const shown = await reconPixels();
    const message = page.locator('#message');
    const pick = async (files: { name: string; buffer: Buffer }[]): Promise<string> => {
      await page.setInputFiles('#model-files', files.map((f) => ({ ...f, mimeType: 'application/octet-stream' })));
      await message.waitFor({ state: 'visible' });
      const text = await message.innerText();
      assert.deepEqual(await reconPixels(), shown, 'the canvas keeps the model that was there');
      return text;
    };
    const small = path.join(root, 'small');
    writeRandomModel(small);
    const weights = fs.readFileSync(path.join(small, 'weights.safetensors'));
    assert.match(await pick([{ name: 'config.json', buffer: Buffer.from('this is not json') }, { name: 'weights.safetensors', buffer: weights }]), /^config\.json: not valid JSON/);
    assert.match(await pick([{ name: 'photo.png', buffer: Buffer.from([0x89, 0x50, 0x4e, 0x47]) }]), /^pick a model's config\.json and weights\.safetensors, or its folder; found photo\.png$/);
    const other = path.join(root, 'other');
    writeRandomModel(other, { hidden: 32, resHidden: 8, codebookSize: 16, codeDim: 8 }, 5);
    const config = JSON.parse(fs.readFileSync(path.join(small, 'config.json'), 'utf8')) as Record<string, unknown>;
    delete config.checkpoint_id; // as from another tool: only the shapes can tell
    assert.match(
      await pick([{ name: 'config.json', buffer: Buffer.from(JSON.stringify(config)) }, { name: 'weights.safetensors', buffer: fs.readFileSync(path.join(other, 'weights.safetensors')) }]),
      /^weights\.safetensors does not match the model config: .*has shape \[.*\], expected \[/,
    );
    assert.equal(await body('status'), 'ready');
    await page.locator('header').screenshot({ path: path.join(shots, 'bad-model.png') });

    // A good pair still loads after the errors, and the message goes.
    await page.setInputFiles('#model-files', [path.join(small, 'config.json'), path.join(small, 'weights.safetensors')]);
    await message.waitFor({ state: 'hidden' });
    await page.waitForFunction(() => /codebook of 16 /.test(document.getElementById('status')!.textContent ?? ''));
    assert.deepEqual(errors, [], 'no uncaught errors in the page');
  });
});

async function encodeHere(pixels: Uint8Array, n = 1): Promise<Int32Array> {
  const x = pixelsToInput(pixels, n, 28, 28, 1);
  const codes = demo.vqvae.encodeIndices(x);
  const values = Int32Array.from(await codes.data());
  tf.dispose([x, codes]);
  return values;
}
