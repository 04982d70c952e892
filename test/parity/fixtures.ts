/**
 * The PyTorch parity fixtures (test/fixtures/parity/{vq,ema}, written by
 * tools/pytorch/make_fixtures.py) and the comparisons the parity tests make.
 *
 * Closeness is measured per tensor, relative to its largest value:
 * max |actual - expected| / max |expected| (plain relative error for scalars),
 * so values near zero are judged on the tensor's scale.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { NamedTensor } from '../../src/io/safetensors.js';
import { readSafetensorsFile } from '../../src/io/safetensorsFile.js';
import { parseModelFile } from '../../src/model/checkpoint.js';
import type { ModelConfig } from '../../src/model/config.js';

/** The fixtures in the source tree (tests run from dist/test/parity). */
export const FIXTURES_DIR = fileURLToPath(new URL('../../../test/fixtures/parity', import.meta.url));

export interface Fixture {
  dir: string;
  configFile: string;
  stateDictFile: string;
  config: ModelConfig;
  /** PyTorch's state dict: PyTorch names and layouts. */
  stateDict: Record<string, NamedTensor>;
  /** Inputs and PyTorch's results (see make_fixtures.py). */
  expected: Record<string, NamedTensor>;
}

export function loadFixture(kind: 'vq' | 'ema'): Fixture {
  const dir = `${FIXTURES_DIR}/${kind}`;
  const configFile = `${dir}/config.json`;
  const stateDictFile = `${dir}/state_dict.safetensors`;
  const config = parseModelFile(JSON.parse(readFileSync(configFile, 'utf8')), configFile).model;
  return {
    dir,
    configFile,
    stateDictFile,
    config,
    stateDict: readSafetensorsFile(stateDictFile).tensors,
    expected: readSafetensorsFile(`${dir}/expected.safetensors`).tensors,
  };
}

/** max |a - e| / max |e| (|a - e| when e is all zeros). */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  assert.equal(actual.length, expected.length, 'element counts differ');
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
    scale = Math.max(scale, Math.abs(expected[i]!));
  }
  // NaN anywhere must fail, and Math.max drops nothing: NaN propagates.
  return scale > 0 ? worst / scale : worst;
}

/** Asserts shape and closeness of `actual` to the fixture tensor `expected`. */
export function assertClose(
  what: string,
  actual: { shape: readonly number[]; values: ArrayLike<number> },
  expected: NamedTensor,
  tolerance: number,
): void {
  assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  const error = relativeError(actual.values, expected.data as ArrayLike<number>);
  assert.ok(error <= tolerance, `${what}: relative error ${error.toExponential(2)} exceeds ${tolerance}`);
}
