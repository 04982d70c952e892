/**
 * The two-level model (model/hierarchical.ts) against its PyTorch reference
 * (tools/pytorch/vqvae2_torch.py), number for number, on every backend that
 * initialises here, as pytorch.test.ts does for one level: PyTorch's state
 * dict through the importer's two-level table (model/pytorch.ts), one batch
 * of four images, one training step. levels2/vq is 28x28 Fashion-MNIST (the
 * odd bottom grid 7x7 under a top grid 4x4), levels2/ema 32x32 CIFAR-10 colour
 * images (8x8 and 4x4). Tolerances as for one level (fixtures.ts): each level's
 * z_e, z_q, losses and perplexity, the reconstruction and the training loss
 * 1e-5 relative, both levels' code indices identical, every gradient 1e-4,
 * every weight and EMA state after one Adam step 1e-5.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend, usableBackends } from '../../src/backend/select.js';
import { makeModelConfig } from '../../src/model/config.js';
import { HierarchicalVqVae } from '../../src/model/hierarchical.js';
import { fromPytorchHierarchicalState, hierarchicalPytorchNames } from '../../src/model/pytorch.js';
import { pixelsToInput } from '../../src/model/vqvae.js';
import { Adam } from '../../src/train/adam.js';
import { applyHierarchicalStep, disposeHierarchicalStep, hierarchicalStepGradients } from '../../src/train/hierarchicalStep.js';
import {
  assertClose,
  assertGradients,
  assertStateAfterStep,
  loadLevelsFixture,
  OUTPUT_TOLERANCE,
  scalar,
  valuesOf,
  type Fixture,
} from './fixtures.js';
import type { HierarchicalConfig } from '../../src/model/hierarchical.js';

const backends = await usableBackends();

/** The two-level model with PyTorch's starting weights, through the importer. */
function importedModel(fixture: Fixture<HierarchicalConfig>): HierarchicalVqVae {
  const model = new HierarchicalVqVae(fixture.config);
  const state = Object.fromEntries(Object.entries(model.state()).map(([k, v]) => [k, { shape: v.shape }]));
  model.load(fromPytorchHierarchicalState(fixture.stateDict, fixture.config, state, fixture.stateDictFile));
  return model;
}

function input(fixture: Fixture<HierarchicalConfig>): tf.Tensor4D {
  const pixels = fixture.expected.pixels!;
  const [b, h, w, c] = pixels.shape as [number, number, number, number];
  return pixelsToInput(pixels.data as Uint8Array, b, h, w, c);
}

describe('the two-level rows of the PyTorch table', () => {
  it('name every variable of the model once, and each PyTorch tensor once, for other depths and residual stacks', async () => {
    await selectBackend('cpu');
    for (const quantizer of ['vq', 'ema'] as const) {
      for (const [downsamples, resBlocks, size] of [[1, 1, 16], [2, 2, 28], [3, 1, 32]] as const) {
        const config = {
          model: makeModelConfig({ quantizer, downsamples, resBlocks, hidden: 8, resHidden: 4, codebookSize: 8, codeDim: 4, imageHeight: size, imageWidth: size }),
          top: { codebookSize: 6, codeDim: 3 },
        };
        const model = new HierarchicalVqVae(config);
        const names = hierarchicalPytorchNames(model.config);
        const what = `${quantizer}, ${downsamples} downsamples, ${resBlocks} residual blocks`;
        assert.deepEqual(names.map((n) => n.ours).sort(), Object.keys(model.state()).sort(), what);
        assert.equal(new Set(names.map((n) => n.pytorch)).size, names.length, `${what}: PyTorch names are unique`);
        // The stride-2 stages of both trunks: n in the bottom encoder and decoder, one in the top ones.
        const convs = (prefix: string) => names.filter((n) => new RegExp(`^${prefix}conv(_trans)?\\d+\\.weight$`).test(n.pytorch)).length;
        assert.deepEqual([convs('enc_b\\.'), convs('enc_t\\.'), convs('dec_t\\.'), convs('dec\\.')], [downsamples + 1, 2, 2, downsamples + 1], what);
        model.dispose();
      }
    }
  });
});

