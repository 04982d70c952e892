import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { createProgress } from '../../src/cli/progress.js';
import { TextSink } from './fakeIO.js';

/** A clock the test moves by hand, in seconds. */
function fakeClock() {
  let ms = 0;
  return {
    now: () => ms,
    at(seconds: number) {
      ms = seconds * 1000;
    },
  };
}

describe('createProgress without a terminal', () => {
  it('prints a plain line at most every 10 s, and always the last step', () => {
    const clock = fakeClock();
    const stream = new TextSink();
    const progress = createProgress({ total: 1000, label: 'step', isTTY: false, stream, now: clock.now });
    const fields = { loss: 0.012345, ppl: 312.44, 'img/s': 250 };

    progress.update(0, fields); // the first update prints, with no rate yet
    clock.at(5);
    progress.update(50, fields); // too soon
    clock.at(20);
    progress.update(100, fields); // 100 steps in 20 s: 900 more take 180 s
    clock.at(21);
    progress.update(105, fields); // too soon
    clock.at(22);
    progress.update(1000, { loss: 0.0101, ppl: 401.2, 'img/s': 251 }); // the last step always prints
    progress.stop();

    assert.deepEqual(stream.lines, [
      'step 0/1000 (0%) loss 0.01235 ppl 312.4 250 img/s',
      'step 100/1000 (10%) loss 0.01235 ppl 312.4 250 img/s eta 3m00s',
      'step 1000/1000 (100%) loss 0.0101 ppl 401.2 251 img/s in 22s',
    ]);
  });

  it('takes the interval from intervalSeconds and the rate from the first update', () => {
    const clock = fakeClock();
    const stream = new TextSink();
    const progress = createProgress({ total: 100, label: 'batch', isTTY: false, stream, now: clock.now, intervalSeconds: 1 });
    clock.at(30); // set-up time before the first update does not count
    progress.update(10);
    clock.at(31);
    progress.update(20, { mse: 0.5 });
    clock.at(31.5);
    progress.update(25);
    assert.deepEqual(stream.lines, ['batch 10/100 (10%)', 'batch 20/100 (20%) mse 0.5 eta 8s']);
  });

  it('prints the pending state on stop, once, and ignores later updates', () => {
    const clock = fakeClock();
    const stream = new TextSink();
    const progress = createProgress({ total: 10, label: 'step', isTTY: false, stream, now: clock.now });
    progress.update(1);
    clock.at(1);
    progress.update(2, { loss: 1.5 });
    progress.stop();
    progress.stop();
    progress.update(3);
    assert.deepEqual(stream.lines, ['step 1/10 (10%)', 'step 2/10 (20%) loss 1.5 eta 8s']);
  });

  it('logs lines as they come', () => {
    const stream = new TextSink();
    const progress = createProgress({ total: 10, label: 'step', isTTY: false, stream, now: () => 0 });
    progress.log('saved checkpoint runs/a');
    progress.stop();
    assert.equal(stream.text, 'saved checkpoint runs/a\n');
  });
});

/** Enough of a tty.WriteStream for cli-progress and readline's cursor functions. */
class FakeTerminal extends TextSink {
  readonly isTTY = true;
  readonly columns = 120;
}

describe('createProgress on a terminal', () => {
  it('draws a bar with counts, percentage and fields, logs above it, and ends with a newline', async () => {
    const stream = new FakeTerminal();
    const progress = createProgress({ total: 10, label: 'step', isTTY: true, stream });
    progress.update(5, { loss: 0.5, 'img/s': 1234.5 });
    progress.log('saved checkpoint');
    await new Promise((resolve) => setTimeout(resolve, 250)); // a redraw or two
    progress.update(10, { loss: 0.25, 'img/s': 1200 });
    progress.stop();
    const text = stream.text;
    assert.match(text, /saved checkpoint\n/);
    assert.match(text, /step [\u2588\u2591]{20} 5\/10 50% \| loss 0\.5 \| 1235 img\/s/);
    assert.match(text, /step \u2588{20} 10\/10 100% in \d+s \| loss 0\.25 \| 1200 img\/s/);
    assert.ok(text.endsWith('\n'));
    // The test process exits only if stop() released cli-progress's redraw timer.
  });
});
