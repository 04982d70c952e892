/**
 * The page server (`vqvae serve`): the built page and the model's own files,
 * byte for byte, and nothing else of the machine; loopback by default; the
 * command prints the address and stops cleanly on Ctrl-C.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { selectBackend } from '../../src/backend/select.js';
import { PAGE_DIR, startPageServer, type PageServer } from '../../src/serve/pageServer.js';
import { MAIN_JS } from '../e2e/helpers.js';
import { isOneLineUserError } from '../shared/assertions.js';
import { literal, tempDir, writeRandomModel, writeRandomPrior } from '../web/helpers.js';

const root = tempDir();
const model = path.join(root, 'model');
const prior = path.join(root, 'prior');
let server: PageServer;

/** A raw GET (fetch would normalise `..` away before sending). */
function get(url: string, rawPath: string, method = 'GET'): Promise<{ status: number; type: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(url);
    const request = http.request({ hostname, port, path: rawPath, method }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (c: Buffer) => chunks.push(c));
      response.on('end', () => resolve({ status: response.statusCode!, type: String(response.headers['content-type']), body: Buffer.concat(chunks) }));
    });
    request.on('error', reject);
    request.end();
  });
}

before(async () => {
  await selectBackend('cpu');
  writeRandomModel(model);
  writeRandomPrior(prior, { codebookSize: 16, height: 7, width: 7 });
  server = await startPageServer({ model, prior, port: 0 });
});
after(() => server.close());

describe('page server', () => {
  it('listens on 127.0.0.1 by default', () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  });

  it('serves the built page and its assets', async () => {
    const page = await get(server.url, '/');
    assert.equal(page.status, 200);
    assert.match(page.type, /^text\/html/);
    assert.deepEqual(page.body, fs.readFileSync(path.join(PAGE_DIR, 'index.html')));
    const script = /src="\.\/(assets\/[^"]+\.js)"/.exec(page.body.toString())?.[1];
    assert.ok(script, 'index.html names its script');
    const js = await get(server.url, `/${script}`);
    assert.equal(js.status, 200);
    assert.match(js.type, /^text\/javascript/);
  });

  it('serves the model and the prior byte for byte', async () => {
    for (const [url, file] of [
      ['/model/config.json', path.join(model, 'config.json')],
      ['/model/weights.safetensors', path.join(model, 'weights.safetensors')],
      ['/model/prior/config.json', path.join(prior, 'config.json')],
      ['/model/prior/weights.safetensors', path.join(prior, 'weights.safetensors')],
    ] as const) {
      const response = await get(server.url, url);
      assert.equal(response.status, 200, url);
      assert.deepEqual(response.body, fs.readFileSync(file), url);
    }
    assert.equal((await get(server.url, '/model/examples.safetensors')).status, 404, 'this model has no examples');
  });

  it('serves nothing else: other names in the model directory, paths climbing out, other methods', async () => {
    fs.writeFileSync(path.join(model, 'secret.txt'), 'no');
    for (const p of ['/model/secret.txt', '/model/../../package.json', '/../package.json', '/%2e%2e/%2e%2e/package.json', '/assets/../../src/index.js', '/model/prior/../secret.txt']) {
      assert.equal((await get(server.url, p)).status, 404, p);
    }
    assert.equal((await get(server.url, '/', 'POST')).status, 405);
  });

  it('a missing model directory is a one-line error naming it', async () => {
    await assert.rejects(startPageServer({ model: path.join(root, 'nope'), port: 0 }), (e) =>
      isOneLineUserError(e, [literal(`${path.join(root, 'nope')}: model directory not found`)]),
    );
  });
});

describe('vqvae serve', () => {
  it('prints the address, serves the model there, and exits 0 on Ctrl-C', async () => {
    const child = spawn(process.execPath, [MAIN_JS, 'serve', '--model', model, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        const match = /at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(stdout);
        if (match) resolve(match[1]!);
      });
      child.on('exit', (code) => reject(new Error(`serve exited ${code} before printing an address: ${stdout}`)));
    });
    const config = await get(url, '/model/config.json');
    assert.deepEqual(config.body, fs.readFileSync(path.join(model, 'config.json')));
    const code = await new Promise<number | null>((resolve) => {
      child.removeAllListeners('exit');
      child.on('exit', (c) => resolve(c));
      child.kill('SIGINT');
    });
    assert.equal(code, 0, stdout);
  });
});