for (const backend of backends) {
  for (const kind of ['vq', 'ema'] as const) {
    describe(`PyTorch parity, two levels, ${kind} quantizers, ${backend} backend`, () => {
      const fixture = loadLevelsFixture(kind);
      const e = fixture.expected;

      it('computes each level\'s z_e, codes, z_q and losses, and the reconstruction PyTorch computes', async () => {
        await selectBackend(backend);
        const model = importedModel(fixture);
        const x = input(fixture);
        const out = model.forward(x);
        for (const level of ['top', 'bottom'] as const) {
          const ours = out[level];
          assertClose(`${level} z_e`, valuesOf(ours.encoded), e[`${level}.z_e`]!, OUTPUT_TOLERANCE);
          const indices = e[`${level}.indices`]!;
          assert.deepEqual(ours.indices.shape, indices.shape, `${level} code grid`);
          assert.deepEqual(Array.from(ours.indices.dataSync()), Array.from(indices.data as Int32Array), `${level} code indices`);
          assertClose(`${level} z_q`, valuesOf(ours.quantized), e[`${level}.z_q`]!, OUTPUT_TOLERANCE);
          assertClose(`${level} vq loss`, valuesOf(ours.loss), e[`${level}.vq_loss`]!, OUTPUT_TOLERANCE);
          assertClose(`${level} commitment loss`, valuesOf(ours.commitmentLoss), e[`${level}.commitment_loss`]!, OUTPUT_TOLERANCE);
          assertClose(`${level} perplexity`, valuesOf(ours.perplexity), e[`${level}.perplexity`]!, OUTPUT_TOLERANCE);
        }
        assertClose('reconstruction', valuesOf(out.reconstruction), e.reconstruction!, OUTPUT_TOLERANCE);
        assertClose('both levels\' vq loss', valuesOf(out.vqLoss), e.vq_loss!, OUTPUT_TOLERANCE);
        const indices = model.encodeIndices(x);
        assert.deepEqual(Array.from(indices.top.dataSync()), Array.from(e['top.indices']!.data as Int32Array), 'encodeIndices: top');
        assert.deepEqual(Array.from(indices.bottom.dataSync()), Array.from(e['bottom.indices']!.data as Int32Array), 'encodeIndices: bottom');
        const decoded = model.decodeIndices(indices);
        assertClose('decodeIndices', valuesOf(decoded), e.reconstruction!, OUTPUT_TOLERANCE);
        tf.dispose([x, decoded, indices.top, indices.bottom, out.reconstruction, out.vqLoss, ...Object.values(out.top), ...Object.values(out.bottom)]);
        model.dispose();
      });

      it('computes the training loss and every gradient PyTorch computes, and the same weights after one Adam step', async () => {
        await selectBackend(backend);
        const model = importedModel(fixture);
        const x = input(fixture);
        const step = hierarchicalStepGradients(model, x, scalar(fixture, 'data_variance'));
        assertClose('loss', valuesOf(step.loss), e.loss!, OUTPUT_TOLERANCE);
        assertClose('reconstruction loss', valuesOf(step.reconstructionLoss), e.recon_loss!, OUTPUT_TOLERANCE);
        assertClose('vq loss', valuesOf(step.vqLoss), e.vq_loss!, OUTPUT_TOLERANCE);
        const names = hierarchicalPytorchNames(fixture.config);
        assertGradients(fixture, names, step.grads);

        const optimizer = new Adam({ learningRate: scalar(fixture, 'learning_rate') });
        applyHierarchicalStep(model, optimizer, step);
        assertStateAfterStep(fixture, names, model.state());
        disposeHierarchicalStep(step);
        x.dispose();
        optimizer.dispose();
        model.dispose();
      });
    });
  }
}
