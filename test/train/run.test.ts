/**
 * The run engine (src/train/run.ts) with a plug-in of its own: least squares
 * on a fixed random problem, one variable, saved through the real io/
 * checkpoint code; the clock is injected (each step takes `SECONDS_PER_STEP`
 * of it), so the save cadence is exact. What is checked: when saves happen
 * (cadence, Ctrl-C, the end, never after a loss that is not finite), what a
 * save holds (the step, the time in seconds, the settings), the resume rules
 * (settings kept from the saved run, warnings, refusals) and that a run
 * stopped and resumed ends with the weights of an uninterrupted one.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { UserError } from '../../src/errors.js';
import { loadCheckpoint, saveCheckpoint } from '../../src/io/checkpoint.js';
import { toNamed } from '../../src/model/checkpoint.js';
import { mulberry32 } from '../../src/random.js';
import { checkFlagsMatch, runTraining, type RunOptions, type RunOutput, type RunPlugin, type RunState, type SavedRun } from '../../src/train/run.js';
import type { ComputedStep } from '../../src/train/stepLoop.js';

// 60 s is exactly 3 steps: a save must come at the step where 60 s have passed, not one later.
const SECONDS_PER_STEP = 20;
const N = 64;
const DIM = 3;
const rng = mulberry32(7);
const X = Array.from({ length: N }, () => Array.from({ length: DIM }, () => rng() - 0.5));
const Y = X.map((row) => row[0]! - 2 * row[1]! + 0.5 * row[2]! + 0.1 * (rng() - 0.5));

interface ToyState extends RunState {
  data: string;
}
interface ToySaved extends SavedRun<ToyState> {
  w: number[];
}

interface Toy {
  plugin: RunPlugin<ToyState, ToySaved, ComputedStep>;
  saves: ToyState[];
  clock: () => number;
  /** The weights when the run ended. */
  final?: number[];
}

/** The toy plug-in; `poisonStep` (0-based) gives a NaN loss; `onStep` sees each step done. */
function toy(options: { data?: string; poisonStep?: number; onStep?: (step: number) => void } = {}): Toy {
  let now = 1000;
  const t: Toy = { saves: [], clock: () => now, plugin: undefined as never };
  t.plugin = {
    noun: 'toy',
    unit: 'rows',
    rateLabel: 'rows/s',
    source: options.data ?? 'toy-data',
    sourceOf: (state) => state.data,
    load(dir) {
      const c = loadCheckpoint(dir);
      const config = c.config as { training?: ToyState };
      const extra = Object.fromEntries(
        Object.entries(c.tensors).filter(([k]) => k.startsWith('adam.')).map(([k, v]) => [k, { shape: v.shape, data: v.data as Float32Array }]),
      );
      return { training: config.training, extra, w: Array.from(c.tensors.w!.data as Float32Array) };
    },
    formatLoss: (loss) => loss.toFixed(3),
    async open({ saved, settings }) {
      const w = tf.variable(tf.tensor1d(saved?.w ?? [0, 0, 0]));
      const params = { w };
      return {
        session: {
          computeGradients(step) {
            now += SECONDS_PER_STEP;
            const rows = Array.from({ length: settings.batch }, (_, i) => (step * settings.batch + i + settings.seed) % N);
            const x = tf.tensor2d(rows.map((r) => X[r]!));
            const y = tf.tensor1d(rows.map((r) => Y[r]!));
            const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(tf.sub(tf.squeeze(tf.matMul(x, tf.reshape(w, [DIM, 1]))), y))) as tf.Scalar, [w]);
            const loss = step === options.poisonStep ? Number.NaN : value.dataSync()[0]!;
            tf.dispose([x, y, value]);
            return { loss, metrics: {}, grads: { w: grads[w.name]! }, dispose: () => tf.dispose(Object.values(grads)) };
          },
          applyGradients: (computed, optimizer) => optimizer.apply(params, computed.grads),
          describe: () => 'toy',
          state: (s) => ({ data: options.data ?? 'toy-data', ...s }),
          save(dir, state, optimizer) {
            t.saves.push(state);
            saveCheckpoint(dir, { format: 'toy', training: state }, { ...toNamed(params), ...toNamed(optimizer.state()) }, { format: 'toy' });
          },
          progressFields: () => ({}),
          afterStep: (step) => options.onStep?.(step),
          dispose() {
            t.final = Array.from(w.dataSync());
            w.dispose();
          },
        },
      };
    },
  };
  return t;
}

