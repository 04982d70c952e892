/// <reference lib="dom" />
/**
 * The page's reconstruction time on each tfjs backend headless Chromium
 * offers, side by side in one run: the page is loaded once per backend
 * (`?backend=NAME`) with the bundled demo model, a stroke is drawn, then the
 * canvas is cleared N times, each clear one reconstruction (encode, decode,
 * draw). Prints the time from the first stroke to its reconstruction, the
 * median reconstruction, and the ratio of medians to the first backend.
 *
 *   npm run build && node dist/bench/webBackends.js [--backends wasm,webgl,cpu] [--repeats 20]
 *
 * Needs Debian's chromium (or CHROMIUM_PATH).
 */
import { parseArgs } from 'node:util';
import { chromium, type Page } from 'playwright-core';
import { startPageServer } from '../src/serve/pageServer.js';
import { chromiumPath } from '../test/web/helpers.js';

const { values } = parseArgs({
  options: { backends: { type: 'string', default: 'wasm,webgl,cpu' }, repeats: { type: 'string', default: '20' } },
});
const repeats = Number(values.repeats);

const data = (page: Page, key: string): Promise<string | undefined> => page.evaluate((k) => document.body.dataset[k], key);

async function measure(page: Page, url: string, backend: string): Promise<{ backend: string; loadMs: number; firstMs: number; medianMs: number }> {
  const t0 = Date.now();
  await page.goto(`${url}?backend=${backend}`);
  await page.waitForFunction(() => Number(document.body.dataset.reconstructions) >= 1, null, { timeout: 300_000 });
  const loadMs = Date.now() - t0;
  const actual = await data(page, 'backend');
  if (actual !== backend) throw new Error(`asked for ${backend}, the page runs ${actual}`);
  const box = (await page.locator('#draw').boundingBox())!;
  await page.mouse.move(box.x + 150, box.y + 50);
  await page.mouse.down();
  for (let i = 1; i <= 12; i++) await page.mouse.move(box.x + 150 - i * 2, box.y + 50 + i * 16);
  await page.mouse.up();
  await page.waitForFunction(() => document.body.dataset.firstReconstructionMs !== undefined, null, { timeout: 300_000 });
  const firstMs = Number(await data(page, 'firstReconstructionMs'));
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const before = Number(await data(page, 'reconstructions'));
    await page.click('#clear');
    await page.waitForFunction((n) => Number(document.body.dataset.reconstructions) > n, before, { timeout: 300_000 });
    times.push(Number(await data(page, 'lastReconstructionMs')));
  }
  times.sort((a, b) => a - b);
  return { backend, loadMs, firstMs, medianMs: times[Math.floor(times.length / 2)]! };
}

const server = await startPageServer({ port: 0 });
const browser = await chromium.launch({ executablePath: chromiumPath(), headless: true });
try {
  const results = [];
  for (const backend of values.backends.split(',')) {
    const page = await browser.newPage();
    results.push(await measure(page, server.url, backend));
    await page.close();
  }
  console.log(`demo model, ${repeats} reconstructions per backend, headless ${browser.version()}`);
  console.log('backend  page load ms  first reconstruction ms  median reconstruction ms  ratio');
  for (const r of results) {
    console.log(
      `${r.backend.padEnd(8)} ${String(r.loadMs).padStart(12)} ${r.firstMs.toFixed(1).padStart(24)} ${r.medianMs.toFixed(1).padStart(25)}  ${(r.medianMs / results[0]!.medianMs).toFixed(2)}`,
    );
  }
} finally {
  await browser.close();
  await server.close();
}
