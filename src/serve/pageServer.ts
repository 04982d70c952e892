/**
 * The static server behind `vqvae serve`: the built page (dist/web) at `/`,
 * and a model directory at `/model/` (config.json, weights.safetensors,
 * examples.safetensors; its prior, if any, at `/model/prior/`). Only those
 * file names are served from the model and prior directories, and nothing
 * outside dist/web, so the server shows no other file of the machine. It does
 * no math: the page runs the model in the browser.
 *
 *   const server = await startPageServer({ model: 'runs/mnist', port: 0 });
 *   console.log(server.url); // http://127.0.0.1:40123/
 *   await server.close();
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../errors.js';

/** The built page: dist/web next to dist/src, where `npm run build` puts it. */
export const PAGE_DIR = fileURLToPath(new URL('../../web/', import.meta.url));
/** The demo model the page ships with (web/public/demo-model, copied by the build). */
export const DEMO_MODEL_DIR = join(PAGE_DIR, 'demo-model');

/** Files a model or prior directory may serve. */
export const MODEL_FILES: readonly string[] = ['config.json', 'weights.safetensors', 'examples.safetensors'];

export interface PageServerOptions {
  /** Model directory served at /model/ (default: the demo model). */
  model?: string;
  /** Prior directory served at /model/prior/ (default: the model's prior/ subdirectory, if any). */
  prior?: string;
  /** Address to listen on (default 127.0.0.1: this machine only). */
  host?: string;
  /** Port (default 0: any free one). */
  port?: number;
  /** Directory of the built page (default PAGE_DIR). */
  pageDir?: string;
}

export interface PageServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.safetensors': 'application/octet-stream',
};

function checkDir(dir: string, what: string): string {
  const full = resolve(dir);
  if (!fs.existsSync(full) || !fs.statSync(full).isDirectory()) throw new UserError(`${dir}: ${what} directory not found`);
  return full;
}

/** Starts serving; resolves once listening. */
export async function startPageServer(options: PageServerOptions = {}): Promise<PageServer> {
  const pageDir = resolve(options.pageDir ?? PAGE_DIR);
  if (!fs.existsSync(join(pageDir, 'index.html'))) {
    throw new UserError(`the web page is not built (${join(pageDir, 'index.html')} is missing): run \`npm run build\``);
  }
  const modelDir = checkDir(options.model ?? DEMO_MODEL_DIR, 'model');
  if (!fs.existsSync(join(modelDir, 'config.json'))) throw new UserError(`${options.model ?? modelDir}: no config.json, not a model directory`);
  const priorDir = options.prior !== undefined ? checkDir(options.prior, 'prior') : join(modelDir, 'prior');

  const fileFor = (pathname: string): string | undefined => {
    if (pathname.startsWith('/model/prior/')) {
      const name = pathname.slice('/model/prior/'.length);
      return MODEL_FILES.includes(name) ? join(priorDir, name) : undefined;
    }
    if (pathname.startsWith('/model/')) {
      const name = pathname.slice('/model/'.length);
      return MODEL_FILES.includes(name) ? join(modelDir, name) : undefined;
    }
    const relative = normalize(pathname === '/' ? '/index.html' : pathname);
    const full = join(pageDir, relative);
    return full.startsWith(pageDir + sep) ? full : undefined;
  };

  const server = http.createServer((request, response) => {
    let pathname: string;
    try {
      pathname = decodeURIComponent(new URL(request.url ?? '/', 'http://localhost').pathname);
    } catch {
      response.writeHead(400).end('bad request');
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end('method not allowed');
      return;
    }
    const file = fileFor(pathname);
    fs.stat(file ?? '', (error, stat) => {
      if (!file || error || !stat.isFile()) {
        response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end(`not found: ${pathname}`);
        return;
      }
      response.writeHead(200, {
        'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
        'content-length': stat.size,
        'cache-control': 'no-cache',
      });
      if (request.method === 'HEAD') response.end();
      else fs.createReadStream(file).pipe(response);
    });
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'EADDRINUSE' ? new UserError(`port ${options.port} on ${host} is already in use; pick another with --port`) : error),
    );
    server.listen(options.port ?? 0, host, () => resolveListen());
  });
  const port = (server.address() as AddressInfo).port;
  const shown = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  return {
    url: `http://${shown}:${port}/`,
    port,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}
