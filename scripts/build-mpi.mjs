/**
 * Builds the MPI collectives addon (native/mpi/, for `--distributed` and
 * `mpirun ... vqvae encode`) with node-gyp, after build-native.mjs in the
 * package's `install` script. Like that one it never fails the install: when
 * MPI's compiler wrapper or mpi.h is missing (Debian libopenmpi-dev) or the
 * build fails, it prints one warning line, writes the reason to
 * native/mpi/build/status.txt (src/distributed/mpi.ts reports it when
 * --distributed is asked for) and exits 0; everything else works without it.
 *
 *   node scripts/build-mpi.mjs [--verbose]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findNodeGyp } from './node-gyp.mjs';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'native', 'mpi');
const buildDir = join(dir, 'build');
const verbose = process.argv.includes('--verbose');

function finish(reason) {
  mkdirSync(buildDir, { recursive: true });
  writeFileSync(join(buildDir, 'status.txt'), reason === undefined ? 'built\n' : `${reason}\n`);
  if (reason !== undefined) console.warn(`warning: MPI addon not built (${reason}); --distributed will be unavailable`);
  process.exit(0);
}

const NOT_INSTALLED = 'libopenmpi-dev not installed: apt-get install libopenmpi-dev openmpi-bin';
const showme = spawnSync('mpicxx', ['--showme:incdirs'], { encoding: 'utf8' });
if (showme.error !== undefined || showme.status !== 0) finish(NOT_INSTALLED);
const incdirs = showme.stdout.trim().split(/\s+/).filter((d) => d !== '');
if (!incdirs.some((d) => existsSync(join(d, 'mpi.h')))) finish(NOT_INSTALLED);

const nodeGyp = findNodeGyp();
if (nodeGyp === undefined) finish('node-gyp not found (it comes with npm)');
const args = [nodeGyp, 'rebuild', '-j', 'max'];
if (existsSync('/usr/include/node/node_api.h')) args.push('--nodedir=/usr');
const result = spawnSync(process.execPath, args, { cwd: dir, encoding: 'utf8', stdio: verbose ? 'inherit' : 'pipe' });
if (result.status !== 0) {
  const output = `${result.stdout ?? ''}\n${result.stderr ?? ''}`;
  if (!verbose) {
    mkdirSync(buildDir, { recursive: true });
    writeFileSync(join(buildDir, 'build.log'), output);
  }
  const firstError = output.split('\n').find((line) => /error/i.test(line) && !/gyp ERR!/.test(line));
  finish(`build failed: ${(firstError ?? `node-gyp exited with ${result.status}`).trim()}; see native/mpi/build/build.log`);
}
finish(undefined);
