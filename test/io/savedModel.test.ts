/** The one place saved models' formats are checked (src/io/savedModel.ts), through the two kinds that use it. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeSafetensors } from '../../src/io/safetensors.js';
import { parseSaved, savedModelFromBytes, type SavedFormat } from '../../src/io/savedModel.js';
import { parseModelFile } from '../../src/model/modelFile.js';
import { parsePriorFile } from '../../src/prior/priorFile.js';
import { isOneLineUserError } from '../shared/assertions.js';

const THING: SavedFormat<{ size: number }> = {
  format: 'thing',
  version: 2,
  section: 'thing',
  noun: 'thing',
  validate: (value, source) => {
    const size = (value as { size?: unknown } | undefined)?.size;
    if (typeof size !== 'number') throw new Error(`${source}.size`);
    return { size };
  },
  trainingNumbers: ['step'],
  trainingStrings: ['data'],
};
const sources = { config: 'd/config.json', weights: 'd/weights.safetensors' };
const f32 = (values: number[]) => ({ dtype: 'F32' as const, shape: [values.length], data: Float32Array.from(values) });

describe('parseSaved', () => {
  it('splits weights from the optimizer state and keeps the data as it is', () => {
    const w = f32([1, 2, 3]);
    const m = f32([4]);
    const parsed = parseSaved(THING, { config: { format: 'thing', version: 2, thing: { size: 3 }, training: { step: 5, data: 'x' } }, tensors: { w, 'adam.m.w': m } }, sources);
    assert.deepEqual(parsed.config, { size: 3 });
    assert.deepEqual(parsed.training, { step: 5, data: 'x' });
    assert.deepEqual(Object.keys(parsed.weights), ['w']);
    assert.deepEqual(Object.keys(parsed.optimizer), ['adam.m.w']);
    assert.equal(parsed.weights.w!.data, w.data);
    assert.equal(parsed.optimizer['adam.m.w']!.data, m.data);
  });

  it('refuses a wrong version, an unknown key, a bad training field and a non-F32 tensor, each in one line', () => {
    const base = { format: 'thing', version: 2, thing: { size: 1 } };
    const fails = (config: unknown, tensors = {}, patterns: RegExp[]) =>
      assert.throws(() => parseSaved(THING, { config, tensors }, sources), (e) => isOneLineUserError(e, patterns));
    fails({ ...base, version: 1 }, {}, [/d\/config\.json: unsupported version 1, expected 2/]);
    fails({ ...base, extra: 1 }, {}, [/unknown key "extra"; valid keys are format, version, thing, training/]);
    fails({ ...base, training: { step: 'x', data: 'y' } }, {}, [/training\.step must be a number, found "x"/]);
    fails({ ...base, training: { step: 1 } }, {}, [/training\.data must be a string/]);
    fails(base, { w: { dtype: 'I32', shape: [1], data: Int32Array.of(1) } }, [/d\/weights\.safetensors: tensor w is I32, expected F32/]);
  });

  it('says which kind a directory of another kind is', () => {
    assert.throws(
      () => parseModelFile({ format: 'vqvae-prior', version: 1 }, 'p/config.json'),
      (e) => isOneLineUserError(e, [/^p\/config\.json: not a vqvae model \(format "vqvae-prior", expected "vqvae"\); this is a prior directory/, /pass it as --prior/]),
    );
    assert.throws(
      () => parsePriorFile({ format: 'vqvae', version: 1 }, 'm/config.json'),
      (e) => isOneLineUserError(e, [/^m\/config\.json: not a vqvae prior \(format "vqvae", expected "vqvae-prior"\); this is a VQ-VAE model directory/, /pass it as --model/]),
    );
    assert.throws(() => parseModelFile({ format: 'other' }, 'o/config.json'), (e) => isOneLineUserError(e, [/^o\/config\.json: not a vqvae model \(format "other", expected "vqvae"\)$/]));
  });
});

describe('savedModelFromBytes', () => {
  it('reads config.json text and safetensors bytes of one save, without the id', () => {
    const weights = encodeSafetensors({ w: f32([1, 2]) }, { checkpoint_id: 'abc' });
    const saved = savedModelFromBytes(JSON.stringify({ checkpoint_id: 'abc', format: 'thing' }), weights, sources);
    assert.deepEqual(saved.config, { format: 'thing' });
    assert.deepEqual(saved.tensors.w!.data, Float32Array.of(1, 2));
  });

  it('refuses weights of another save and text that is not JSON', () => {
    const weights = encodeSafetensors({ w: f32([1]) }, { checkpoint_id: 'other' });
    assert.throws(() => savedModelFromBytes('{"checkpoint_id": "abc"}', weights, sources), (e) => isOneLineUserError(e, [/does not belong to d\/config\.json/, /"abc", found "other"/]));
    assert.throws(() => savedModelFromBytes('nope', weights, sources), (e) => isOneLineUserError(e, [/^d\/config\.json: not valid JSON/]));
  });
});
