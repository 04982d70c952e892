import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';

import { Interrupted, interruptSignal, onInterrupt } from '../../src/cli/signals.js';
import { TextSink } from './fakeIO.js';

describe('onInterrupt', () => {
  it('calls the handler on the first signal and exits with 130 on the second', () => {
    const source = new EventEmitter();
    const handled: string[] = [];
    const exits: number[] = [];
    const dispose = onInterrupt((signal) => handled.push(signal), { source, exit: (code) => exits.push(code) });
    source.emit('SIGINT');
    assert.deepEqual(handled, ['SIGINT']);
    assert.deepEqual(exits, []);
    source.emit('SIGINT');
    assert.deepEqual(handled, ['SIGINT']);
    assert.deepEqual(exits, [130]);
    dispose();
    assert.equal(source.listenerCount('SIGINT'), 0);
    assert.equal(source.listenerCount('SIGTERM'), 0);
  });

  it('exits with 143 when the second signal is SIGTERM', () => {
    const source = new EventEmitter();
    const exits: number[] = [];
    const dispose = onInterrupt(() => {}, { source, exit: (code) => exits.push(code) });
    source.emit('SIGINT');
    source.emit('SIGTERM');
    assert.deepEqual(exits, [143]);
    dispose();
  });
});

describe('interruptSignal', () => {
  it('aborts with an Interrupted reason and writes the notice', () => {
    const source = new EventEmitter();
    const stderr = new TextSink();
    const { signal, dispose } = interruptSignal({ source, stderr, notice: 'stopping', exit: () => {} });
    assert.equal(signal.aborted, false);
    source.emit('SIGTERM');
    assert.equal(signal.aborted, true);
    assert.ok(signal.reason instanceof Interrupted);
    assert.equal(signal.reason.signal, 'SIGTERM');
    assert.equal(signal.reason.exitCode, 143);
    assert.equal(stderr.text, 'stopping\n');
    dispose();
    assert.equal(source.listenerCount('SIGTERM'), 0);
  });
});
