/**
 * Picks the tfjs backend the page runs on: the first of WebGPU, WebGL, wasm
 * and cpu that initialises in this browser, or the one named by `?backend=`
 * in the page's address (e.g. `?backend=wasm`). Returns its name, which the
 * page shows. The wasm binaries are served next to the page (Vite copies them).
 *
 * WebGL drawn by a software renderer (SwiftShader, llvmpipe: what headless
 * Chromium and machines without a GPU get) is passed over for wasm: there a
 * reconstruction took 163 ms against wasm's 6.4 ms (bench/webBackends.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { registerWasmTrainingKernels } from 'vqvae';

export const WEB_BACKENDS = ['webgpu', 'webgl', 'wasm', 'cpu'] as const;
export type WebBackend = (typeof WEB_BACKENDS)[number];

setWasmPaths({
  'tfjs-backend-wasm.wasm': wasmPlain,
  'tfjs-backend-wasm-simd.wasm': wasmSimd,
  'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded,
});

/** The WebGL renderer's name when it is a software one, else undefined. */
function softwareWebGl(): string | undefined {
  const gl = document.createElement('canvas').getContext('webgl2') ?? document.createElement('canvas').getContext('webgl');
  if (!gl) return undefined;
  const info = gl.getExtension('WEBGL_debug_renderer_info');
  const renderer = String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
  return /swiftshader|llvmpipe|softpipe|software/i.test(renderer) ? renderer : undefined;
}

/** Tries each backend in order (or only `wanted`); returns the one that runs and why the others did not. */
export async function pickBackend(wanted?: string): Promise<{ name: WebBackend; skipped: string[] }> {
  tf.env().set('PROD', true);
  const order: readonly WebBackend[] =
    wanted && (WEB_BACKENDS as readonly string[]).includes(wanted) ? [wanted as WebBackend] : WEB_BACKENDS;
  const skipped: string[] = [];
  for (const name of order) {
    if (name === 'webgpu' && !('gpu' in navigator)) {
      skipped.push('webgpu (navigator.gpu missing)');
      continue;
    }
    const software = name === 'webgl' && !wanted ? softwareWebGl() : undefined;
    if (software) {
      skipped.push(`webgl (software renderer, slower than wasm: ${software})`);
      continue;
    }
    try {
      // The quantizer's metrics use UnsortedSegmentSum, which tfjs's wasm backend lacks; the library has it.
      if (name === 'wasm') registerWasmTrainingKernels();
      if (await tf.setBackend(name)) {
        await tf.ready();
        // One tiny op proves the backend really runs (WebGL can fail at first use).
        const probe = tf.tidy(() => tf.add(tf.scalar(1), tf.scalar(2)));
        const value = (await probe.data())[0];
        probe.dispose();
        if (value === 3) return { name, skipped };
      }
      skipped.push(`${name} (did not initialise)`);
    } catch (error) {
      skipped.push(`${name} (${(error as Error).message})`);
    }
  }
  throw new Error(`no TensorFlow.js backend runs in this browser; tried ${skipped.join(', ')}`);
}
