/**
 * The child process of signals.test.ts: multiplies seeded matrices on the
 * addon (dnnl_sgemm) in a loop while its parent sends it SIGUSR2 (handled
 * here, so each one runs a JavaScript handler), allocating between calls so
 * a damaged heap is noticed. Prints one JSON line: iterations, signals
 * handled, how many products differed from the first one, and the first
 * product's largest error against a float64 loop.
 */
import { registerNativeBackend } from '../../src/backend/index.js';
import { seededValues } from '../backend/helpers.js';

const seconds = Number(process.argv[2] ?? '2');
const addon = registerNativeBackend().addon;
if (addon === undefined) throw new Error('native addon unavailable');
let handled = 0;
process.on('SIGUSR2', () => {
  handled++;
});

const n = 192;
const a = seededValues(n * n, 1);
const b = seededValues(n * n, 2);
const first = new Float32Array(n * n);
addon.batchMatMul(a, b, first, 1, 1, n, n, n, false, false);
let worst = 0;
let scale = 0;
for (let i = 0; i < n; i++) {
  for (let j = 0; j < n; j++) {
    let sum = 0;
    for (let k = 0; k < n; k++) sum += a[i * n + k]! * b[k * n + j]!;
    worst = Math.max(worst, Math.abs(sum - first[i * n + j]!));
    scale = Math.max(scale, Math.abs(sum));
  }
}

process.send?.('ready');
const c = new Float32Array(n * n);
let iterations = 0;
let differing = 0;
const end = Date.now() + seconds * 1000;
while (Date.now() < end) {
  addon.batchMatMul(a, b, c, 1, 1, n, n, n, false, false);
  for (let i = 0; i < c.length; i++) {
    if (c[i] !== first[i]) {
      differing++;
      break;
    }
  }
  const garbage: Float32Array[] = [];
  for (let i = 0; i < 32; i++) garbage.push(new Float32Array(500 + 37 * i).fill(i));
  iterations++;
  // Let the event loop run the handlers of the signals that came meanwhile.
  await new Promise((resolve) => setImmediate(resolve));
}
// Stop the parent's signals before exiting: a signal that arrives while node
// tears down its handlers would end the process with it.
process.send?.({ iterations, handled, differing, relativeError: worst / scale });
process.on('message', () => process.exit(0));