interface Captured extends RunOutput {
  lines: string[];
  warnings: string[];
  json: Record<string, unknown>[];
}

function output(signal?: AbortSignal): Captured {
  const c: Captured = {
    lines: [],
    warnings: [],
    json: [],
    info: (line) => c.lines.push(line),
    warn: (line) => c.warnings.push(line),
    printJson: (value) => c.json.push(value as Record<string, unknown>),
    progress: () => ({ update() {}, log: (line) => c.lines.push(line), stop() {} }),
    interruptSignal: signal ? () => signal : undefined,
  };
  return c;
}

const DEFAULTS = { steps: 10, batch: 8, lr: 0.05, seed: 0 };

function options(out: string, t: Toy, o: Captured, extra: Partial<RunOptions> = {}): RunOptions {
  return {
    out, resume: false, checkpointEverySeconds: 60, evalEvery: 0, defaults: DEFAULTS,
    backend: async () => 'cpu', output: o, clock: t.clock, ...extra,
  };
}

describe('the run engine', () => {
  let root: string;
  let count = 0;
  const dir = () => join(root, `run-${count++}`);
  before(async () => {
    await tf.setBackend('cpu');
    root = mkdtempSync(join(tmpdir(), 'vqvae-run-'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('saves as soon as --checkpoint-every seconds have passed, and at the end, with the time in seconds', async () => {
    const t = toy();
    const o = output();
    const code = await runTraining(t.plugin, options(dir(), t, o, { steps: 10 }));
    assert.equal(code, 0);
    // 20 s a step and a save at least every 60 s: a save once 60 s have passed since the last, i.e. every ceil(60 / 25) steps.
    const every = Math.ceil(60 / SECONDS_PER_STEP);
    const expected: number[] = [];
    for (let s = every; s < 10; s += every) expected.push(s);
    expected.push(10);
    assert.deepEqual(t.saves.map((s) => s.step), expected);
    for (const s of t.saves) {
      assert.equal(s.trainingSeconds, s.step * SECONDS_PER_STEP, `training seconds at step ${s.step}`);
      assert.deepEqual([s.totalSteps, s.batch, s.learningRate, s.seed, s.backend], [10, DEFAULTS.batch, DEFAULTS.lr, DEFAULTS.seed, 'cpu']);
      assert.ok(Number.isFinite(s.loss));
    }
    const summary = o.json[0]!;
    assert.equal(summary.steps, 10);
    assert.equal(summary.rows_per_s, (10 * DEFAULTS.batch) / (10 * SECONDS_PER_STEP));
    assert.equal(summary.final_loss, t.saves.at(-1)!.loss);
    assert.match(o.lines.at(-1)!, /^trained to step 10 \(10 steps, 0 rows\/s\); final loss \d\.\d{3}; saved /);
  });

  it('with --checkpoint-every 0 saves only at the end', async () => {
    const t = toy();
    await runTraining(t.plugin, options(dir(), t, output(), { steps: 7, checkpointEverySeconds: 0 }));
    assert.deepEqual(t.saves.map((s) => s.step), [7]);
  });

  it('on Ctrl-C saves the step reached and returns 130', async () => {
    const abort = new AbortController();
    const t = toy({ onStep: (step) => step === 4 && abort.abort() });
    const o = output(abort.signal);
    const out = dir();
    const code = await runTraining(t.plugin, options(out, t, o, { steps: 10, checkpointEverySeconds: 0 }));
    assert.equal(code, 130);
    assert.deepEqual(t.saves.map((s) => s.step), [4]);
    assert.equal(o.lines.at(-1), `interrupted at step 4: saved ${out}; continue with --resume`);
    assert.equal(o.json[0]!.steps, 4);
  });

  it('stops at a loss that is not finite without saving again, naming the last good checkpoint', async () => {
    const t = toy({ poisonStep: 5 });
    const out = dir();
    await assert.rejects(
      runTraining(t.plugin, options(out, t, output(), { steps: 10 })),
      (error: Error) => error instanceof UserError && error.message === `the loss became NaN at step 6; training stopped and the last good checkpoint (step 3) is kept in ${out}; try a lower --lr`,
    );
    assert.deepEqual(t.saves.map((s) => s.step), [3]);
    assert.equal((loadCheckpoint(out).config as { training: ToyState }).training.step, 3);
  });

  it('resumed after Ctrl-C, ends with exactly the weights and time of an uninterrupted run', async () => {
    const whole = toy();
    await runTraining(whole.plugin, options(dir(), whole, output(), { steps: 9, lr: 0.1, batch: 5, seed: 2 }));

    const out = dir();
    const abort = new AbortController();
    const first = toy({ onStep: (step) => step === 4 && abort.abort() });
    assert.equal(await runTraining(first.plugin, options(out, first, output(abort.signal), { steps: 9, lr: 0.1, batch: 5, seed: 2 })), 130);
    const second = toy();
    const o = output();
    // Batch, seed and lr come from the saved run, the step count too.
    assert.equal(await runTraining(second.plugin, options(out, second, o, { resume: true })), 0);
    assert.deepEqual(o.warnings, []);
    assert.ok(o.lines.includes(`resuming ${out} from step 4 (of 9)`), o.lines.join('\n'));
    // The cadence restarts with the resumed run: a save 60 s (3 steps) in, and at the end.
    assert.deepEqual(second.saves.map((s) => s.step), [4 + Math.ceil(60 / SECONDS_PER_STEP), 9]);
    assert.deepEqual(second.final, whole.final);
    assert.ok(whole.final!.some((v) => v !== 0));
    assert.deepEqual(second.saves.at(-1), whole.saves.at(-1));
  });

  it('resumes with another batch, seed or data only with a warning; an exhausted run does not train', async () => {
    const out = dir();
    const t = toy();
    await runTraining(t.plugin, options(out, t, output(), { steps: 3 }));
    const again = toy({ data: 'other-data' });
    const o = output();
    assert.equal(await runTraining(again.plugin, options(out, again, o, { resume: true, batch: 4 })), 0);
    assert.deepEqual(o.warnings, [
      `resuming with --batch 4 --seed 0 (the run began with --batch ${DEFAULTS.batch} --seed 0): the data order differs from an uninterrupted run`,
      'resuming on other-data; the run began on toy-data',
    ]);
    assert.deepEqual(again.saves, []);
    assert.equal(o.lines.at(-1), `${out} is already at step 3 of 3; pass a larger --steps to train further`);
    assert.deepEqual(o.json, [{ steps: 3, rows_per_s: 0, final_loss: null, backend: 'cpu' }]);
  });

  it('refuses to start over a saved run, and to resume where there is none', async () => {
    const out = dir();
    const t = toy();
    await runTraining(t.plugin, options(out, t, output(), { steps: 2 }));
    await assert.rejects(runTraining(toy().plugin, options(out, t, output())), /already holds a model; pass --resume/);
    await assert.rejects(runTraining(toy().plugin, options(dir(), t, output(), { resume: true })), /--resume: no toy to resume in .*config\.json not found/);
  });

  it('checkFlagsMatch names the flag, the given and the saved value', () => {
    const saved = { width: 8, depth: 2 };
    assert.doesNotThrow(() => checkFlagsMatch({ width: 8 }, saved, { width: 'width', depth: 'depth' }, 'toy in D'));
    assert.throws(
      () => checkFlagsMatch({ depth: 3 }, saved, { width: 'width', depth: 'depth' }, 'toy in D'),
      { message: '--depth 3 does not match the toy in D (depth 2); leave it out to resume' },
    );
  });
});
