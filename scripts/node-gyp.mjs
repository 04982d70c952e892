/**
 * Where npm's node-gyp is, for the addon build scripts (build-native.mjs,
 * build-mpi.mjs): npm sets npm_config_node_gyp for scripts it runs; outside
 * npm, the copies Node's and Debian's npm install.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

export function findNodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    '/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js',
    '/usr/share/nodejs/node-gyp/bin/node-gyp.js',
  ];
  return candidates.find((c) => c !== undefined && existsSync(c));
}
