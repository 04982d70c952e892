/**
 * The bytes path the page loads models by (model/modelFile.ts): the same
 * model as loadModel reads from the directory, and the same one-line errors
 * for files that are not a model or belong to another configuration.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../src/backend/select.js';
import { encodeSafetensors, decodeSafetensors } from '../../src/io/safetensors.js';
import { loadModel } from '../../src/model/checkpoint.js';
import { ModelMismatchError, pixelsToInput } from '../../src/model/vqvae.js';
import { modelFromBytes } from '../../src/model/modelFile.js';
import { isOneLineUserError } from '../shared/assertions.js';
import { literal, tempDir, writeRandomModel } from '../web/helpers.js';

const root = tempDir();
const dir = path.join(root, 'model');
const other = path.join(root, 'other');
const sources = { config: 'picked/config.json', weights: 'picked/weights.safetensors' };
const read = (d: string, name: string): Buffer => fs.readFileSync(path.join(d, name));

before(async () => {
  await selectBackend('cpu');
  writeRandomModel(dir);
  writeRandomModel(other, { hidden: 32, resHidden: 8, codebookSize: 16, codeDim: 8 }, 3);
});

describe('modelFromBytes', () => {
  it('gives the model loadModel reads: every variable equal, the same codes for the same images', () => {
    const fromDir = loadModel(dir);
    const fromBytes = modelFromBytes(read(dir, 'config.json').toString('utf8'), read(dir, 'weights.safetensors'), sources);
    assert.deepEqual(fromBytes.model, fromDir.model);
    const a = fromDir.vqvae.state();
    const b = fromBytes.vqvae.state();
    assert.deepEqual(Object.keys(b).sort(), Object.keys(a).sort());
    for (const name of Object.keys(a)) assert.deepEqual(b[name]!.dataSync(), a[name]!.dataSync(), name);
    const pixels = new Uint8Array(4 * 28 * 28).map((_, i) => (i * 37) % 256);
    const x = pixelsToInput(pixels, 4, 28, 28, 1);
    const codesA = fromDir.vqvae.encodeIndices(x);
    const codesB = fromBytes.vqvae.encodeIndices(x);
    assert.deepEqual(codesB.dataSync(), codesA.dataSync());
    tf.dispose([x, codesA, codesB]);
    fromDir.vqvae.dispose();
    fromBytes.vqvae.dispose();
  });

  it('weights of another save: one line saying the two files do not belong together', () => {
    assert.throws(
      () => modelFromBytes(read(dir, 'config.json').toString('utf8'), read(other, 'weights.safetensors'), sources),
      (e) => isOneLineUserError(e, [literal('picked/weights.safetensors does not belong to picked/config.json')]),
    );
  });

  it('weights of another configuration (no checkpoint ids): a ModelMismatchError naming the shapes', () => {
    const config = JSON.parse(read(dir, 'config.json').toString('utf8')) as Record<string, unknown>;
    delete config.checkpoint_id;
    const { tensors } = decodeSafetensors(read(other, 'weights.safetensors'));
    assert.throws(
      () => modelFromBytes(JSON.stringify(config), encodeSafetensors(tensors), sources),
      (e) =>
        e instanceof ModelMismatchError &&
        isOneLineUserError(e, [literal('picked/weights.safetensors does not match the model config'), /encoder\.\S+ has shape \[[^\]]*32[^\]]*\], expected/]),
    );
  });

  it('a config.json that is not JSON, or not a model, is named with the reason', () => {
    const weights = read(dir, 'weights.safetensors');
    assert.throws(() => modelFromBytes('\x89PNG...', weights, sources), (e) => isOneLineUserError(e, [literal('picked/config.json: not valid JSON')]));
    assert.throws(
      () => modelFromBytes('{"format": "vqvae-prior", "version": 1}', weights, sources),
      (e) => isOneLineUserError(e, [literal('picked/config.json: not a vqvae model (format "vqvae-prior", expected "vqvae")')]),
    );
  });

  it('weights that are not safetensors are named', () => {
    assert.throws(
      () => modelFromBytes(read(dir, 'config.json').toString('utf8'), new TextEncoder().encode('hello, not weights'), sources),
      (e) => isOneLineUserError(e, [literal('picked/weights.safetensors')]),
    );
  });
});
