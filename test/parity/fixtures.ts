/**
 * The PyTorch parity fixtures (test/fixtures/parity/{vq,ema} of one level and
 * levels2/{vq,ema} of two, written by tools/pytorch/make_fixtures.py) and the
 * comparisons the parity tests make.
 *
 * Closeness is measured per tensor, relative to its largest value:
 * max |actual - expected| / max |expected| (plain relative error for scalars),
 * so values near zero are judged on the tensor's scale.
 */
import assert from 'node:assert/strict';
import type * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { NamedTensor } from '../../src/io/safetensors.js';
import { readSafetensorsFile } from '../../src/io/safetensorsFile.js';
import { parseModelFile } from '../../src/model/checkpoint.js';
import { permuteFromPytorch, type PytorchName } from '../../src/model/pytorch.js';
import type { ModelConfig } from '../../src/model/config.js';
import type { HierarchicalConfig } from '../../src/model/hierarchical.js';
import { HIERARCHICAL_SAVED_FORMAT } from '../../src/model/hierarchicalFile.js';
import { parseSavedConfig } from '../../src/io/savedModel.js';

/** The fixtures in the source tree (tests run from dist/test/parity). */
export const FIXTURES_DIR = fileURLToPath(new URL('../../../test/fixtures/parity', import.meta.url));

export interface Fixture<C = ModelConfig> {
  dir: string;
  configFile: string;
  stateDictFile: string;
  config: C;
  /** PyTorch's state dict: PyTorch names and layouts. */
  stateDict: Record<string, NamedTensor>;
  /** Inputs and PyTorch's results (see make_fixtures.py). */
  expected: Record<string, NamedTensor>;
}

export function loadFixture(kind: 'vq' | 'ema'): Fixture {
  return readFixture(`${FIXTURES_DIR}/${kind}`, (json, file) => parseModelFile(json, file).model);
}

/** A two-level fixture (levels2/KIND: both levels of that quantizer). */
export function loadLevelsFixture(kind: 'vq' | 'ema'): Fixture<HierarchicalConfig> {
  return readFixture(`${FIXTURES_DIR}/levels2/${kind}`, (json, file) => parseSavedConfig(HIERARCHICAL_SAVED_FORMAT, json, file).config);
}

function readFixture<C>(dir: string, parse: (json: unknown, file: string) => C): Fixture<C> {
  const configFile = `${dir}/config.json`;
  const stateDictFile = `${dir}/state_dict.safetensors`;
  return {
    dir,
    configFile,
    stateDictFile,
    config: parse(JSON.parse(readFileSync(configFile, 'utf8')), configFile),
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

/**
 * The tolerances of the parity tests (pytorch.test.ts, pytorchLevels.test.ts);
 * make_fixtures.py checked that PyTorch in float32 stays ten times inside them.
 */
export const OUTPUT_TOLERANCE = 1e-5;
export const GRADIENT_TOLERANCE = 1e-4;
export const STEP_TOLERANCE = 1e-5;

/** A scalar of the fixture (data_variance, learning_rate). */
export function scalar(fixture: Fixture<unknown>, name: string): number {
  return Number(fixture.expected[name]!.data[0]);
}

export function valuesOf(t: tf.Tensor): { shape: number[]; values: Float32Array | Int32Array } {
  return { shape: t.shape, values: t.dataSync() as Float32Array | Int32Array };
}

/** The PyTorch-named fixture tensors `PREFIX.NAME` (grad., step.) of the table `names`, in our layout, by our name. */
function mapped(fixture: Fixture<unknown>, names: PytorchName[], prefix: 'grad.' | 'step.'): Map<string, NamedTensor> {
  const out = new Map<string, NamedTensor>();
  for (const { pytorch, ours, permute } of names) {
    const t = fixture.expected[prefix + pytorch];
    if (!t) continue;
    const data = t.data as Float32Array;
    const shape = permute ? [t.shape[2]!, t.shape[3]!, t.shape[1]!, t.shape[0]!] : t.shape;
    out.set(ours, { dtype: 'F32', shape, data: permute ? permuteFromPytorch(data, t.shape) : data });
  }
  return out;
}

/** Our gradients (by our names) are PyTorch's `grad.NAME`, for the same parameters. */
export function assertGradients(fixture: Fixture<unknown>, names: PytorchName[], grads: Record<string, tf.Tensor>): void {
  const expected = mapped(fixture, names, 'grad.');
  assert.deepEqual(Object.keys(grads).sort(), [...expected.keys()].sort(), 'the same parameters have gradients');
  for (const [name, t] of expected) assertClose(`gradient of ${name}`, valuesOf(grads[name]!), t, GRADIENT_TOLERANCE);
}

/** Our state after the step (by our names) is PyTorch's `step.NAME`, for the same variables. */
export function assertStateAfterStep(fixture: Fixture<unknown>, names: PytorchName[], state: Record<string, tf.Tensor>): void {
  const expected = mapped(fixture, names, 'step.');
  assert.deepEqual(Object.keys(state).sort(), [...expected.keys()].sort(), 'the same state after the step');
  for (const [name, t] of expected) assertClose(`${name} after one step`, valuesOf(state[name]!), t, STEP_TOLERANCE);
}
