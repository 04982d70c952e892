/**
 * This project against the PyTorch reference (tools/pytorch/vqvae_torch.py),
 * number for number, on every backend that initialises here: from PyTorch's
 * state dict (through the importer), one batch of four Fashion-MNIST images,
 * one training step, for both quantizers. PyTorch computed the fixtures in
 * float64; make_fixtures.py checked that PyTorch in float32, in two
 * summation orders, stays ten times inside these tolerances:
 *
 *   z_e, z_q, reconstruction, each loss term, perplexity   1e-5 relative
 *   code indices                                           identical
 *   every parameter's gradient                             1e-4 relative
 *   every weight (and the EMA state) after one Adam step   1e-5 relative
 *
 * Relative: max |ours - PyTorch| / max |PyTorch| per tensor (fixtures.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend, usableBackends } from '../../src/backend/select.js';
import { pytorchNames, fromPytorchState } from '../../src/model/pytorch.js';
import { pixelsToInput, VqVae } from '../../src/model/vqvae.js';
import { Adam } from '../../src/train/adam.js';
import { applyStep, disposeStep, stepGradients } from '../../src/train/step.js';
import {
  assertClose,
  assertGradients,
  assertStateAfterStep,
  loadFixture,
  OUTPUT_TOLERANCE,
  scalar,
  valuesOf,
  type Fixture,
} from './fixtures.js';

const backends = await usableBackends();

/** The model with PyTorch's starting weights, through the importer. */
function importedModel(fixture: Fixture): VqVae {
  const model = new VqVae(fixture.config);
  const state = Object.fromEntries(Object.entries(model.state()).map(([k, v]) => [k, { shape: v.shape }]));
  model.load(fromPytorchState(fixture.stateDict, fixture.config, state, fixture.stateDictFile));
  return model;
}

for (const backend of backends) {
  for (const kind of ['vq', 'ema'] as const) {
    describe(`PyTorch parity, ${kind} quantizer, ${backend} backend`, () => {
      const fixture = loadFixture(kind);
      const e = fixture.expected;
      const pixels = e.pixels!;
      const [b, h, w, c] = pixels.shape as [number, number, number, number];

      it('computes z_e, the codes, z_q, the reconstruction and the losses PyTorch computes', async () => {
        await selectBackend(backend);
        const model = importedModel(fixture);
        const x = pixelsToInput(pixels.data as Uint8Array, b, h, w, c);
        const out = model.forward(x);
        assertClose('z_e', valuesOf(out.encoded), e.z_e!, OUTPUT_TOLERANCE);
        assert.deepEqual(Array.from(out.indices.dataSync()), Array.from(e.indices!.data as Int32Array), 'code indices');
        assert.deepEqual(out.indices.shape, e.indices!.shape);
        assertClose('z_q', valuesOf(out.quantized), e.z_q!, OUTPUT_TOLERANCE);
        assertClose('reconstruction', valuesOf(out.reconstruction), e.reconstruction!, OUTPUT_TOLERANCE);
        assertClose('vq loss', valuesOf(out.loss), e.vq_loss!, OUTPUT_TOLERANCE);
        assertClose('commitment loss', valuesOf(out.commitmentLoss), e.commitment_loss!, OUTPUT_TOLERANCE);
        assertClose('perplexity', valuesOf(out.perplexity), e.perplexity!, OUTPUT_TOLERANCE);
        tf.dispose([x, ...Object.values(out)]);
        model.dispose();
      });

      it('computes the training loss and every gradient PyTorch computes, and the same weights after one Adam step', async () => {
        await selectBackend(backend);
        const model = importedModel(fixture);
        const x = pixelsToInput(pixels.data as Uint8Array, b, h, w, c);
        const step = stepGradients(model, x, scalar(fixture, 'data_variance'));
        assertClose('loss', valuesOf(step.loss), e.loss!, OUTPUT_TOLERANCE);
        assertClose('reconstruction loss', valuesOf(step.reconstructionLoss), e.recon_loss!, OUTPUT_TOLERANCE);
        assertClose('vq loss', valuesOf(step.vqLoss), e.vq_loss!, OUTPUT_TOLERANCE);

        assertGradients(fixture, pytorchNames(fixture.config), step.grads);

        const optimizer = new Adam({ learningRate: scalar(fixture, 'learning_rate') });
        applyStep(model, optimizer, step);
        assertStateAfterStep(fixture, pytorchNames(fixture.config), model.state());
        disposeStep(step);
        x.dispose();
        optimizer.dispose();
        model.dispose();
      });
    });
  }
}

describe('PyTorch parity: backends', () => {
  it('runs on cpu and wasm at least', () => {
    assert.ok(backends.includes('cpu') && backends.includes('wasm'), `usable backends: ${backends.join(', ')}`);
  });
});
