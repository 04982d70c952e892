/**
 * Fast generation: stepping the cached generator through a known level
 * sequence (teacher forcing) gives the full forward pass's logits at every
 * step, in JavaScript and in the native addon; sampling draws by inverse CDF.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../src/backend/select.js';
import { AudioVqVae } from '../../src/audio/model.js';
import { generateLevels, JsStepKernel, nativeStepKernel, sampleLogits, WaveNetStepper, type StepKernel } from '../../src/audio/generate.js';
import { mulberry32 } from '../../src/random.js';
import { nativeOrFail } from '../native/helpers.js';

before(async () => {
  await selectBackend('auto');
});

const CONFIG = { downsamples: 3, encoderChannels: 8, codebookSize: 16, codeDim: 4, speakers: 3, speakerDim: 2, residualChannels: 6, skipChannels: 5, dilations: [1, 2, 4, 8, 1, 2, 4, 8], levels: 256 };

function checkAgainstForward(kernel: StepKernel, tolerance: number): void {
  const model = new AudioVqVae(CONFIG, 4);
  const t = 96; // past the receptive field (31), over 12 code frames
  const rng = mulberry32(9);
  const levels = Int32Array.from({ length: t }, () => Math.floor(rng() * 256));
  const indices = Int32Array.from({ length: t / 8 }, () => Math.floor(rng() * 16));
  const speaker = 1;
  const { full, cond } = tf.tidy(() => {
    const codes = model.lookup(tf.tensor2d(indices, [1, t / 8], 'int32'));
    const speakers = tf.tensor1d([speaker], 'int32');
    return {
      full: model.decoder.apply(tf.tensor2d(levels, [1, t], 'int32'), codes, speakers).dataSync() as Float32Array,
      cond: model.decoder.conditioning(codes, speakers).dataSync() as Float32Array,
    };
  });
  const stepper = new WaveNetStepper(model.config, model.decoder.packWeights(), kernel);
  let maxError = 0;
  let maxLogit = 0;
  for (let i = 0; i < t; i++) {
    assert.equal(stepper.step(i === 0 ? 0 : levels[i - 1]!, cond, -1), -1);
    for (let k = 0; k < 256; k++) {
      maxError = Math.max(maxError, Math.abs(stepper.logits[k]! - full[i * 256 + k]!));
      maxLogit = Math.max(maxLogit, Math.abs(full[i * 256 + k]!));
    }
  }
  assert.ok(maxLogit > 0.05, 'the logits are not all near zero');
  assert.ok(maxError < tolerance, `cached steps vs forward pass: max |difference| ${maxError}`);
  model.dispose();
}

test('the cached JavaScript step equals the full forward pass at every step', () => {
  checkAgainstForward(new JsStepKernel(), 2e-5);
});

if (nativeOrFail() !== undefined) {
  test('the native step equals the full forward pass at every step', () => {
    const kernel = nativeStepKernel();
    assert.ok(kernel !== undefined, 'the addon has wavenetStep');
    checkAgainstForward(kernel, 2e-5);
  });

  test('native and JavaScript generation draw the same levels from the same random numbers', () => {
    const model = new AudioVqVae(CONFIG, 5);
    const indices = Int32Array.from([3, 1, 4, 1, 5, 9, 2, 6]);
    const js = generateLevels(model, indices, 2, { random: mulberry32(1), kernel: 'js' });
    const native = generateLevels(model, indices, 2, { random: mulberry32(1), kernel: 'native' });
    assert.equal(js.length, 64);
    // Float rounding may move a draw that lands on a CDF boundary; nearly all agree.
    const same = js.filter((v, i) => v === native[i]).length;
    assert.ok(same >= 62, `${same} of 64 draws agree`);
    model.dispose();
  });
}

test('sampling inverts the softmax CDF', () => {
  const logits = Float32Array.from([Math.log(0.1), Math.log(0.2), Math.log(0.3), Math.log(0.4)]);
  // CDF: 0.1, 0.3, 0.6, 1.0.
  assert.deepEqual([0, 0.05, 0.099, 0.11, 0.29, 0.31, 0.59, 0.61, 0.999].map((u) => sampleLogits(logits, 4, u)), [0, 0, 0, 1, 1, 2, 2, 3, 3]);
  // Frequencies from many draws match the probabilities.
  const rng = mulberry32(3);
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < 20000; i++) counts[sampleLogits(logits, 4, rng())]!++;
  counts.forEach((n, i) => assert.ok(Math.abs(n / 20000 - [0.1, 0.2, 0.3, 0.4][i]!) < 0.015, `level ${i}: ${n}`));
});
