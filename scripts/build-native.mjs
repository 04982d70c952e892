/**
 * Builds the native backend's addon (native/) with node-gyp, as the
 * package's `install` script, so `npm ci` builds it. It never fails the
 * install: when oneDNN's headers (Debian libdnnl-dev) are missing or the
 * build fails, it prints one warning line, writes the reason to
 * native/build/status.txt (the backend's loader reports it) and exits 0;
 * the project then runs on the wasm backend.
 *
 *   node scripts/build-native.mjs [--verbose]
 *
 * node-gyp is npm's own copy (npm sets npm_config_node_gyp for scripts it
 * runs); --nodedir=/usr uses Debian's Node headers, so nothing is downloaded.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findNodeGyp } from './node-gyp.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const native = join(root, 'native');
const statusFile = join(native, 'build', 'status.txt');
const verbose = process.argv.includes('--verbose');

function finish(reason) {
  mkdirSync(dirname(statusFile), { recursive: true });
  writeFileSync(statusFile, reason === undefined ? 'built\n' : `${reason}\n`);
  if (reason !== undefined) {
    console.warn(`warning: native backend not built (${reason}); the wasm backend will be used`);
  }
  process.exit(0);
}

const headers = ['/usr/include/oneapi/dnnl/dnnl.hpp', '/usr/local/include/oneapi/dnnl/dnnl.hpp'];
if (!headers.some((h) => existsSync(h))) finish('libdnnl-dev not installed: apt-get install libdnnl-dev');

const nodeGyp = findNodeGyp();
if (nodeGyp === undefined) finish('node-gyp not found (it comes with npm)');

const args = [nodeGyp, 'rebuild', '-j', 'max'];
// Debian's nodejs ships its headers under /usr/include/node; pointing
// node-gyp there keeps it from downloading them.
if (existsSync('/usr/include/node/node_api.h')) args.push('--nodedir=/usr');
const result = spawnSync(process.execPath, args, { cwd: native, encoding: 'utf8', stdio: verbose ? 'inherit' : 'pipe' });
if (result.status !== 0) {
  const output = `${result.stdout ?? ''}\n${result.stderr ?? ''}`;
  if (!verbose) {
    mkdirSync(join(native, 'build'), { recursive: true });
    writeFileSync(join(native, 'build', 'build.log'), output);
  }
  const firstError = output.split('\n').find((line) => /error/i.test(line) && !/gyp ERR!/.test(line));
  finish(`build failed: ${(firstError ?? `node-gyp exited with ${result.status}`).trim()}; see native/build/build.log`);
}
finish(undefined);
