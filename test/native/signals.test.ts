/**
 * Signals during the addon's matrix products leave the heap and the results
 * intact. oneDNN 2.6's JIT sgemm kernels move the stack pointer into a heap
 * buffer while they run, so before every addon call blocked the asynchronous
 * signals (native/src/common.h SignalShield) a signal landing in one wrote its
 * frame over the heap: a child multiplying matrices while it was sent SIGUSR2
 * every millisecond aborted within about a thousand signals ("corrupted size
 * vs. prev_size"), and so did `node --cpu-prof` of a training (SIGPROF).
 * Here the child (signalChild.ts) runs for 2.5 s under tens of thousands of
 * signals and must end normally, every product equal to the first and that
 * one equal to a float64 loop.
 */
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';

import { nativeOrFail } from './helpers.js';

interface ChildReport {
  iterations: number;
  handled: number;
  differing: number;
  relativeError: number;
}

if (nativeOrFail() !== undefined) {
  it('matrix products survive a storm of signals, heap and results intact', async () => {
    const child = fork(join(fileURLToPath(new URL('.', import.meta.url)), 'signalChild.js'), ['2.5'], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    let sent = 0;
    let timer: NodeJS.Timeout | undefined;
    let report: ChildReport | undefined;
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.on('exit', (code, signal) => {
        clearInterval(timer);
        resolve({ code, signal });
      });
    });
    child.on('message', (message) => {
      if (message === 'ready') {
        timer = setInterval(() => {
          for (let i = 0; i < 20; i++) {
            if (child.kill('SIGUSR2')) sent++;
          }
        }, 1);
      } else {
        clearInterval(timer);
        report = message as ChildReport;
        setTimeout(() => child.send('exit'), 50);
      }
    });
    const { code, signal } = await exit;
    assert.equal(signal, null, `the child was killed by ${signal}: ${stderr.trim()}`);
    assert.equal(code, 0, `the child failed: ${stderr.trim()}`);
    assert.ok(report, 'the child reported');
    assert.ok(sent > 1000, `only ${sent} signals were sent`);
    assert.ok(report.handled > 100, `the child handled ${report.handled} signals`);
    assert.ok(report.iterations > 10, `${report.iterations} products`);
    assert.equal(report.differing, 0, `${report.differing} of ${report.iterations} products differed from the first`);
    assert.ok(report.relativeError < 1e-5, `the product is off a float64 loop by ${report.relativeError} of its largest value`);
  });
}
