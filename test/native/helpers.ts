/**
 * Shared by the native backend's tests: whether the addon must be there,
 * and running one computation on the native and cpu backends in the same
 * process to compare them. Inputs cross backends as plain arrays (seeded),
 * each backend builds its own tensors, so nothing is read across backends.
 *
 * Where the addon is not built: when CI is set or oneDNN's headers are
 * installed (so `npm ci` should have built it), `nativeOrFail()` registers
 * one failing test saying why; on a machine without libdnnl-dev it
 * registers a test of the fallback instead (auto gives wasm and says why),
 * and the kernel tests are not defined at all: nothing is skipped.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { it } from 'node:test';

import { tf } from '../../src/engine.js';
import { nativeRuns, registerNativeBackend, selectBackend, type NativeAddon } from '../../src/backend/index.js';
import { assertClose } from '../backend/helpers.js';

export { assertClose, seededValues } from '../backend/helpers.js';

const HEADERS = ['/usr/include/oneapi/dnnl/dnnl.hpp', '/usr/local/include/oneapi/dnnl/dnnl.hpp'];

/** The addon, or undefined after registering the test that explains why not. */
export function nativeOrFail(): NativeAddon | undefined {
  const load = registerNativeBackend();
  if (load.addon !== undefined) return load.addon;
  const expected = process.env['CI'] !== undefined || HEADERS.some((h) => existsSync(h));
  if (expected) {
    it('has the native addon built and loading', () => {
      assert.fail(`native addon unavailable: ${load.reason} (CI is set or libdnnl-dev is installed, so it must build)`);
    });
  } else {
    it('without libdnnl-dev, auto falls back to wasm and says why', async () => {
      const selected = await selectBackend('auto');
      assert.equal(selected.name, 'wasm');
      assert.equal(selected.reason, `wasm (native backend unavailable: ${load.reason})`);
    });
  }
  return undefined;
}

export type Backend = 'native' | 'cpu';
export interface Result {
  shape: number[];
  values: Float32Array | Int32Array;
  dtype: string;
}

/** The outputs of `f()` on `name`, every tensor it made disposed. */
export async function resultsOn(name: Backend, f: () => tf.Tensor | tf.Tensor[]): Promise<Result[]> {
  assert.equal(await tf.setBackend(name), true, `backend ${name} did not start`);
  const before = tf.memory().numTensors;
  const out = tf.tidy(f);
  const list = Array.isArray(out) ? out : [out];
  const results = list.map((t) => ({ shape: t.shape, values: t.dataSync() as Float32Array | Int32Array, dtype: t.dtype }));
  tf.dispose(list);
  assert.equal(tf.memory().numTensors, before, `${name}: tensors leaked`);
  return results;
}

/** The relative error bound of every comparison. */
export const TOLERANCE = 1e-4;

/**
 * Runs `f` on native and on cpu and checks each output: same shape and
 * dtype, int32 outputs equal, float32 outputs within TOLERANCE of the
 * largest |value| (assertClose).
 */
export async function matchesCpu(what: string, f: () => tf.Tensor | tf.Tensor[], tolerance = TOLERANCE): Promise<void> {
  const native = await resultsOn('native', f);
  const cpu = await resultsOn('cpu', f);
  assert.equal(native.length, cpu.length, `${what}: number of outputs`);
  native.forEach((n, i) => {
    const c = cpu[i]!;
    assert.equal(n.dtype, c.dtype, `${what}[${i}]: dtype`);
    if (c.dtype === 'int32' || c.dtype === 'bool') {
      assert.deepEqual(n.shape, c.shape, `${what}[${i}]: shape`);
      assert.deepEqual(Array.from(n.values), Array.from(c.values), `${what}[${i}]: values`);
    } else {
      for (let j = 0; j < c.values.length; j++) {
        assert.equal(Number.isNaN(n.values[j]), Number.isNaN(c.values[j]), `${what}[${i}]: NaN at ${j}`);
      }
      const finite = (r: Result) => ({ shape: r.shape, values: Array.from(r.values, (v) => (Number.isNaN(v) ? 0 : v)) });
      assertClose(finite(n), finite(c), tolerance, `${what}[${i}]`);
    }
  });
}

/** Runs `f` and checks that each named kernel ran natively at least once. */
export async function runsNatively<T>(kernels: string[], f: () => Promise<T>): Promise<T> {
  const before = new Map(kernels.map((k) => [k, nativeRuns.get(k) ?? 0]));
  const result = await f();
  for (const k of kernels) assert.ok((nativeRuns.get(k) ?? 0) > before.get(k)!, `${k} did not run natively`);
  return result;
}
