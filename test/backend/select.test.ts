/**
 * selectBackend: the choices, 'native' and 'auto' giving the native backend
 * where the addon loads (test/native checks that it must, where libdnnl-dev
 * is installed), 'auto' falling back to wasm with our kernels and one line
 * saying why, repeated and overlapping calls, and the fall back to cpu when
 * neither native nor wasm can start.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';

import { BatchMatMul, Conv2DBackpropFilter, Conv2DBackpropInput, UnsortedSegmentSum } from '@tensorflow/tfjs-core';

import { UserError } from '../../src/errors.js';
import { tf } from '../../src/engine.js';
import {
  BACKEND_CHOICES, loadAddon, nativeUnavailable, registerNativeBackend, registerWasmTrainingKernels, selectBackend,
  WASM_TRAINING_KERNELS,
} from '../../src/backend/index.js';
import type { BackendChoice } from '../../src/backend/index.js';
import { conv2DBackpropInputConfig } from '../../src/backend/wasm/Conv2DBackpropInput.js';

describe('selectBackend', () => {
  it('lists the choices the CLI accepts', () => {
    assert.deepEqual(BACKEND_CHOICES, ['auto', 'native', 'wasm', 'cpu']);
  });

  const load = registerNativeBackend();
  const nativeDetail = () => {
    const info = load.addon!.info();
    return `oneDNN ${info.onednn}, ${info.threads} thread${info.threads === 1 ? '' : 's'}`;
  };

  it("gives 'native' where the addon loads, else a UserError saying why", async () => {
    if (load.addon !== undefined) {
      assert.deepEqual(await selectBackend('native'), {
        name: 'native',
        reason: `native (${nativeDetail()}, chosen with --backend native)`,
      });
      assert.equal(tf.getBackend(), 'native');
    } else {
      await assert.rejects(selectBackend('native'), (error: unknown) => {
        assert.ok(error instanceof UserError);
        assert.equal(error.message, nativeUnavailable(load.reason));
        assert.match(error.message, /^backend "native" is not available \(.+\); use --backend auto, wasm or cpu$/);
        return true;
      });
    }
  });

  it("gives native for 'auto' where the addon loads, else wasm with the training kernels", async () => {
    const selected = await selectBackend('auto');
    if (load.addon !== undefined) {
      assert.deepEqual(selected, { name: 'native', reason: `native (${nativeDetail()})` });
    } else {
      assert.deepEqual(selected, { name: 'wasm', reason: `wasm (native backend unavailable: ${load.reason})` });
    }
    assert.equal(await selectBackend('wasm').then((s) => s.name), 'wasm');
    for (const name of [Conv2DBackpropFilter, Conv2DBackpropInput, UnsortedSegmentSum, BatchMatMul]) {
      assert.ok(WASM_TRAINING_KERNELS.includes(name));
      assert.ok(tf.getKernel(name, 'wasm') !== undefined, `${name} on wasm`);
    }
    assert.equal(tf.getKernel(Conv2DBackpropInput, 'wasm')?.kernelFunc, conv2DBackpropInputConfig.kernelFunc);
  });

  it('can be called again, and concurrently, and switches between wasm and cpu', async () => {
    const [a, b] = await Promise.all([selectBackend('cpu'), selectBackend('wasm')]);
    assert.deepEqual(a, { name: 'cpu', reason: 'cpu (chosen with --backend cpu)' });
    assert.deepEqual(b, { name: 'wasm', reason: 'wasm (chosen with --backend wasm)' });
    assert.equal(tf.getBackend(), 'wasm');
    assert.equal((await selectBackend('wasm')).name, 'wasm');
    assert.equal((await selectBackend('cpu')).name, 'cpu');
    assert.equal(tf.getBackend(), 'cpu');
    // And the kernels still work after the switches.
    assert.equal((await selectBackend('wasm')).name, 'wasm');
    const dx = tf.conv2dTranspose(tf.ones([1, 2, 2, 3]) as tf.Tensor4D, tf.ones([2, 2, 1, 3]) as tf.Tensor4D, [1, 4, 4, 1], 2, 'same');
    assert.deepEqual(Array.from(dx.dataSync()), new Array(16).fill(3));
    dx.dispose();
  });

  it('registers the kernels idempotently, without tfjs warnings', () => {
    const warn = console.warn;
    const warnings: unknown[] = [];
    console.warn = (...args: unknown[]) => void warnings.push(args);
    try {
      registerWasmTrainingKernels();
      registerWasmTrainingKernels();
    } finally {
      console.warn = warn;
    }
    assert.deepEqual(warnings, []);
  });

  it('rejects an unknown choice, listing the valid ones', async () => {
    await assert.rejects(selectBackend('gpu' as BackendChoice), {
      name: 'UserError',
      message: 'unknown backend "gpu": expected one of auto, native, wasm, cpu',
    });
  });

  describe('when the native backend cannot start', () => {
    const factory = tf.findBackendFactory('native');
    after(async () => {
      if (factory === null) return;
      tf.removeBackend('native');
      tf.registerBackend('native', factory, 0);
      assert.equal((await selectBackend('native')).name, 'native');
    });

    it("falls back to wasm under 'auto', saying why in one line", async () => {
      if (factory !== null) {
        tf.removeBackend('native');
        tf.registerBackend('native', () => {
          throw new Error('simulated failure');
        }, 0);
      }
      const warn = console.warn;
      console.warn = () => undefined; // tfjs reports the failed start itself
      try {
        const why = factory !== null ? 'the backend failed to initialise' : loadAddon().reason!;
        assert.deepEqual(await selectBackend('auto'), { name: 'wasm', reason: `wasm (native backend unavailable: ${why})` });
        assert.equal(tf.getBackend(), 'wasm');
      } finally {
        console.warn = warn;
      }
    });
  });

  describe('when neither native nor wasm can start', () => {
    const factory = tf.findBackendFactory('wasm');
    const nativeFactory = tf.findBackendFactory('native');
    after(async () => {
      tf.removeBackend('wasm');
      tf.registerBackend('wasm', factory, 2);
      assert.equal((await selectBackend('wasm')).name, 'wasm');
      if (nativeFactory !== null) {
        tf.removeBackend('native');
        tf.registerBackend('native', nativeFactory, 0);
      }
    });

    it("falls back to cpu under 'auto' and says why; 'wasm' is an error", async () => {
      tf.removeBackend('wasm');
      tf.registerBackend('wasm', () => {
        throw new Error('simulated failure');
      }, 2);
      if (nativeFactory !== null) {
        tf.removeBackend('native');
        tf.registerBackend('native', () => {
          throw new Error('simulated failure');
        }, 0);
      }
      const nativeWhy = nativeFactory !== null ? 'the backend failed to initialise' : loadAddon().reason!;
      const warn = console.warn;
      console.warn = () => undefined; // tfjs reports the failed start itself
      try {
        assert.deepEqual(await selectBackend('auto'), {
          name: 'cpu',
          reason:
            `cpu (native backend unavailable: ${nativeWhy}; ` +
            'wasm failed to initialise: the WebAssembly module did not load (see the warning above))',
        });
        assert.equal(tf.getBackend(), 'cpu');
        await assert.rejects(selectBackend('wasm'), {
          name: 'UserError',
          message:
            'backend "wasm" failed to initialise: the WebAssembly module did not load (see the warning above); use --backend cpu',
        });
      } finally {
        console.warn = warn;
      }
    });
  });
});
