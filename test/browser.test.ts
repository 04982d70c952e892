/**
 * The browser entry (src/browser.ts, package.json `exports` condition
 * "browser") bundles for the browser: esbuild, platform browser, with every
 * Node built-in refused. The Node entry (src/index.ts) must not, which shows
 * that the check catches a Node import.
 */
import assert from 'node:assert/strict';
import { builtinModules } from 'node:module';
import { sep } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

const NODE_BUILTINS = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));

/**
 * Records every `node:` import the bundle reaches, and every Node built-in
 * this project's own files import, and fails the build on it. (Third-party
 * code such as tfjs's wasm loader names `fs` behind a runtime check for Node;
 * esbuild resolves those through the packages' `browser` fields as a browser
 * bundler does, and fails if one is not mapped.)
 */
function refuseNodeBuiltins(reached: string[]): Plugin {
  return {
    name: 'refuse-node-builtins',
    setup(b) {
      b.onResolve({ filter: /.*/ }, (args) => {
        const ours = !args.importer.includes(`${sep}node_modules${sep}`);
        if (!args.path.startsWith('node:') && !(ours && NODE_BUILTINS.has(args.path))) return undefined;
        reached.push(`${args.path} (from ${args.importer})`);
        return { errors: [{ text: `Node built-in ${args.path} imported by ${args.importer}` }] };
      });
    },
  };
}

async function bundleForBrowser(entry: string): Promise<{ ok: boolean; reached: string[]; bytes: number; error?: string }> {
  const reached: string[] = [];
  try {
    const result = await build({
      entryPoints: [fileURLToPath(new URL(`../src/${entry}`, import.meta.url))],
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'browser',
      logLevel: 'silent',
      plugins: [refuseNodeBuiltins(reached)],
    });
    return { ok: true, reached, bytes: result.outputFiles.reduce((n, f) => n + f.contents.length, 0) };
  } catch (error) {
    return { ok: false, reached, bytes: 0, error: String(error) };
  }
}

describe('browser entry', () => {
  it('builds for the browser and reaches no Node built-in', async () => {
    const result = await bundleForBrowser('browser.js');
    assert.deepEqual(result.reached, []);
    assert.ok(result.ok, `esbuild failed on the browser entry: ${result.error}`);
    assert.ok(result.bytes > 100_000, `a bundle with tfjs-core in it, got ${result.bytes} bytes`);
  });

  it('the Node entry does not: it reaches node: modules', async () => {
    const result = await bundleForBrowser('index.js');
    assert.equal(result.ok, false);
    assert.ok(result.reached.some((name) => name.startsWith('node:fs')), `expected node:fs among ${result.reached.join(', ')}`);
  });
});
