/**
 * Progress for long jobs (training steps, evaluation batches).
 *
 * On a terminal, a cli-progress bar redrawn in place:
 *
 *   step ████████░░░░░░░░░░░░ 120/1000 12% eta 3m12s | loss 0.0123 | ppl 312.4 | 250 img/s
 *
 * Elsewhere (a log file, a pipe, CI), one plain line at most every
 * `intervalSeconds`, and always for the last step:
 *
 *   step 120/1000 (12%) loss 0.0123 ppl 312.4 250 img/s eta 3m12s
 *   step 1000/1000 (100%) loss 0.0101 ppl 401.2 251 img/s in 4m00s
 *
 * `label` names the unit being counted (`step`, `batch`, `image`). The ETA
 * uses the rate since the first update, so set-up time before it and the
 * steps of a resumed run do not distort it. Always `stop()` (in a `finally`):
 * the bar's redraw timer keeps the process alive until then.
 */

import cliProgress from 'cli-progress';

import type { Writer } from './command.js';
import { formatDuration, formatFields, type ProgressFields } from './format.js';

export type { ProgressFields } from './format.js';

export interface ProgressOptions {
  /** The count at completion. */
  total: number;
  /** The unit counted: `step`, `batch`. */
  label: string;
  /** Draw a bar (terminal) or print log lines. */
  isTTY: boolean;
  /** Where to write; a bar needs a real TTY stream. */
  stream: Writer;
  /** Least time between two plain log lines (default 10 s). */
  intervalSeconds?: number;
  /** Clock in milliseconds (default `performance.now`); tests pass a fake one. */
  now?: () => number;
}

export interface Progress {
  /** `done` units are finished; `fields` are the latest metrics, shown in their order. */
  update(done: number, fields?: ProgressFields): void;
  /** Prints a line (no trailing newline needed) without breaking the bar. */
  log(line: string): void;
  /** Draws the final state and releases the terminal; later calls do nothing. */
  stop(): void;
}

export function createProgress(options: ProgressOptions): Progress {
  return options.isTTY ? new BarProgress(options) : new LineProgress(options);
}

/** Counts, rate and the text pieces shared by both displays. */
class ProgressState {
  done = 0;
  fields: ProgressFields = {};
  private first: { done: number; time: number } | undefined;

  constructor(
    readonly total: number,
    readonly label: string,
    private readonly now: () => number,
  ) {}

  set(done: number, fields: ProgressFields | undefined): void {
    this.done = done;
    if (fields !== undefined) this.fields = fields;
    this.first ??= { done, time: this.now() };
  }

  get finished(): boolean {
    return this.total > 0 && this.done >= this.total;
  }

  percent(): number {
    return this.total > 0 ? Math.min(100, Math.floor((100 * this.done) / this.total)) : 0;
  }

  /** `eta 3m12s` while running, `in 4m00s` once finished, '' before there is a rate. */
  timing(): string {
    if (this.first === undefined) return '';
    const seconds = (this.now() - this.first.time) / 1000;
    const progressed = this.done - this.first.done;
    if (this.finished) return seconds > 0 ? `in ${formatDuration(seconds)}` : '';
    if (progressed <= 0 || seconds <= 0) return '';
    return `eta ${formatDuration(((this.total - this.done) * seconds) / progressed)}`;
  }
}

function defaultClock(): number {
  return performance.now();
}

/** Plain lines for logs and pipes. */
class LineProgress implements Progress {
  private readonly state: ProgressState;
  private readonly intervalMs: number;
  private lastPrinted = -Infinity;
  private pending = false;
  private stopped = false;

  constructor(private readonly options: ProgressOptions) {
    this.state = new ProgressState(options.total, options.label, options.now ?? defaultClock);
    this.intervalMs = (options.intervalSeconds ?? 10) * 1000;
  }

  update(done: number, fields?: ProgressFields): void {
    if (this.stopped) return;
    this.state.set(done, fields);
    const now = (this.options.now ?? defaultClock)();
    if (this.state.finished || now - this.lastPrinted >= this.intervalMs) {
      this.print();
      this.lastPrinted = now;
    } else {
      this.pending = true;
    }
  }

  log(line: string): void {
    this.options.stream.write(`${line}\n`);
  }

  stop(): void {
    if (this.stopped) return;
    if (this.pending) this.print();
    this.stopped = true;
  }

  private print(): void {
    const { state } = this;
    const parts = [`${state.label} ${state.done}/${state.total} (${state.percent()}%)`, ...formatFields(state.fields)];
    const timing = state.timing();
    if (timing) parts.push(timing);
    this.options.stream.write(`${parts.join(' ')}\n`);
    this.pending = false;
  }
}

/** A bar redrawn in place on a terminal. */
class BarProgress implements Progress {
  private readonly state: ProgressState;
  private readonly bars: cliProgress.MultiBar;
  private readonly bar: cliProgress.SingleBar;
  private readonly stream: Writer;
  private stopped = false;

  constructor(options: ProgressOptions) {
    this.stream = options.stream;
    const state = new ProgressState(options.total, options.label, options.now ?? defaultClock);
    this.state = state;
    this.bars = new cliProgress.MultiBar({
      stream: options.stream as NodeJS.WritableStream,
      fps: 5,
      barsize: 20,
      barCompleteChar: '\u2588',
      barIncompleteChar: '\u2591',
      // Trim to the terminal width instead of wrapping, which would break redrawing in place.
      linewrap: true,
      hideCursor: false,
      // Ctrl-C belongs to the command (see signals.ts); cli-progress would otherwise swallow the first one.
      gracefulExit: false,
      format: (barOptions, params) => {
        const parts = [
          state.label,
          cliProgress.Format.BarFormat(params.progress, barOptions),
          `${state.done}/${state.total}`,
          `${state.percent()}%`,
        ];
        const timing = state.timing();
        if (timing) parts.push(timing);
        return [parts.join(' '), ...formatFields(state.fields)].join(' | ');
      },
    });
    this.bar = this.bars.create(Math.max(options.total, 0), 0);
  }

  update(done: number, fields?: ProgressFields): void {
    if (this.stopped) return;
    this.state.set(done, fields);
    this.bar.update(done);
  }

  log(line: string): void {
    if (this.stopped) {
      this.stream.write(`${line}\n`); // the bar is gone: plain output is safe
      return;
    }
    this.bars.log(`${line}\n`);
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.bars.update(); // flush lines given to log() since the last redraw
    this.bars.stop();
  }
}
